"""The operation log and the sensitive-data access log: what is recorded, who sees what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import BytesIO
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kefu.accounts.models import User
from kefu.core.models import OperationLog, SensitiveAccess
from kefu.core.selectors import OperationLogFilters, operation_log_list


def _log(user: User | None, action: str, **extra: Any) -> OperationLog:
    return OperationLog.objects.create(
        actor=user, username=user.username if user else extra.pop("username", ""), action=action, **extra
    )


def test_a_post_is_recorded_with_user_ip_and_result(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client_as(users["manager"]).post(
        reverse("accounts:grade_create"),
        {"name": "P1", "level": 1, "base_salary": "3000", "allowance": "0"},
        REMOTE_ADDR="10.1.2.3",
    )
    entry = OperationLog.objects.get(action="accounts:grade_create")
    assert (entry.actor, entry.ip, entry.result, entry.status_code) == (
        users["manager"],
        "10.1.2.3",
        "ok",
        302,
    )


def test_a_refused_post_is_recorded_as_denied(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client_as(users["agent"]).post(reverse("accounts:grade_create"), {"name": "P1"})
    entry = OperationLog.objects.get(action="accounts:grade_create")
    assert (entry.actor, entry.result, entry.status_code) == (users["agent"], "denied", 403)


def test_a_failed_sign_in_is_recorded_with_the_name_tried(users: dict[str, User]) -> None:
    Client().post(reverse("login"), {"username": "agent", "password": "wrong"}, REMOTE_ADDR="10.9.9.9")
    entry = OperationLog.objects.get(action="login")
    assert (entry.username, entry.actor, entry.ip, entry.result) == ("agent", None, "10.9.9.9", "denied")


def test_manager_searches_the_log_by_user_result_and_ip(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    _log(users["agent"], "customers:create", ip="10.0.0.1")
    _log(users["agent"], "customers:edit", ip="10.0.0.2", result="invalid")
    _log(users["technician"], "customers:create", ip="10.0.0.1")
    client = client_as(users["manager"])
    by_user = client.get(reverse("core:operation_log"), {"user": "agent", "result": "invalid"})
    assert [e.action for e in by_user.context["page_obj"].object_list] == ["customers:edit"]
    by_ip = client.get(reverse("core:operation_log"), {"ip": "10.0.0.1"})
    assert {e.username for e in by_ip.context["page_obj"].object_list} == {"agent", "technician"}
    by_prefix = client.get(reverse("core:operation_log"), {"ip": "10.0.0."})
    assert len(by_prefix.context["page_obj"].object_list) == 3


def test_log_filters_by_local_calendar_days(users: dict[str, User]) -> None:
    shanghai_midnight = timezone.make_aware(dt.datetime(2026, 3, 2, 0, 30))
    _log(users["agent"], "early", at=shanghai_midnight)
    _log(users["agent"], "day before", at=shanghai_midnight - dt.timedelta(hours=1))
    found = operation_log_list(
        actor=users["manager"],
        filters=OperationLogFilters(date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 2)),
    )
    assert [entry.action for entry in found] == ["early"]


def test_supervisor_sees_only_the_log_of_staff_in_their_data_scope(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    _log(users["agent"], "agent did")  # 客服中心, the supervisor's department
    _log(users["technician"], "technician did")  # 技术部, outside it
    _log(None, "login", username="ghost", result="denied")
    page = client_as(users["supervisor"]).get(reverse("core:operation_log"))
    # Signing the test client in wrote the supervisor's own "login" line: their own lines are theirs to see.
    seen = {(e.username, e.action) for e in page.context["page_obj"].object_list}
    assert seen == {("agent", "agent did"), ("supervisor", "login")}


def test_whole_log_right_sees_anonymous_lines_too(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    _log(users["technician"], "technician did")
    _log(None, "login", username="ghost", result="denied")
    page = client_as(users["manager"]).get(reverse("core:operation_log"))
    assert {e.action for e in page.context["page_obj"].object_list} >= {"technician did", "login"}


def test_operation_log_exports_what_the_filters_show(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    _log(users["agent"], "customers:create")
    _log(users["technician"], "customers:edit")
    response = client_as(users["manager"]).get(
        reverse("core:operation_log"), {"user": "techn", "export": "xlsx"}
    )
    rows = list(
        load_workbook(BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert [row[3] for row in rows[1:]] == ["customers:edit"]


def test_operation_log_query_count_does_not_grow_with_rows(
    users: dict[str, User], client_as: Callable[[User], Client], django_assert_max_num_queries: Any
) -> None:
    client = client_as(users["manager"])
    client.get(reverse("core:operation_log"))
    for number in range(40):
        _log(users["agent"] if number % 2 else users["technician"], f"action {number}")
    with django_assert_max_num_queries(15):
        response = client.get(reverse("core:operation_log"), {"action": "action"})
    assert len(response.context["page_obj"].object_list) == 40


def test_operation_log_api_filters_and_keeps_to_the_scope(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    _log(users["agent"], "agent did", result="invalid")
    _log(users["technician"], "technician did", result="invalid")
    body = api_as(users["supervisor"]).get("/api/v1/operation-log", {"result": "invalid"}).json()
    assert [item["action"] for item in body["items"]] == ["agent did"]
    assert (
        api_as(users["supervisor"]).get("/api/v1/operation-log", {"date_from": "tomorrow"}).status_code == 400
    )


def test_sensitive_access_page_filters_by_viewer_and_record_type(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    SensitiveAccess.objects.create(
        actor=users["archive_specialist"], object_type="customer", object_id=1, fields="phone", channel="page"
    )
    SensitiveAccess.objects.create(
        actor=users["manager"], object_type="contact", object_id=2, fields="mobile", channel="api"
    )
    client = client_as(users["manager"])
    page = client.get(reverse("core:sensitive_access"), {"viewer": "archive"})
    assert [e.object_type for e in page.context["page_obj"].object_list] == ["customer"]
    by_type = client.get(reverse("core:sensitive_access"), {"object_type": "contact"})
    assert [e.actor for e in by_type.context["page_obj"].object_list] == [users["manager"]]
    assert set(page.context["record_types"]) == {"customer", "contact"}


def test_sensitive_access_exports_to_excel(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    SensitiveAccess.objects.create(
        actor=users["manager"], object_type="customer", fields="phone", channel="export", count=120
    )
    response = client_as(users["manager"]).get(reverse("core:sensitive_access"), {"export": "xlsx"})
    rows = list(
        load_workbook(BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True)
    )
    assert rows[1][1] == "manager" and rows[1][8] == 120


def test_sensitive_access_api_lists_for_managers_only(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    SensitiveAccess.objects.create(
        actor=users["manager"], object_type="customer", fields="phone", channel="page"
    )
    assert api_as(users["manager"]).get("/api/v1/sensitive-access").json()["items"][0]["viewer"] == "manager"
    assert api_as(users["leader"]).get("/api/v1/sensitive-access").status_code == 403


def test_log_filters_at_the_ends_of_the_calendar_do_not_fail(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    _log(users["agent"], "today")
    api = api_as(users["manager"])
    for query in (
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"ip": "fe80::1%eth0"},
        {"user": "a\x00b"},
        {"offset": 10**22},
    ):
        response = api.get("/api/v1/operation-log", query)
        assert response.status_code in (200, 400), query
    everything = api.get("/api/v1/operation-log", {"date_from": "0001-01-01", "date_to": "9999-12-31"}).json()
    assert "today" in {item["action"] for item in everything["items"]}


def test_lists_stop_counting_past_the_cap_and_say_so(users, client_as, settings):
    from tests.factories import make_customer

    settings.LIST_COUNT_CAP = 3
    for _ in range(5):
        make_customer(actor=users["manager"])
    page = client_as(users["manager"]).get("/customers/")
    body = page.content.decode()
    assert page.context["page_obj"].paginator.capped is True
    assert page.context["page_obj"].paginator.count == 3
    assert 'data-testid="list-total"' in body and "3" in body


def test_statistics_job_analyzes_sqlite_and_leaves_postgresql_to_autovacuum(db):
    from django.db import connection

    from kefu.core.tasks import database_refresh_statistics

    assert database_refresh_statistics() == ("analyzed" if connection.vendor == "sqlite" else "skipped")
