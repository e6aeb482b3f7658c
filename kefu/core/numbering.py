"""Human numbers (KH2026-000123) from a counter row locked for the length of the transaction."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import F

from kefu.core.models import Sequence


def next_value(key: str) -> int:
    if _has_returning():
        # One statement instead of a savepoint and three: every ticket takes a number, so intake
        # throughput feels each round trip. The UPDATE takes the row lock (PostgreSQL) or the write
        # lock (SQLite) and returns the new value, so two callers never see the same one.
        quote = connection.ops.quote_name
        table, key_column, value = quote(Sequence._meta.db_table), quote("key"), quote("value")
        increment = f"UPDATE {table} SET {value} = {value} + 1 WHERE {key_column} = %s RETURNING {value}"
        with connection.cursor() as cursor:
            cursor.execute(increment, [key])
            row = cursor.fetchone()
            if row is None:
                cursor.execute(
                    f"INSERT INTO {table} ({key_column}, {value}) VALUES (%s, 0) ON CONFLICT ({key_column}) DO NOTHING",
                    [key],
                )
                cursor.execute(increment, [key])
                row = cursor.fetchone()
        return int(row[0])
    with transaction.atomic():
        Sequence.objects.get_or_create(key=key)
        # UPDATE ... SET value = value + 1 takes the row lock on PostgreSQL and the write lock on
        # SQLite, so two concurrent callers can never read the same value.
        Sequence.objects.filter(key=key).update(value=F("value") + 1)
        return Sequence.objects.values_list("value", flat=True).get(key=key)


def _has_returning() -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 35)


def next_number(prefix: str, *, width: int = 6, year: int | None = None) -> str:
    key = f"{prefix}{year}" if year else prefix
    value = next_value(key)
    return f"{prefix}{year}-{value:0{width}d}" if year else f"{prefix}{value:0{width}d}"
