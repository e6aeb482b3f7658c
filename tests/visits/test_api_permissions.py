"""Who may call each visit endpoint: every role, allowed and denied (rights read from roles.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.customers.models import Customer
from kefu.visits import services
from kefu.visits.api import router
from kefu.visits.models import Visit, VisitScript
from tests.api_endpoints import ApiEndpoint
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}
VIEW = "visits.view_visit"
WORK = "visits.change_visit"
PLAN = "visits.assign_visit"


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


class World:
    """A customer and visits that are the user's own (their department, given to them), so every
    data scope covers them: a refusal can only come from a missing right."""

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

    def _plan(self) -> Visit:
        visit = services.visit_create(
            actor=self.manager, data=services.VisitInput(customer=self.customer, assignee=self.user)
        )
        # Test set-up only: in the user's department, whatever the customer's.
        Visit.objects.filter(pk=visit.pk).update(department=self.user.department)
        return Visit.objects.get(pk=visit.pk)

    @cached_property
    def visit(self) -> Visit:
        return self._plan()

    @cached_property
    def cancelled(self) -> Visit:
        return services.visit_transition(actor=self.manager, visit=self._plan(), action="cancel", note="重复")

    @cached_property
    def script(self) -> VisitScript:
        return VisitScript.objects.get(purpose="return_visit")


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)


@dataclass(frozen=True)
class Endpoint(ApiEndpoint):
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.route or self.path} {self.label}".strip()


Endpoint.PATH_PARAMETERS = {
    "{w.visit.pk}": "{visit_id}",
    "{w.cancelled.pk}": "{visit_id}",
    "{w.script.pk}": "{script_id}",
}

V = "/visits/{w.visit.pk}"


def _tomorrow() -> str:
    return (dt.date.today() + dt.timedelta(days=1)).isoformat()


ENDPOINTS = [
    Endpoint("GET", "/visits", (VIEW,)),
    Endpoint("POST", "/visits", ("visits.add_visit",), 201, json=lambda w: {"customer_id": w.customer.pk}),
    Endpoint("GET", "/visits/queues", (VIEW,)),
    Endpoint("GET", "/visits/stats?year=2026&month=11", ("visits.view_visit_stats",), route="/visits/stats"),
    Endpoint(
        "POST",
        "/visits/activities",
        (WORK,),
        201,
        json=lambda w: {"customer_id": w.customer.pk, "purpose": "briefing", "summary": "通报环保新政"},
    ),
    Endpoint(
        "POST",
        "/visits/bulk/assign",
        ("visits.bulk_visit", PLAN),
        json=lambda w: {"ids": [w.visit.pk], "assignee_id": w.handler.pk},
    ),
    Endpoint(
        "POST",
        "/visits/bulk/create",
        ("visits.bulk_visit", "visits.add_visit"),
        json=lambda w: {"tier": "A", "purpose": "invitation", "due_on": _tomorrow(), "q": w.customer.name},
    ),
    Endpoint("GET", V, (VIEW,)),
    Endpoint("GET", V + "/events", (VIEW,)),
    Endpoint("POST", V + "/attempts", (VIEW, WORK), 201, json=lambda w: {"outcome": "no_answer"}),
    Endpoint("POST", V + "/assign", (VIEW, PLAN), json=lambda w: {"assignee_id": w.handler.pk}),
    Endpoint("POST", V + "/cancel", (VIEW, PLAN), json=lambda w: {"note": "客户停产"}),
    Endpoint("POST", "/visits/{w.cancelled.pk}/reopen", (VIEW, PLAN), json=lambda w: {"note": "复产"}),
    Endpoint("GET", "/visit-policies/cadence", ("visits.view_cadencepolicy",)),
    Endpoint("GET", "/visit-policies/cadence/current", ("visits.view_cadencepolicy",)),
    Endpoint(
        "POST",
        "/visit-policies/cadence",
        ("visits.add_cadencepolicy",),
        201,
        json=lambda w: {
            "effective_from": _tomorrow(),
            "rules": [{"code": "centre", "role": "agent", "tiers": "ABC", "every_months": 1}],
        },
    ),
    Endpoint("GET", "/visit-policies/retry/current", ("visits.view_retrypolicy",)),
    Endpoint(
        "POST",
        "/visit-policies/retry",
        ("visits.add_retrypolicy",),
        201,
        json=lambda w: {
            "effective_from": _tomorrow(),
            "attempts_before_callback": 3,
            "retry_delay_minutes": 30,
        },
    ),
    Endpoint("GET", "/visit-scripts", ("visits.view_visitscript",)),
    Endpoint(
        "PATCH",
        "/visit-scripts/{w.script.pk}",
        ("visits.view_visitscript", "visits.change_visitscript"),
        json=lambda w: {"questions": ["设备运行是否正常?"]},
    ),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_visit_endpoint_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role, endpoint, make_user, api_as, world
):
    user = make_user(role, username=role)
    response = endpoint.call(api_as(user), world(user))
    if role_has(role, endpoint.perms):
        assert response.status_code == endpoint.ok, (role, endpoint.id, response.content[:300])
    else:
        assert response.status_code == 403, (role, endpoint.id, response.status_code, response.content[:300])
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_user_without_a_role_is_refused_by_every_visit_endpoint(endpoint, make_user, api_as, world):
    user = make_user(None, department="centre")
    response = endpoint.call(api_as(user), world(user))
    assert response.status_code == 403, response.content[:300]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_anonymous_caller_of_a_visit_endpoint_gets_401_json(endpoint, make_user, world):
    response = endpoint.call(Client(), world(make_user("manager")))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_visit_endpoint_is_in_the_permission_table():
    routes = {
        f"{method} {path}"
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == {e.operation for e in ENDPOINTS}
