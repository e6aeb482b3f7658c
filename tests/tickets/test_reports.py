"""Weekly and monthly complaint reports and the monthly cause analysis: numbers on known data,
pages and API per role, the analysis' approval flow and its stale-form conflict."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.tickets import report_services, reports, services
from kefu.tickets.models import CauseAnalysisState, ComplaintCategory, ComplaintCauseAnalysis, Ticket
from kefu.tickets.report_api import router
from tests.api_endpoints import ApiEndpoint
from tests.customers.conftest import count_queries, message_levels, xlsx_rows
from tests.tickets.test_sla import Clock, at

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}
REPORT = "tickets.view_complaint_report"
NOVEMBER = reports.month_period(dt.date(2026, 11, 1))


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def close_complaint(
    ticket: Ticket, users: dict[str, User], *, cause: str, category: ComplaintCategory
) -> Ticket:
    """Walk a complaint through its steps (cause at step 3, category at step 7) and close it."""
    agent, supervisor = users["agent"], users["supervisor"]
    services.complaint_step_complete(actor=agent, ticket=ticket, step=2, note="已核实")
    services.complaint_step_complete(actor=agent, ticket=ticket, step=3, note=cause)
    services.complaint_request_approval(actor=agent, ticket=ticket, proposal="道歉并补偿运费")
    services.complaint_decide(actor=supervisor, ticket=ticket, approve=True, note="同意")
    services.complaint_step_complete(actor=agent, ticket=ticket, step=5, note="已补偿")
    services.complaint_step_complete(actor=agent, ticket=ticket, step=6, note="客户满意")
    services.complaint_step_complete(actor=agent, ticket=ticket, step=7, note="归类", category=category)
    return services.ticket_transition(actor=agent, ticket=ticket, action="close")


@pytest.fixture
def november(clock: Clock, users: dict[str, User], open_ticket: Callable[..., Ticket]) -> dict[str, Any]:
    """Four complaints around November 2026 and one inquiry, at known working times.

    Working hours 9–12 and 13–18. C4 opened in October and closed in November; C3 stays open
    and passes its one-hour first-response limit.
    """
    delivery = ComplaintCategory.objects.get_or_create(name="物流配送")[0]
    attitude = ComplaintCategory.objects.get_or_create(name="服务态度")[0]

    def complaint(opened: dt.datetime, **fields: Any) -> Ticket:
        clock.set(opened)
        return open_ticket(kind="complaint", **fields)

    c4 = complaint(at(2026, 10, 30, 17, 0), subject="十月投诉", channel="phone")
    c1 = complaint(at(2026, 11, 2, 9, 0), subject="送货晚了", channel="hotline")
    clock.set(at(2026, 11, 2, 9, 30))
    close_complaint(c4, users, cause="态度差", category=attitude)  # 17–18, 9–9:30: 90 min
    clock.set(at(2026, 11, 2, 13, 0))
    close_complaint(c1, users, cause="送货延误", category=delivery)  # 9–12: 180 min
    c2 = complaint(at(2026, 11, 3, 9, 0), subject="又晚了", channel="complaint_hotline", severity="serious")
    clock.set(at(2026, 11, 4, 10, 0))
    close_complaint(c2, users, cause="送货延误", category=delivery)  # 8 h + 1 h: 540 min
    c3 = complaint(at(2026, 11, 5, 10, 0), subject="客服态度", channel="wechat")
    services.complaint_step_complete(actor=users["agent"], ticket=c3, step=2, note="核实")
    services.complaint_step_complete(actor=users["agent"], ticket=c3, step=3, note="态度差")
    clock.set(at(2026, 11, 5, 12, 0))
    open_ticket(kind="inquiry", subject="咨询")
    services.tickets_check_sla(now=at(2026, 11, 5, 12, 0))
    clock.set(at(2026, 11, 23, 10, 0))
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "delivery": delivery, "attitude": attitude}


# --- the numbers ----------------------------------------------------------------------------------


def test_month_report_counts_and_classifies_the_known_complaints(users: Any, november: Any) -> None:
    report = reports.complaint_report(users["manager"], NOVEMBER)
    assert (report.received, report.closed, report.still_open, report.breached) == (3, 3, 1, 1)
    assert report.measured == 3
    assert report.average_hours == round((90 + 180 + 540) / 3 / 60, 1)  # 4.5
    assert report.p90_hours == 9.0
    assert [(row["key"], row["label"], row["count"]) for row in report.by_category] == [
        (november["delivery"].pk, "物流配送", 2),
        ("", report.by_category[1]["label"], 1),  # not classified yet
    ]
    assert {row["key"]: row["count"] for row in report.by_severity} == {"general": 2, "serious": 1}
    assert {row["key"]: row["count"] for row in report.by_channel} == {
        "hotline": 1,
        "complaint_hotline": 1,
        "wechat": 1,
    }
    assert [(row["label"], row["count"]) for row in report.by_department] == [("客服中心", 3)]
    assert [(row["cause"], row["count"]) for row in report.top_causes] == [("送货延误", 2), ("态度差", 1)]
    days = {row["day"]: row["count"] for row in report.by_day}
    assert len(days) == 30 and days[dt.date(2026, 11, 2)] == 1 and days[dt.date(2026, 11, 6)] == 0


def test_week_report_takes_only_that_weeks_complaints(users: Any, november: Any) -> None:
    week = reports.parse_period("week", "2026-W45")
    assert (week.start, week.end) == (dt.date(2026, 11, 2), dt.date(2026, 11, 9))
    report = reports.complaint_report(users["manager"], week)
    assert (report.received, report.closed) == (3, 3)
    previous = reports.complaint_report(users["manager"], week.previous())
    assert (previous.received, previous.closed) == (1, 0)  # C4, opened on Friday 30 October


def test_report_keeps_to_the_data_scope_and_the_department_filter(
    users: Any, november: Any, departments: Any
) -> None:
    # The complaint specialist sits in 客诉中心 and sees only its complaints (none here).
    assert reports.complaint_report(users["complaint_specialist"], NOVEMBER).received == 0
    assert reports.department_for(users["complaint_specialist"], departments["centre"].pk) is None
    service = reports.complaint_report(users["manager"], NOVEMBER, departments["service"])
    assert service.received == 3  # 客服中心 lies under 客服部
    assert reports.complaint_report(users["manager"], NOVEMBER, departments["tech"]).received == 0


def test_reopening_clears_the_resolution_time_and_the_nightly_job_fills_missing_ones(
    users: Any, november: Any
) -> None:
    c1 = november["c1"]
    assert Ticket.objects.get(pk=c1.pk).resolution_minutes == 180
    services.ticket_transition(actor=users["supervisor"], ticket=c1, action="reopen", note="客户不满意")
    assert Ticket.objects.get(pk=c1.pk).resolution_minutes is None
    Ticket.objects.filter(pk=november["c2"].pk).update(resolution_minutes=None)
    assert services.tickets_measure_resolution() == 1
    assert Ticket.objects.get(pk=november["c2"].pk).resolution_minutes == 540


def test_report_query_count_does_not_grow_with_complaints(
    users: Any, november: Any, open_ticket: Any, clock: Clock
) -> None:
    before, _report = count_queries(lambda: reports.complaint_report(users["manager"], NOVEMBER))
    clock.set(at(2026, 11, 10, 9, 0))
    for number in range(5):
        open_ticket(kind="complaint", subject=f"投诉{number}")
    clock.set(at(2026, 11, 23, 10, 0))
    after, report = count_queries(lambda: reports.complaint_report(users["manager"], NOVEMBER))
    assert report.received == 8 and after == before


def test_unreadable_periods_fall_back_to_the_current_one() -> None:
    today = dt.date(2026, 11, 23)
    assert reports.parse_period("month", "2026-13", today=today) == NOVEMBER
    assert reports.parse_period("week", "2026-W99", today=today).start == dt.date(2026, 11, 23)
    assert reports.parse_period(None, "", today=today) == NOVEMBER


# --- the page and the export ------------------------------------------------------------------------


def test_report_page_shows_the_figures_tables_and_charts(users: Any, client_as: Any, november: Any) -> None:
    response = client_as(users["manager"]).get(
        reverse("tickets:complaint_report") + "?period=month&month=2026-11"
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-figure="received">3<' in content and 'data-figure="p90_hours">9.0<' in content
    assert "送货延误" in content and 'id="category-chart"' in content and "echarts.min.js" in content
    assert 'data-testid="analysis-form"' in content  # the manager may write the month's analysis


def test_report_export_is_an_xlsx_with_the_same_numbers(users: Any, client_as: Any, november: Any) -> None:
    response = client_as(users["supervisor"]).get(
        reverse("tickets:complaint_report_export") + "?period=month&month=2026-11"
    )
    assert response.status_code == 200
    rows = xlsx_rows(response)
    assert rows[2][1] == 3 and rows[3][1] == 3  # received, closed (after period and department)
    labelled = {row[0]: row[1] for row in rows if row and row[0]}
    assert labelled["物流配送"] == 2 and labelled["送货延误"] == 2


def test_sidebar_shows_the_report_only_to_roles_with_the_right(users: Any, client_as: Any) -> None:
    url = reverse("tickets:complaint_report")
    assert url.encode() in client_as(users["complaint_specialist"]).get("/").content
    assert url.encode() not in client_as(users["agent"]).get("/").content


# --- the cause analysis ------------------------------------------------------------------------------


def test_cause_analysis_is_written_submitted_and_approved_by_the_manager(
    users: Any, departments: Any
) -> None:
    specialist, manager = users["complaint_specialist"], users["manager"]
    analysis = report_services.cause_analysis_save(
        actor=specialist,
        month=dt.date(2026, 10, 15),
        department=departments["complaints"],
        causes="送货延误占四成",
        proposals="与物流公司约定时限",
        follow_up_owner=users["supervisor"],
    )
    assert analysis.month == dt.date(2026, 10, 1) and analysis.state == CauseAnalysisState.DRAFT
    with pytest.raises(Conflict):  # a draft is submitted before anyone decides on it
        report_services.cause_analysis_transition(actor=manager, analysis=analysis, action="approve")
    analysis = report_services.cause_analysis_transition(actor=specialist, analysis=analysis, action="submit")
    with pytest.raises(PermissionDenied):
        report_services.cause_analysis_transition(
            actor=users["supervisor"], analysis=analysis, action="approve"
        )
    with pytest.raises(Conflict):
        report_services.cause_analysis_save(
            actor=specialist,
            month=analysis.month,
            department=analysis.department,
            causes="改",
            proposals="改",
            analysis=analysis,
        )
    with pytest.raises(ValidationFailed):
        report_services.cause_analysis_transition(actor=manager, analysis=analysis, action="return")
    analysis = report_services.cause_analysis_transition(
        actor=manager, analysis=analysis, action="approve", note="同意，下月跟进"
    )
    assert analysis.state == CauseAnalysisState.APPROVED and analysis.approved_by == manager
    assert len(reports.cause_analysis_history(analysis)) >= 3


def test_one_analysis_per_month_and_department_and_only_in_ones_scope(users: Any, departments: Any) -> None:
    specialist = users["complaint_specialist"]
    values = {"month": dt.date(2026, 10, 1), "causes": "原因", "proposals": "建议"}
    report_services.cause_analysis_save(actor=specialist, department=departments["complaints"], **values)
    with pytest.raises(Conflict):
        report_services.cause_analysis_save(actor=specialist, department=departments["complaints"], **values)
    with pytest.raises(PermissionDenied):
        report_services.cause_analysis_save(actor=specialist, department=departments["centre"], **values)
    with pytest.raises(PermissionDenied):
        report_services.cause_analysis_save(actor=specialist, department=None, **values)
    with pytest.raises(ValidationFailed) as caught:
        report_services.cause_analysis_save(
            actor=specialist,
            department=departments["complaints"],
            month=dt.date(2030, 1, 1),
            causes="",
            proposals="",
        )
    assert set(caught.value.detail) == {"month", "causes", "proposals"}


def test_analysis_is_shown_next_to_its_months_report(users: Any, client_as: Any) -> None:
    report_services.cause_analysis_save(
        actor=users["manager"],
        month=dt.date(2026, 10, 1),
        department=None,
        causes="物流延误",
        proposals="换物流",
    )
    content = (
        client_as(users["leader"])
        .get(reverse("tickets:complaint_report") + "?period=month&month=2026-10")
        .content.decode()
    )
    assert 'data-testid="analysis-causes"' in content and "物流延误" in content
    assert 'data-testid="analysis-form"' not in content  # the leader reads only
    week = client_as(users["leader"]).get(reverse("tickets:complaint_report") + "?period=week&week=2026-W44")
    assert "物流延误" not in week.content.decode() and b"month=2026-10" in week.content


def test_page_writes_the_analysis_and_a_stale_form_is_409_with_the_text_kept(
    users: Any, client_as: Any, departments: Any
) -> None:
    client = client_as(users["complaint_specialist"])
    dept = departments["complaints"].pk
    url = reverse("tickets:cause_analysis_save")
    created = client.post(
        url, {"month": "2026-10", "department": dept, "causes": "原因一", "proposals": "建议一"}
    )
    assert created.status_code == 302 and "success" in message_levels(created)
    analysis = ComplaintCauseAnalysis.objects.get()
    read = analysis.version
    report_services.cause_analysis_save(
        actor=users["manager"],
        month=analysis.month,
        department=analysis.department,
        causes="经理改的原因",
        proposals="建议一",
        analysis=analysis,
        version=read,
    )
    stale = client.post(
        url,
        {
            "month": "2026-10",
            "department": dept,
            "causes": "专员的新原因",
            "proposals": "建议二",
            "version": read,
        },
    )
    assert stale.status_code == 409
    assert "专员的新原因" in stale.content.decode()
    assert ComplaintCauseAnalysis.objects.get().causes == "经理改的原因"
    missing = client.post(
        url, {"month": "2026-10", "department": dept, "causes": "", "proposals": "", "version": read + 1}
    )
    assert missing.status_code == 200 and b'data-field-error="causes"' in missing.content


# --- who may open what ------------------------------------------------------------------------------


class World:
    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def draft(self) -> ComplaintCauseAnalysis:
        """A draft of the user's own department, written by the user's colleague so anyone may decide it."""
        return ComplaintCauseAnalysis.objects.create(
            month=dt.date(2026, 9, 1),
            department=self.user.department,
            causes="原因",
            proposals="建议",
            written_by=self._make_user("complaint_specialist", department=self.user.department),
        )

    @cached_property
    def submitted(self) -> ComplaintCauseAnalysis:
        analysis = self.draft
        ComplaintCauseAnalysis.objects.filter(pk=analysis.pk).update(state=CauseAnalysisState.SUBMITTED)
        return ComplaintCauseAnalysis.objects.get(pk=analysis.pk)


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)


@dataclass(frozen=True)
class Endpoint(ApiEndpoint):
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.route or self.path} {self.label}".strip()


Endpoint.PATH_PARAMETERS = {"{w.draft.pk}": "{analysis_id}", "{w.submitted.pk}": "{analysis_id}"}
WRITE = (REPORT, "tickets.add_complaintcauseanalysis")
CHANGE = (REPORT, "tickets.change_complaintcauseanalysis")
APPROVE = (REPORT, "tickets.approve_complaintcauseanalysis")

ENDPOINTS = [
    Endpoint("GET", "/complaint-reports", (REPORT,)),
    Endpoint("GET", "/complaint-cause-analyses", (REPORT,)),
    Endpoint(
        "POST",
        "/complaint-cause-analyses",
        WRITE,
        201,
        json=lambda w: {
            "month": "2026-10-01",
            "department_id": w.user.department_id,
            "causes": "原因",
            "proposals": "建议",
        },
    ),
    Endpoint("PATCH", "/complaint-cause-analyses/{w.draft.pk}", CHANGE, json=lambda w: {"causes": "新原因"}),
    Endpoint(
        "POST",
        "/complaint-cause-analyses/{w.submitted.pk}/transitions",
        APPROVE,
        json=lambda w: {"action": "approve"},
    ),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_report_endpoint_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role: str, endpoint: Endpoint, make_user: Any, api_as: Any, world: Any
) -> None:
    user = make_user(role, username=role)
    response = endpoint.call(api_as(user), world(user))
    if role_has(role, endpoint.perms):
        assert response.status_code == endpoint.ok, (role, endpoint.id, response.content[:300])
    else:
        assert response.status_code == 403, (role, endpoint.id, response.status_code, response.content[:300])
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_anonymous_caller_of_a_report_endpoint_gets_401(
    endpoint: Endpoint, make_user: Any, world: Any
) -> None:
    response = endpoint.call(Client(), world(make_user("manager")))
    assert response.status_code == 401


def test_every_report_endpoint_is_in_the_permission_table() -> None:
    routes = {
        f"{method} {path}"
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == {e.operation for e in ENDPOINTS}


@dataclass(frozen=True)
class Page:
    name: str
    perms: tuple[str, ...]
    method: str = "get"
    args: Callable[[World], list[Any]] = lambda w: []
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    done: Callable[[World], bool] | None = None
    query: str = ""
    label: str = ""

    def url(self, w: World) -> str:
        return reverse(f"tickets:{self.name}", args=self.args(w)) + self.query


PAGES = [
    Page("complaint_report", (REPORT,)),
    Page("complaint_report", (REPORT,), query="?period=week&week=2026-W45", label="week"),
    Page("complaint_report_export", (REPORT,)),
    Page(
        "cause_analysis_save",
        WRITE,
        method="post",
        data=lambda w: {
            "month": "2026-10",
            "department": w.user.department_id,
            "causes": "原因",
            "proposals": "建议",
        },
        done=lambda w: ComplaintCauseAnalysis.objects.filter(month=dt.date(2026, 10, 1)).exists(),
    ),
    Page(
        "cause_analysis_transition",
        CHANGE,
        method="post",
        args=lambda w: [w.draft.pk, "submit"],
        label="submit",
        done=lambda w: (
            ComplaintCauseAnalysis.objects.get(pk=w.draft.pk).state == CauseAnalysisState.SUBMITTED
        ),
    ),
    Page(
        "cause_analysis_transition",
        APPROVE,
        method="post",
        args=lambda w: [w.submitted.pk, "approve"],
        label="approve",
        done=lambda w: (
            ComplaintCauseAnalysis.objects.get(pk=w.submitted.pk).state == CauseAnalysisState.APPROVED
        ),
    ),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("entry", PAGES, ids=lambda p: f"{p.name}:{p.label}" if p.label else p.name)
def test_report_page_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role: str, entry: Page, make_user: Any, client_as: Any, world: Any
) -> None:
    user = make_user(role, username=role)
    w = world(user)
    client = client_as(user)
    response = (
        client.post(entry.url(w), entry.data(w)) if entry.method == "post" else client.get(entry.url(w))
    )
    if not role_has(role, (REPORT,)):
        assert response.status_code == 403, (role, entry.name, response.status_code)
        if entry.done is not None:
            assert not entry.done(w)
    elif role_has(role, entry.perms):
        assert response.status_code == (302 if entry.method == "post" else 200), (role, entry.name)
        if entry.done is not None:
            assert entry.done(w), (role, entry.name, message_levels(response))
    else:
        assert response.status_code == 302 and message_levels(response) == ["error"], (role, entry.name)
        assert entry.done is not None and not entry.done(w)


def test_api_report_gives_the_same_numbers_and_refuses_a_department_outside_the_scope(
    users: Any, api_as: Any, november: Any, departments: Any
) -> None:
    body = api_as(users["manager"]).get("/api/v1/complaint-reports?period=month&month=2026-11").json()
    assert (body["received"], body["closed"], body["p90_hours"]) == (3, 3, 9.0)
    assert body["top_causes"][0] == {"cause": "送货延误", "count": 2}
    refused = api_as(users["complaint_specialist"]).get(
        f"/api/v1/complaint-reports?department_id={departments['centre'].pk}"
    )
    assert refused.status_code == 400 and "department_id" in refused.json()["detail"]


def test_api_analysis_with_a_stale_version_is_409(users: Any, api_as: Any, departments: Any) -> None:
    client = api_as(users["complaint_specialist"])
    created = client.post(
        "/api/v1/complaint-cause-analyses",
        json.dumps(
            {
                "month": "2026-10-01",
                "department_id": departments["complaints"].pk,
                "causes": "a",
                "proposals": "b",
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    analysis = created.json()
    first = client.patch(
        f"/api/v1/complaint-cause-analyses/{analysis['id']}",
        json.dumps({"causes": "c", "version": analysis["version"]}),
        content_type="application/json",
    )
    assert first.status_code == 200
    second = client.patch(
        f"/api/v1/complaint-cause-analyses/{analysis['id']}",
        json.dumps({"causes": "d", "version": analysis["version"]}),
        content_type="application/json",
    )
    assert second.status_code == 409 and second.json()["code"] == "conflict"
