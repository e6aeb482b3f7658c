"""Human numbers (KH2026-000123) from a counter row locked for the length of the transaction.

Numbers are unique and in the order they were taken. A caller on the hot path may take its
number before its write transaction (`numbers_outside_transaction`): the counter is then locked
for one statement instead of the whole write, and a write that fails afterwards leaves a gap.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import F

from kefu.core.models import Sequence
from kefu.core.postgresql import prepare_always


def next_value(key: str) -> int:
    if _has_returning():
        # One statement instead of a savepoint and three: every ticket takes a number, so intake
        # throughput feels each round trip. The UPDATE takes the row lock (PostgreSQL) or the write
        # lock (SQLite) and returns the new value, so two callers never see the same one.
        quote = connection.ops.quote_name
        table, key_column, value = quote(Sequence._meta.db_table), quote("key"), quote("value")
        increment = prepare_always(
            f"UPDATE {table} SET {value} = {value} + 1 WHERE {key_column} = %s RETURNING {value}"
        )
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


def numbers_outside_transaction() -> bool:
    """Whether taking a number in a statement of its own lets writers run side by side.

    On PostgreSQL writers run concurrently, except where they lock the same row: a counter row
    locked until the commit queues every writer behind it. SQLite admits one writer at a time for
    the whole transaction anyway (kefu.core.sqlite), so a separate statement would only add a
    second write transaction.
    """
    return connection.vendor == "postgresql"
