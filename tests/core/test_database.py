"""The database connection as the settings make it."""

from __future__ import annotations

import pytest
from django.db import connection

from kefu.core.models import OperationLog
from kefu.core.rows import insert_row, one_row

pytestmark = pytest.mark.django_db


def _prepared(fragment: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%{fragment}%"]
        )
        return cursor.fetchone()[0]


def test_postgresql_prepares_only_the_statements_whose_plan_never_changes(users):
    options = connection.settings_dict["OPTIONS"]
    if connection.vendor != "postgresql":
        assert "server_side_binding" not in options and options["transaction_mode"] == "IMMEDIATE"
        return
    assert options["server_side_binding"] is True
    for _ in range(7):
        insert_row(OperationLog, {"action": "probe:prepared"})
        assert (
            one_row(OperationLog, by="id", value=10**12, fields=("action",), extra={"probe_one": "1"}) is None
        )
        list(OperationLog.objects.filter(action="probe:custom_plan").values_list("id", flat=True))
    assert _prepared('INSERT INTO "core_operationlog"') == 1
    assert _prepared('AS "probe_one"') == 1
    # An ORM query is planned with its values every time, however often it runs.
    assert _prepared('WHERE "core_operationlog"."action" =') == 0
