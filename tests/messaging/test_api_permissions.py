"""Who may call each messaging endpoint: every role, allowed and denied (rights read from roles.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import pytest
from django.test import Client
from django.utils import timezone

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.customers.models import Customer
from kefu.messaging import services
from kefu.messaging.api import router
from kefu.messaging.models import Campaign, MessageTemplate, OptOut
from tests.api_endpoints import ApiEndpoint
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}
VIEW_TEMPLATE = "messaging.view_messagetemplate"
VIEW_CAMPAIGN = "messaging.view_campaign"


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


class World:
    """Records in the user's own name and department, so a refusal can only come from a missing right."""

    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def customer(self) -> Customer:
        return make_customer(
            actor=self.manager,
            name="权限测试会员",
            kind="person",
            owner=self.user,
            department=self.user.department,
        )

    @cached_property
    def template(self) -> MessageTemplate:
        return services.template_save(
            actor=self.manager,
            data={
                "name": "权限测试模板",
                "channel": "sms",
                "purpose": "notice",
                "provider_code": "SMS_1",
                "signature": "客服中心",
                "body": "尊敬的${name}，您好",
            },
        )

    def _campaign(self) -> Campaign:
        campaign = services.campaign_create(
            actor=self.manager,
            name="权限测试",
            template=self.template,
            filters={"q": self.customer.archive_number},
        )
        # Test set-up only: the campaign is the user's own, as if they had drafted it.
        Campaign.objects.filter(pk=campaign.pk).update(created_by=self.user, department=self.user.department)
        return Campaign.objects.get(pk=campaign.pk)

    @cached_property
    def campaign(self) -> Campaign:
        return self._campaign()

    @cached_property
    def awaiting(self) -> Campaign:
        campaign = self._campaign()
        Campaign.objects.filter(pk=campaign.pk).update(state="awaiting_approval")
        return Campaign.objects.get(pk=campaign.pk)

    @cached_property
    def opt_out(self) -> OptOut:
        return services.opt_out_create(actor=self.manager, customer=self.customer, channel="sms")


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
    "{w.template.pk}": "{template_id}",
    "{w.campaign.pk}": "{campaign_id}",
    "{w.awaiting.pk}": "{campaign_id}",
    "{w.opt_out.pk}": "{opt_out_id}",
}


def _tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


ENDPOINTS = [
    Endpoint("GET", "/messaging/templates", (VIEW_TEMPLATE,)),
    Endpoint(
        "POST",
        "/messaging/templates",
        ("messaging.add_messagetemplate",),
        201,
        json=lambda w: {
            "name": "新模板",
            "provider_code": "SMS_9",
            "signature": "客服中心",
            "body": "您好${name}",
        },
    ),
    Endpoint("GET", "/messaging/templates/{w.template.pk}", (VIEW_TEMPLATE,)),
    Endpoint(
        "PATCH",
        "/messaging/templates/{w.template.pk}",
        (VIEW_TEMPLATE, "messaging.change_messagetemplate"),
        json=lambda w: {"body": "尊敬的${name}，节日快乐"},
    ),
    Endpoint(
        "POST",
        "/messaging/campaigns/preview",
        ("messaging.add_campaign",),
        json=lambda w: {"template_id": w.template.pk, "filters": {"kind": "person"}},
    ),
    Endpoint("GET", "/messaging/campaigns", (VIEW_CAMPAIGN,)),
    Endpoint(
        "POST",
        "/messaging/campaigns",
        ("messaging.add_campaign",),
        201,
        json=lambda w: {"name": "接口群发", "template_id": w.template.pk, "filters": {"kind": "person"}},
    ),
    Endpoint("GET", "/messaging/campaigns/{w.campaign.pk}", (VIEW_CAMPAIGN,)),
    Endpoint(
        "POST",
        "/messaging/campaigns/{w.campaign.pk}/transitions",
        (VIEW_CAMPAIGN, "messaging.add_campaign"),
        json=lambda w: {"action": "submit"},
        label="submit",
    ),
    Endpoint(
        "POST",
        "/messaging/campaigns/{w.awaiting.pk}/transitions",
        (VIEW_CAMPAIGN, "messaging.approve_campaign"),
        json=lambda w: {"action": "approve"},
        label="approve",
    ),
    Endpoint("GET", "/messaging/campaigns/{w.campaign.pk}/messages", (VIEW_CAMPAIGN,)),
    Endpoint("GET", "/messaging/messages", ("messaging.view_message",)),
    Endpoint(
        "POST",
        "/messaging/messages",
        ("messaging.send_message",),
        201,
        json=lambda w: {"customer_id": w.customer.pk, "template_id": w.template.pk, "source": "test"},
    ),
    Endpoint("GET", "/messaging/opt-outs", ("messaging.view_optout",)),
    Endpoint(
        "POST",
        "/messaging/opt-outs",
        ("messaging.add_optout",),
        201,
        json=lambda w: {"customer_id": w.customer.pk, "channel": "sms", "note": "电话要求"},
    ),
    Endpoint(
        "POST",
        "/messaging/opt-outs/{w.opt_out.pk}/withdraw",
        ("messaging.view_optout", "messaging.change_optout"),
        json=lambda w: {"note": "恢复"},
    ),
    Endpoint("GET", "/messaging/policies/current", ("messaging.view_messagingpolicy",)),
    Endpoint(
        "POST",
        "/messaging/policies",
        ("messaging.add_messagingpolicy",),
        201,
        json=lambda w: {"effective_from": _tomorrow(), "per_second": 5, "per_minute": 200},
    ),
    Endpoint(
        "POST",
        "/messaging/care-policies",
        ("messaging.add_carepolicy",),
        201,
        json=lambda w: {"effective_from": _tomorrow(), "send_time": "10:00:00"},
    ),
]
# Called by the SMS provider, not by staff: a shared secret instead of a role (tests in test_api.py).
PUBLIC = {"POST /messaging/inbound"}


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_messaging_endpoint_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role, endpoint, make_user, api_as, world
):
    user = make_user(role, username=role)
    w = world(user)
    response = endpoint.call(api_as(user), w)
    if role_has(role, endpoint.perms):
        assert response.status_code == endpoint.ok, (role, endpoint.id, response.content[:300])
    else:
        assert response.status_code == 403, (role, endpoint.id, response.status_code, response.content[:300])
        assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_user_without_a_role_is_refused_by_every_messaging_endpoint(endpoint, make_user, api_as, world):
    user = make_user(None, department="centre")
    response = endpoint.call(api_as(user), world(user))
    assert response.status_code == 403, response.content[:300]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_anonymous_caller_of_a_messaging_endpoint_gets_401_json(endpoint, make_user, world):
    response = endpoint.call(Client(), world(make_user("manager")))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_messaging_endpoint_is_in_the_permission_table():
    routes = {
        f"{method} {path}"
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == {e.operation for e in ENDPOINTS} | PUBLIC
