"""The database connection as the settings make it."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_postgresql_prepares_a_statement_run_again_and_again():
    options = connection.settings_dict["OPTIONS"]
    if connection.vendor != "postgresql":
        assert "prepare_threshold" not in options and options["transaction_mode"] == "IMMEDIATE"
        return
    assert options["server_side_binding"] is True
    with connection.cursor() as cursor:
        for value in range(7):
            cursor.execute("SELECT %s::integer + 40 AS kefu_prepared_probe", [value])
            assert cursor.fetchone() == (value + 40,)
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%kefu_prepared_probe%"],
        )
        assert cursor.fetchone() == (1,)
