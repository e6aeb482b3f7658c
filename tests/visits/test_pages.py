"""The visit pages: who may open each one (every role), the work page, lists, export, calendar, stats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.customers.models import Customer
from kefu.visits import services
from kefu.visits import urls as visit_urls
from kefu.visits.models import Visit, VisitScript, VisitState
from tests.customers.conftest import count_queries, message_levels, text_of_testid, xlsx_rows
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


class World:
    """A customer and a visit that are the user's own, so every data scope covers them."""

    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def handler(self) -> User:
        return self._make_user("agent", department=self.user.department)

    @cached_property
    def customer(self) -> Customer:
        return make_customer(
            actor=self.manager,
            department=self.user.department,
            owner=self.user,
            is_vip=True,
            annual_tons=25000,
        )

    @cached_property
    def visit(self) -> Visit:
        visit = services.visit_create(
            actor=self.manager, data=services.VisitInput(customer=self.customer, assignee=self.user)
        )
        Visit.objects.filter(pk=visit.pk).update(department=self.user.department)
        return Visit.objects.get(pk=visit.pk)

    @cached_property
    def evaluation(self) -> Visit:
        visit = services.visit_create(
            actor=self.manager,
            data=services.VisitInput(customer=self.customer, assignee=self.user, purpose="evaluation"),
        )
        Visit.objects.filter(pk=visit.pk).update(
            department=self.user.department, state=VisitState.DONE, satisfaction=5
        )
        return Visit.objects.get(pk=visit.pk)

    @cached_property
    def script(self) -> VisitScript:
        return VisitScript.objects.get(purpose="return_visit")


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)


@dataclass(frozen=True)
class Page:
    name: str
    perms: tuple[str, ...]
    args: Callable[[World], list[Any]] = lambda w: []
    query: Callable[[World], str] = lambda w: ""
    method: str = "get"
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    ok: int = 200

    def url(self, w: World) -> str:
        return reverse(f"visits:{self.name}", args=self.args(w)) + self.query(w)


VIEW = ("visits.view_visit",)
PLAN = ("visits.view_visit", "visits.assign_visit")

PAGES = [
    Page("list", VIEW),
    Page("list", VIEW, query=lambda w: "?queue=all&purpose=return_visit&sort=customer&q=KH&tier=A"),
    Page("export", ("visits.export_visit",)),
    Page("bulk", ("visits.bulk_visit",), method="post", data=lambda w: {}, ok=302),
    Page("bulk_create", ("visits.bulk_visit",), query=lambda w: "?tier=A"),
    Page("calendar", VIEW),
    Page("stats", ("visits.view_visit_stats",)),
    Page("stats", ("visits.view_visit_stats",), query=lambda w: "?year=2026&month=11&export=xlsx"),
    Page("create", ("visits.add_visit",), query=lambda w: f"?customer={w.customer.pk}"),
    Page("activity_create", ("visits.change_visit",), query=lambda w: f"?customer={w.customer.pk}"),
    Page("policies", ("visits.view_cadencepolicy",)),
    Page("scripts", ("visits.view_visitscript",)),
    Page("script_edit", ("visits.change_visitscript",), args=lambda w: [w.script.pk]),
    Page("detail", VIEW, args=lambda w: [w.visit.pk]),
    Page("evaluation_form", VIEW, args=lambda w: [w.evaluation.pk]),
    Page(
        "attempt",
        (*VIEW, "visits.change_visit"),
        args=lambda w: [w.visit.pk],
        method="post",
        data=lambda w: {"outcome": "no_answer", "channel": "phone", "issue_kind": "inquiry"},
        ok=302,
    ),
    Page(
        "assign",
        PLAN,
        args=lambda w: [w.visit.pk],
        method="post",
        data=lambda w: {"assignee": w.handler.pk},
        ok=302,
    ),
    Page(
        "transition",
        PLAN,
        args=lambda w: [w.visit.pk, "cancel"],
        method="post",
        data=lambda w: {"note": "客户停产"},
        ok=302,
    ),
]


def _page_id(entry: Page) -> str:
    index = [p for p in PAGES if p.name == entry.name].index(entry)
    return entry.name if index == 0 else f"{entry.name}:{index}"


def _open(client: Client, entry: Page, w: World) -> Any:
    if entry.method == "post":
        return client.post(entry.url(w), entry.data(w))
    return client.get(entry.url(w))


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("entry", PAGES, ids=_page_id)
def test_visit_page_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role: str, entry: Page, make_user: Any, client_as: Any, world: Any
) -> None:
    user = make_user(role, username=role)
    response = _open(client_as(user), entry, world(user))
    if role_has(role, entry.perms):
        assert response.status_code == entry.ok, (role, entry.name, response.status_code)
    else:
        assert response.status_code == 403, (role, entry.name, response.status_code)
        assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize("entry", PAGES, ids=_page_id)
def test_anonymous_visitor_is_sent_to_the_login_page(entry: Page, make_user: Any, world: Any) -> None:
    response = _open(Client(), entry, world(make_user("manager")))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_every_visit_page_is_in_the_permission_table() -> None:
    names = {p.name for p in visit_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {e.name for e in PAGES}


# --- the work page -------------------------------------------------------------------------------------


def test_work_page_shows_the_script_with_the_customer_and_masks_phones_for_agents(
    plan_visit: Any, users: dict[str, Any], client_as: Any, customer: Customer
) -> None:
    make_contact(actor=users["manager"], customer=customer, name="王经理", mobile="13912345678")
    visit = plan_visit()
    page = client_as(users["agent"]).get(reverse("visits:detail", args=[visit.pk])).content.decode()
    assert "杭州恒丰纸业有限公司您好" in page and "贵司的污水运营是否正常?" in page
    assert "139****5678" in page and "13912345678" not in page
    supervisor_page = (
        client_as(users["supervisor"]).get(reverse("visits:detail", args=[visit.pk])).content.decode()
    )
    assert "139 1234 5678" in supervisor_page or "13912345678" in supervisor_page


def test_two_no_answers_on_the_page_make_a_call_back_in_its_list(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    visit = plan_visit()
    client = client_as(users["agent"])
    url = reverse("visits:attempt", args=[visit.pk])
    for version in (1, 2):
        response = client.post(url, {"outcome": "no_answer", "version": version, "channel": "phone"})
        assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).state == VisitState.CALLBACK
    listing = client.get(reverse("visits:list") + "?queue=callbacks").content.decode()
    assert f'data-visit="{visit.pk}"' in listing


def test_reached_on_the_page_records_answers_score_and_issue(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    visit = plan_visit()
    response = client_as(users["agent"]).post(
        reverse("visits:attempt", args=[visit.pk]),
        {
            "outcome": "reached",
            "version": 1,
            "channel": "phone",
            "question": ["设备运行是否正常?"],
            "answer_0": "正常",
            "satisfaction": "4",
            "issue_subject": "希望增加保养",
            "issue_kind": "suggestion",
        },
    )
    assert response.status_code == 302
    visit = Visit.objects.get(pk=visit.pk)
    assert visit.state == VisitState.DONE and visit.satisfaction == 4
    assert visit.answers == [{"question": "设备运行是否正常?", "answer": "正常"}]
    assert visit.issue_ticket is not None and visit.issue_ticket.kind == "suggestion"


def test_the_slower_of_two_agents_is_told_with_a_409(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    visit = plan_visit()
    url = reverse("visits:attempt", args=[visit.pk])
    client_as(users["agent"]).post(url, {"outcome": "busy", "version": 1, "channel": "phone"})
    late = client_as(users["supervisor"]).post(
        url, {"outcome": "reached", "version": 1, "channel": "phone", "satisfaction": "5"}
    )
    assert late.status_code == 409 and "error" in message_levels(late)
    assert Visit.objects.get(pk=visit.pk).state == VisitState.PLANNED


def test_reached_without_score_shows_the_error_on_the_page(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    visit = plan_visit()
    response = client_as(users["agent"]).post(
        reverse("visits:attempt", args=[visit.pk]), {"outcome": "reached", "version": 1, "channel": "phone"}
    )
    assert response.status_code == 400 and b'data-testid="form-errors"' in response.content


# --- lists, export, calendar, stats, customer file ---------------------------------------------------------


def test_list_query_count_does_not_grow_with_rows(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    client = client_as(users["supervisor"])
    url = reverse("visits:list") + "?queue=all"
    plan_visit()
    few, _r = count_queries(lambda: client.get(url))
    for _n in range(6):
        plan_visit()
    many, response = count_queries(lambda: client.get(url))
    assert response.content.decode().count("data-visit=") == 7
    assert many == few


def test_export_lists_the_filtered_visits(plan_visit: Any, users: dict[str, Any], client_as: Any) -> None:
    plan_visit()
    rows = xlsx_rows(client_as(users["supervisor"]).get(reverse("visits:export") + "?queue=all"))
    assert len(rows) == 1 and rows[0][0] == "杭州恒丰纸业有限公司"


def test_bulk_reassign_from_the_list(
    plan_visit: Any, users: dict[str, Any], client_as: Any, make_user: Any
) -> None:
    other = make_user("agent", department="centre")
    visits = [plan_visit(), plan_visit()]
    response = client_as(users["supervisor"]).post(
        reverse("visits:bulk"), {"ids": [v.pk for v in visits], "assignee": other.pk}
    )
    assert response.status_code == 302 and "success" in message_levels(response)
    assert set(Visit.objects.values_list("assignee", flat=True)) == {other.pk}


def test_bulk_create_from_the_customer_list_previews_then_plans(
    users: dict[str, Any], client_as: Any, make_vip: Any
) -> None:
    for tier in "AAC":
        make_vip(tier)
    client = client_as(users["supervisor"])
    listing = client.get(reverse("customers:list") + "?tier=A").content.decode()
    assert 'data-testid="plan-visits"' in listing
    preview = client.get(reverse("visits:bulk_create") + "?tier=A")
    assert text_of_testid(preview, "bulk-count-number") == "2"
    response = client.post(
        reverse("visits:bulk_create") + "?tier=A",
        {"purpose": "invitation", "due_on": dt.date.today().isoformat()},
    )
    assert response.status_code == 302
    assert Visit.objects.filter(purpose="invitation").count() == 2


def test_calendar_counts_the_visits_of_each_day(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    today = dt.date.today()
    plan_visit(due_on=today)
    plan_visit(due_on=today)
    page = client_as(users["agent"]).get(reverse("visits:calendar")).content.decode()
    assert f'data-day="{today.isoformat()}"' in page


def test_stats_page_draws_the_chart_and_exports(
    plan_visit: Any, users: dict[str, Any], client_as: Any
) -> None:
    today = dt.date.today()
    visit = plan_visit(due_on=today)
    services.visit_record_attempt(
        actor=users["agent"], visit=visit, data=services.AttemptInput(outcome="reached", satisfaction=5)
    )
    client = client_as(users["manager"])
    page = client.get(reverse("visits:stats")).content.decode()
    assert 'data-chart="bar"' in page and 'id="people-chart"' in page and "100.0" in page
    rows = xlsx_rows(
        client.get(reverse("visits:stats") + f"?year={today.year}&month={today.month}&export=xlsx")
    )
    assert [row[2:] for row in rows] == [[1, 1, 100], [1, 1, 100]]


def test_customer_file_has_a_visits_tab_with_visits_and_activities(
    plan_visit: Any, users: dict[str, Any], client_as: Any, customer: Customer
) -> None:
    plan_visit()
    services.visit_record_activity(
        actor=users["agent"], customer=customer, purpose="briefing", summary="通报环保新政"
    )
    page = client_as(users["agent"]).get(reverse("customers:detail", args=[customer.pk]) + "?tab=visits")
    content = page.content.decode()
    assert 'data-testid="customer-visits"' in content and "通报环保新政" in content
    assert 'data-testid="record-activity"' in content


def test_evaluation_visit_done_produces_the_customer_evaluation_form(
    users: dict[str, Any], client_as: Any, customer: Customer
) -> None:
    from kefu.tickets.services import TicketInput, ticket_create

    ticket = ticket_create(
        actor=users["manager"],
        data=TicketInput(
            assignee=users["complaint_specialist"],
            kind="complaint",
            channel="complaint_hotline",
            subject="送货延误",
            customer=customer,
        ),
    )
    visit = services.visits_for_closed_complaint(ticket_id=ticket.pk, closed_at=ticket.created_at)[0]
    client = client_as(users["complaint_specialist"])
    assert client.get(reverse("visits:evaluation_form", args=[visit.pk])).status_code == 404
    services.visit_record_attempt(
        actor=users["complaint_specialist"],
        visit=visit,
        data=services.AttemptInput(
            outcome="reached",
            satisfaction=4,
            answers=[{"question": "您反映的问题是否已经解决?", "answer": "已解决"}],
        ),
    )
    page = client.get(reverse("visits:evaluation_form", args=[visit.pk])).content.decode()
    assert ticket.number in page and "已解决" in page


def test_manager_saves_a_new_retry_rule_on_the_policies_page(users: dict[str, Any], client_as: Any) -> None:
    response = client_as(users["manager"]).post(
        reverse("visits:policies"),
        {
            "policy": "retry",
            "effective_from": dt.date.today().isoformat(),
            "attempts_before_callback": 3,
            "retry_delay_minutes": 30,
            "callback_within_hours": 8,
        },
    )
    assert response.status_code == 302
    from kefu.visits.models import RetryPolicy

    assert RetryPolicy.in_force().attempts_before_callback == 3


def test_manager_saves_a_cadence_from_the_rules_text(users: dict[str, Any], client_as: Any) -> None:
    response = client_as(users["manager"]).post(
        reverse("visits:policies"),
        {
            "policy": "cadence",
            "effective_from": dt.date.today().isoformat(),
            "rules": "centre, agent, ABC, 1\nleader, leader, A, 6",
            "follow_up_months": 1,
            "purchase_delay_days": 3,
            "win_back_delay_days": 0,
            "open_days": 7,
        },
    )
    assert response.status_code == 302
    from kefu.visits.models import CadencePolicy

    assert [(r.code, r.tiers, r.every_months) for r in CadencePolicy.in_force().rule_list()] == [
        ("centre", "ABC", 1),
        ("leader", "A", 6),
    ]
