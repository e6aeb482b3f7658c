"""Who may call each ticket endpoint: every role, allowed and denied.

The table maps each endpoint to the rights it needs; whether a role holds them is read from
ROLE_DEFINITIONS, so granting a right there moves the matching cases from "denied" to "allowed"
without touching this file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.tickets import services
from kefu.tickets.api import router
from kefu.tickets.models import (
    CannedReply,
    EventKind,
    MailStatus,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketMail,
)
from kefu.tickets.services import TicketInput, ticket_create
from tests.api_endpoints import ApiEndpoint

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}

VIEW = "tickets.view_ticket"
CHANGE = "tickets.change_ticket"


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


class World:
    """The tickets a check needs, created on first use by a manager but in the user's name.

    Each ticket is the user's own (opened in their name, in their department), so every data
    scope, even "only mine", covers it: a refusal can then only come from a missing right.
    """

    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def handler(self) -> User:
        """A colleague in the user's department who may take tickets."""
        return self._make_user("agent", department=self.user.department)

    def _open(self, **fields: Any) -> Ticket:
        data = TicketInput(
            kind=fields.pop("kind", "inquiry"),
            channel=fields.pop("channel", "hotline"),
            subject=fields.pop("subject", "权限测试工单"),
            **fields,
        )
        ticket = ticket_create(actor=self.manager, data=data)
        # Test set-up only: hand the ticket to the user's department and name as if they opened it.
        Ticket.objects.filter(pk=ticket.pk).update(created_by=self.user, department=self.user.department)
        return Ticket.objects.get(pk=ticket.pk)

    @cached_property
    def ticket(self) -> Ticket:
        return self._open()

    @cached_property
    def complaint(self) -> Ticket:
        return self._open(kind="complaint", subject="权限测试投诉")

    def _complaint_at_step_four(self) -> Ticket:
        ticket = self._open(kind="complaint", subject="待审批投诉")
        services.complaint_step_complete(actor=self.manager, ticket=ticket, step=2, note="核实")
        return services.complaint_step_complete(actor=self.manager, ticket=ticket, step=3, note="分析原因")

    @cached_property
    def proposing(self) -> Ticket:
        return self._complaint_at_step_four()

    @cached_property
    def awaiting_approval(self) -> Ticket:
        ticket = self._complaint_at_step_four()
        return services.complaint_request_approval(actor=self.manager, ticket=ticket, proposal="补发配件")

    @cached_property
    def after_sales(self) -> Ticket:
        return self._open(kind="after_sales", after_sales={"case_type": "return"}, subject="退货")

    @cached_property
    def attachment(self) -> TicketEvent:
        photo = SimpleUploadedFile("照片.jpg", b"\xff\xd8photo", content_type="image/jpeg")
        return services.ticket_reply(
            actor=self.manager, ticket=self.ticket, body="", kind=EventKind.NOTE, attachment=photo
        )

    @cached_property
    def failed_mail(self) -> TicketMail:
        ticket = self._open(channel="email", contact_email="wang@example.com", subject="邮件工单")
        reply = services.ticket_reply(actor=self.manager, ticket=ticket, body="您好")
        TicketMail.objects.filter(event=reply).update(status=MailStatus.FAILED, error="Connection refused")
        return TicketMail.objects.get(event=reply)

    @cached_property
    def canned(self) -> CannedReply:
        return services.canned_reply_save(actor=self.manager, data={"title": "问候", "body": "您好"})

    @cached_property
    def group(self) -> TicketGroup:
        return services.ticket_group_save(
            actor=self.manager, data={"name": "权限测试组", "department": self.user.department}
        )


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)


@dataclass(frozen=True)
class Endpoint(ApiEndpoint):
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.route or self.path} {self.label}".strip()


PATH_PARAMETERS = {
    "{w.ticket.pk}": "{ticket_id}",
    "{w.complaint.pk}": "{ticket_id}",
    "{w.proposing.pk}": "{ticket_id}",
    "{w.awaiting_approval.pk}": "{ticket_id}",
    "{w.after_sales.pk}": "{ticket_id}",
    "{w.attachment.pk}": "{event_id}",
    "{w.failed_mail.ticket_id}": "{ticket_id}",
    "{w.failed_mail.pk}": "{mail_id}",
    "{w.canned.pk}": "{reply_id}",
    "{w.group.pk}": "{group_id}",
}
Endpoint.PATH_PARAMETERS = PATH_PARAMETERS

T = "/tickets/{w.ticket.pk}"


def _tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def _photo(w: World) -> dict[str, Any]:
    return {
        "file": SimpleUploadedFile("照片.jpg", b"\xff\xd8photo", content_type="image/jpeg"),
        "body": "照片",
    }


ENDPOINTS = [
    Endpoint("GET", "/tickets", (VIEW,)),
    Endpoint(
        "POST",
        "/tickets",
        ("tickets.add_ticket",),
        201,
        json=lambda w: {"kind": "inquiry", "channel": "hotline", "subject": "接口新建工单"},
    ),
    Endpoint("GET", "/tickets/queues", (VIEW,)),
    Endpoint(
        "POST",
        "/tickets/bulk/assign",
        ("tickets.bulk_ticket", "tickets.assign_ticket"),
        json=lambda w: {"ids": [w.ticket.pk], "assignee_id": w.handler.pk},
    ),
    Endpoint("POST", "/tickets/bulk/close", ("tickets.bulk_ticket",), json=lambda w: {"ids": [w.ticket.pk]}),
    Endpoint("GET", T, (VIEW,)),
    Endpoint("PATCH", T, (VIEW, CHANGE), json=lambda w: {"subject": "改过的标题"}),
    Endpoint("GET", T + "/events", (VIEW,)),
    Endpoint("POST", T + "/replies", (VIEW, CHANGE), 201, json=lambda w: {"body": "您好"}, label="reply"),
    Endpoint(
        "POST",
        T + "/replies",
        (VIEW,),
        201,
        json=lambda w: {"kind": "note", "body": "内部记录"},
        label="note",
    ),
    Endpoint("POST", T + "/attachments", (VIEW,), 201, form=_photo),
    Endpoint("GET", T + "/events/{w.attachment.pk}/attachment", (VIEW,)),
    Endpoint("GET", T + "/mails", (VIEW,)),
    Endpoint("POST", "/tickets/{w.failed_mail.ticket_id}/mails/{w.failed_mail.pk}/retry", (VIEW, CHANGE)),
    Endpoint("POST", T + "/claim", (VIEW, CHANGE)),
    Endpoint(
        "POST",
        T + "/assign",
        (VIEW, "tickets.assign_ticket"),
        json=lambda w: {"assignee_id": w.handler.pk, "reason": "分派"},
    ),
    Endpoint("POST", T + "/transitions", (VIEW, CHANGE), json=lambda w: {"action": "wait"}),
    Endpoint("POST", T + "/callback", (VIEW, CHANGE), json=lambda w: {"note": "已回电"}),
    Endpoint(
        "POST",
        "/tickets/{w.complaint.pk}/complaint/steps",
        (VIEW, CHANGE),
        json=lambda w: {"step": 2, "note": "调查核实"},
    ),
    Endpoint(
        "POST",
        "/tickets/{w.proposing.pk}/complaint/approval-request",
        (VIEW, CHANGE),
        json=lambda w: {"proposal": "补发配件"},
    ),
    Endpoint(
        "POST",
        "/tickets/{w.awaiting_approval.pk}/complaint/decision",
        (VIEW, "tickets.approve_complaint"),
        json=lambda w: {"approve": True, "note": "同意"},
    ),
    Endpoint(
        "PATCH",
        "/tickets/{w.after_sales.pk}/after-sales",
        (VIEW, CHANGE),
        json=lambda w: {"order_number": "TB1"},
    ),
    Endpoint(
        "POST",
        "/tickets/{w.after_sales.pk}/after-sales/remarks",
        (VIEW, CHANGE),
        201,
        json=lambda w: {"change": "收货地址为杭州"},
    ),
    Endpoint("GET", "/canned-replies", ("tickets.view_cannedreply",)),
    Endpoint(
        "POST",
        "/canned-replies",
        ("tickets.add_cannedreply",),
        201,
        json=lambda w: {"title": "致歉", "body": "非常抱歉"},
    ),
    Endpoint(
        "PATCH",
        "/canned-replies/{w.canned.pk}",
        ("tickets.view_cannedreply", "tickets.change_cannedreply"),
        json=lambda w: {"title": "问候语"},
    ),
    Endpoint(
        "DELETE",
        "/canned-replies/{w.canned.pk}",
        ("tickets.view_cannedreply", "tickets.delete_cannedreply"),
        204,
    ),
    Endpoint("GET", "/canned-replies/{w.canned.pk}/render", ("tickets.view_cannedreply",)),
    Endpoint("GET", "/complaint-categories", (VIEW,)),
    Endpoint("GET", "/ticket-groups", ("tickets.view_ticketgroup",)),
    Endpoint(
        "POST",
        "/ticket-groups",
        ("tickets.add_ticketgroup",),
        201,
        json=lambda w: {"name": "新组", "department_id": w.user.department_id},
    ),
    Endpoint(
        "PATCH",
        "/ticket-groups/{w.group.pk}",
        ("tickets.view_ticketgroup", "tickets.change_ticketgroup"),
        json=lambda w: {"assign_mode": "round_robin"},
    ),
    Endpoint("GET", "/sla-policies", ("tickets.view_slapolicy",)),
    Endpoint("GET", "/sla-policies/current", ("tickets.view_slapolicy",)),
    Endpoint(
        "POST",
        "/sla-policies",
        ("tickets.add_slapolicy",),
        201,
        json=lambda w: {
            "effective_from": _tomorrow(),
            "targets": [{"first_response_minutes": 60, "resolution_minutes": 480}],
        },
    ),
    # One's own notifications need no right beyond being signed in.
    Endpoint("GET", "/notifications", ()),
    Endpoint("POST", "/notifications/read", (), json=lambda w: {}),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_ticket_endpoint_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role, endpoint, make_user, api_as, world
):
    user = make_user(role, username=role)
    w = world(user)
    response = endpoint.call(api_as(user), w)
    if role_has(role, endpoint.perms):
        assert response.status_code == endpoint.ok, (role, endpoint.id, response.content[:300])
    else:
        assert response.status_code == 403, (role, endpoint.id, response.status_code, response.content[:300])
        body = response.json()
        assert body["code"] == "permission_denied" and body["message"]


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.perms], ids=lambda e: e.id)
def test_user_without_a_role_is_refused_by_every_ticket_endpoint(endpoint, make_user, api_as, world):
    user = make_user(None, department="centre")
    response = endpoint.call(api_as(user), world(user))
    assert response.status_code == 403, response.content[:300]
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_anonymous_caller_of_a_ticket_endpoint_gets_401_json(endpoint, make_user, world):
    response = endpoint.call(Client(), world(make_user("manager")))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_ticket_endpoint_is_in_the_permission_table():
    routes = {
        f"{method} {path}"
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == {e.operation for e in ENDPOINTS}
