"""Masking of phone and ID numbers (数据脱敏), one helper for pages, API and exports alike."""

from __future__ import annotations

from typing import Any

SENSITIVE_PERMISSION = "customers.view_sensitive"


def can_view_sensitive(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(SENSITIVE_PERMISSION))


def mask_phone(value: str | None) -> str:
    """138****1234: keep the first three and the last four digits of a number."""
    if not value:
        return ""
    text = str(value)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(text)
    keep = set(digits[:3]) | set(digits[-4:])
    return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(text))


def mask_id_number(value: str | None) -> str:
    """110101********1234: keep the region code and the last four characters."""
    if not value:
        return ""
    text = str(value)
    if len(text) <= 8:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_email(value: str | None) -> str:
    if not value:
        return ""
    name, _, domain = str(value).partition("@")
    if not domain:
        return mask_phone(value)
    return (name[:1] + "***@" + domain) if name else "***@" + domain


MASKERS = {"phone": mask_phone, "id_number": mask_id_number, "email": mask_email}


def masked(value: str | None, kind: str, *, reveal: bool) -> str:
    if reveal:
        return value or ""
    return MASKERS[kind](value)
