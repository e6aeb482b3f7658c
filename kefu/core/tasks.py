"""Housekeeping jobs of the whole product."""

from __future__ import annotations

from django.db import connection
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


def database_refresh_statistics() -> str:
    """Give SQLite's query planner fresh statistics (PostgreSQL's autovacuum does this itself).

    Without them SQLite guesses, and at a million customers picks plans that are ten times slower
    (see bench/README.md).
    """
    if connection.vendor != "sqlite":
        return "skipped"
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return "analyzed"


@db_periodic_task(crontab(hour="3", minute="30"))
def refresh_statistics_nightly() -> str:
    return database_refresh_statistics()
