"""Human numbers (KH2026-000123) from a counter row locked for the length of the transaction."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from kefu.core.models import Sequence


def next_value(key: str) -> int:
    with transaction.atomic():
        Sequence.objects.get_or_create(key=key)
        # UPDATE ... SET value = value + 1 takes the row lock on PostgreSQL and the write lock on
        # SQLite, so two concurrent callers can never read the same value.
        Sequence.objects.filter(key=key).update(value=F("value") + 1)
        return Sequence.objects.values_list("value", flat=True).get(key=key)


def next_number(prefix: str, *, width: int = 6, year: int | None = None) -> str:
    key = f"{prefix}{year}" if year else prefix
    value = next_value(key)
    return f"{prefix}{year}-{value:0{width}d}" if year else f"{prefix}{value:0{width}d}"
