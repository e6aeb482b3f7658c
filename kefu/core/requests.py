from __future__ import annotations

from typing import Any


def client_ip(request: Any) -> str | None:
    """The caller's address; behind a proxy set KEFU_TRUST_X_FORWARDED_FOR=1 to use its header."""
    from django.conf import settings

    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None
