"""A declared write request's operation-log row rides in its own transaction, once, and is right."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from kefu.core.models import OperationLog, Sequence
from kefu.core.oplog import (
    operation_begin,
    operation_commits_as,
    operation_end,
    operation_record,
)

pytestmark = pytest.mark.django_db(transaction=True)

TICKETS = "/api/v1/tickets"


def _post(user: Any) -> Any:
    request = RequestFactory().post("/api/v1/probe", REMOTE_ADDR="10.0.0.9")
    request.user = user
    return request


def test_ticket_intake_writes_its_row_inside_the_ticket_transaction(users, api_as):
    client = api_as(users["agent"])
    body = {"kind": "inquiry", "channel": "hotline", "subject": "发票何时寄出"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(TICKETS, json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    statements = [query["sql"] for query in queries.captured_queries]
    log_inserts = [n for n, sql in enumerate(statements) if "core_operationlog" in sql]
    commits = [n for n, sql in enumerate(statements) if sql == "COMMIT"]
    ticket_insert = next(n for n, sql in enumerate(statements) if 'INSERT INTO "tickets_ticket"' in sql)
    # One row, written after the ticket and before the COMMIT that carries both; nothing after it.
    assert len(log_inserts) == 1
    assert ticket_insert < log_inserts[0] < commits[-1]
    assert not any("core_operationlog" in sql for sql in statements[commits[-1] :])
    row = OperationLog.objects.get()
    assert (row.actor, row.method, row.status_code, row.result) == (
        users["agent"],
        "POST",
        201,
        OperationLog.Result.OK,
    )
    assert row.path == TICKETS
    # Named after the operation that answered, not after the first one on the same path.
    assert row.action == "api:create_ticket"


def test_every_method_of_one_api_path_is_logged_under_its_own_operation(users, api_as):
    client = api_as(users["manager"])
    created = client.post(
        "/api/v1/customers",
        json.dumps({"kind": "company", "name": "南京恒达化工有限公司"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    customer_id = created.json()["id"]
    changed = client.patch(
        f"/api/v1/customers/{customer_id}",
        json.dumps({"remarks": "改为月结"}),
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    actions = list(OperationLog.objects.order_by("id").values_list("method", "action"))
    assert actions == [("POST", "api:create_customer"), ("PATCH", "api:update_customer")]


def test_a_refused_intake_writes_one_row_with_its_own_status(users, api_as):
    client = api_as(users["agent"])
    response = client.post(TICKETS, json.dumps({"kind": "inquiry"}), content_type="application/json")
    assert response.status_code in (400, 422)
    row = OperationLog.objects.get()
    assert (row.status_code, row.result) == (response.status_code, OperationLog.Result.INVALID)
    assert row.action == "api:create_ticket"


def test_a_request_that_answers_otherwise_after_the_commit_corrects_its_row(users):
    request = _post(users["agent"])
    token = operation_begin(request)
    try:
        operation_commits_as(request, 201)
        with transaction.atomic():
            Sequence.objects.create(key="probe")
        assert OperationLog.objects.get().status_code == 201  # committed with the write
        request.kefu_oplog_target = "GD2026-000001"
        operation_record(request, 500)
    finally:
        operation_end(token)
    row = OperationLog.objects.get()
    assert (row.status_code, row.result, row.target) == (500, OperationLog.Result.ERROR, "GD2026-000001")


def test_a_rolled_back_transaction_takes_its_row_along_and_the_response_writes_it(users):
    request = _post(users["agent"])
    token = operation_begin(request)
    try:
        operation_commits_as(request, 201)
        with pytest.raises(RuntimeError), transaction.atomic():
            Sequence.objects.create(key="probe")
            raise RuntimeError("refused")
        assert not OperationLog.objects.exists()
        operation_record(request, 400)
    finally:
        operation_end(token)
    assert not Sequence.objects.filter(key="probe").exists()
    row = OperationLog.objects.get()
    assert (row.status_code, row.result, row.ip) == (400, OperationLog.Result.INVALID, "10.0.0.9")


def test_one_row_however_many_transactions_commit(users):
    request = _post(users["agent"])
    token = operation_begin(request)
    try:
        operation_commits_as(request, 200)
        for key in ("one", "two"):
            with transaction.atomic():
                Sequence.objects.create(key=key)
        operation_record(request, 200)
    finally:
        operation_end(token)
    assert OperationLog.objects.count() == 1


def test_an_undeclared_request_is_logged_after_the_response_only(users):
    request = _post(users["agent"])
    token = operation_begin(request)
    try:
        with transaction.atomic():
            Sequence.objects.create(key="probe")
        assert not OperationLog.objects.exists()
        operation_record(request, 302)
    finally:
        operation_end(token)
    assert OperationLog.objects.get().status_code == 302
    # Outside a request nothing is pending: a commit writes no row.
    with transaction.atomic():
        Sequence.objects.create(key="later")
    assert OperationLog.objects.count() == 1
