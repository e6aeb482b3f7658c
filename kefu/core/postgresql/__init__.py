"""Which statements PostgreSQL prepares (see base.py); importable without psycopg, so the
code that builds statements can mark them whatever the database."""

from __future__ import annotations

# Statements built in code for lookups by a unique key (core.rows, core.numbering).
_by_unique_key: set[str] = set()


def prepare_always(sql: str) -> str:
    """Mark a statement whose plan does not depend on its values (a lookup by a unique key)."""
    _by_unique_key.add(sql)
    return sql


def worth_preparing(sql: str) -> bool:
    if sql in _by_unique_key:
        return True
    # A one-row INSERT … VALUES has one plan whatever it writes; a bulk insert (several rows) is
    # left alone, its text differs with every batch size.
    return sql.startswith("INSERT INTO ") and "), (" not in sql and "SELECT" not in sql
