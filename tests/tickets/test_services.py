"""Intake, timeline, assignment and the state table of tickets."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.core.models import Notification
from kefu.tickets import services
from kefu.tickets.models import AssignMode, EventKind, Ticket, TicketEvent, TicketState
from kefu.tickets.services import TicketInput, ticket_create

pytestmark = pytest.mark.django_db


def test_intake_opens_ticket_with_number_deadlines_and_created_event(open_ticket: Any) -> None:
    ticket = open_ticket(contact_phone="+86 138-0013-8000", description="设备噪音大")
    assert ticket.number.startswith("GD") and ticket.state == TicketState.OPEN
    assert ticket.contact_phone == "13800138000"
    assert ticket.first_response_due_at < ticket.resolution_due_at
    assert ticket.sla_policy is not None
    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.CREATED]


def test_answered_on_the_call_is_closed_at_once(open_ticket: Any, users: dict[str, Any]) -> None:
    ticket = open_ticket(answer="保养周期为每季度一次")
    assert ticket.state == TicketState.CLOSED and ticket.answered_on_first_contact
    assert ticket.assignee == users["agent"] and ticket.first_responded_at is not None
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.ASSIGNMENT, EventKind.REPLY, EventKind.STATE]


def test_complaint_cannot_be_answered_on_the_call(open_ticket: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        open_ticket(kind="complaint", answer="已处理")
    assert "answer" in caught.value.detail
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "gossip"),
        ("channel", "pigeon"),
        ("subject", "  "),
        ("contact_phone", "12345"),
        ("contact_email", "x@"),
    ],
)
def test_bad_intake_is_refused_and_nothing_written(open_ticket: Any, field: str, value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        open_ticket(**{field: value})
    assert field in caught.value.detail
    assert not Ticket.objects.exists() and not TicketEvent.objects.exists()


def test_technician_cannot_open_tickets(open_ticket: Any, users: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        open_ticket(actor=users["technician"])


def test_first_reply_is_the_first_response_and_notes_are_not(open_ticket: Any, users: dict[str, Any]) -> None:
    ticket = open_ticket()
    services.ticket_reply(actor=users["agent"], ticket=ticket, body="内部记录", kind=EventKind.NOTE)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    services.ticket_reply(actor=users["agent"], ticket=ticket, body="您好,已为您查询")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert ticket.sla_breach_at == ticket.resolution_due_at


def test_reply_with_empty_file_is_refused(open_ticket: Any, users: dict[str, Any]) -> None:
    ticket = open_ticket()
    empty = SimpleUploadedFile("photo.jpg", b"", content_type="image/jpeg")
    with pytest.raises(ValidationFailed):
        services.ticket_reply(
            actor=users["agent"], ticket=ticket, body="", kind=EventKind.NOTE, attachment=empty
        )
    assert ticket.events.count() == 1


def test_claim_twice_second_sees_who_has_it(open_ticket: Any, make_user: Any, users: dict[str, Any]) -> None:
    ticket = open_ticket(actor=users["supervisor"])
    other = make_user("agent", full_name="李娜")
    services.ticket_claim(actor=other, ticket=ticket)
    with pytest.raises(Conflict) as caught:
        services.ticket_claim(actor=users["agent"], ticket=ticket)
    assert caught.value.code == "already_claimed" and "李娜" in caught.value.message


def test_transfer_needs_a_reason_and_notifies(
    open_ticket: Any, users: dict[str, Any], make_user: Any
) -> None:
    ticket = open_ticket(actor=users["supervisor"], assignee=users["agent"])
    colleague = make_user("agent")
    with pytest.raises(ValidationFailed):
        services.ticket_assign(actor=users["supervisor"], ticket=ticket, assignee=colleague)
    services.ticket_assign(actor=users["supervisor"], ticket=ticket, assignee=colleague, reason="李工更熟悉")
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    event = ticket.events.filter(kind=EventKind.ASSIGNMENT).last()
    assert event.body == "李工更熟悉" and event.data["transfer"] is True


def test_agent_cannot_assign_to_others(open_ticket: Any, users: dict[str, Any], make_user: Any) -> None:
    ticket = open_ticket()
    with pytest.raises(PermissionDenied):
        services.ticket_assign(actor=users["agent"], ticket=ticket, assignee=make_user("agent"), reason="x")


def test_round_robin_takes_members_in_turn(
    centre_group: Any, open_ticket: Any, users: dict[str, Any]
) -> None:
    centre_group.assign_mode = AssignMode.ROUND_ROBIN
    centre_group.save()
    got = [open_ticket(group=centre_group).assignee for _ in range(4)]
    first, second = sorted([users["agent"], users["supervisor"]], key=lambda u: u.pk)
    assert got == [first, second, first, second]


def test_least_load_picks_the_member_with_fewest_open(
    centre_group: Any, open_ticket: Any, users: dict[str, Any]
) -> None:
    open_ticket(actor=users["supervisor"], assignee=users["agent"])
    centre_group.assign_mode = AssignMode.LEAST_LOAD
    centre_group.save()
    assert open_ticket(group=centre_group).assignee == users["supervisor"]


@pytest.mark.parametrize(
    ("path", "final"),
    [
        (["wait", "resume", "resolve", "close"], TicketState.CLOSED),
        (["resolve", "reopen"], TicketState.OPEN),
        (["close"], TicketState.CLOSED),
        (["wait", "close"], TicketState.CLOSED),
    ],
)
def test_allowed_transitions(open_ticket: Any, users: dict[str, Any], path: list[str], final: str) -> None:
    ticket = open_ticket()
    for action in path:
        ticket = services.ticket_transition(actor=users["agent"], ticket=ticket, action=action, note="说明")
    assert ticket.state == final
    assert ticket.events.filter(kind=EventKind.STATE).count() == len(path)


@pytest.mark.parametrize(
    ("setup", "action"), [([], "resume"), ([], "reopen"), (["close"], "wait"), (["close"], "resolve")]
)
def test_forbidden_transitions(
    open_ticket: Any, users: dict[str, Any], setup: list[str], action: str
) -> None:
    ticket = open_ticket()
    for step in setup:
        ticket = services.ticket_transition(actor=users["agent"], ticket=ticket, action=step)
    with pytest.raises(Conflict) as caught:
        services.ticket_transition(actor=users["agent"], ticket=ticket, action=action, note="x")
    assert caught.value.code == "invalid_transition"


def test_reopening_a_closed_ticket_needs_the_right(open_ticket: Any, users: dict[str, Any]) -> None:
    ticket = services.ticket_transition(actor=users["agent"], ticket=open_ticket(), action="close")
    with pytest.raises(PermissionDenied):
        services.ticket_transition(actor=users["agent"], ticket=ticket, action="reopen", note="客户不认可")
    ticket = services.ticket_transition(
        actor=users["supervisor"], ticket=ticket, action="reopen", note="客户不认可"
    )
    assert ticket.state == TicketState.OPEN and ticket.closed_at is None


def test_stale_version_is_a_conflict(open_ticket: Any, users: dict[str, Any]) -> None:
    ticket = open_ticket()
    services.ticket_transition(actor=users["agent"], ticket=ticket, action="wait")
    with pytest.raises(Conflict):
        services.ticket_transition(
            actor=users["agent"], ticket=ticket, action="close", version=ticket.version
        )


def test_ticket_outside_scope_does_not_exist_for_the_user(open_ticket: Any, make_user: Any) -> None:
    from kefu.core.errors import NotFound

    ticket = open_ticket()
    stranger = make_user("agent", department="tech")
    with pytest.raises(NotFound):
        services.ticket_reply(actor=stranger, ticket=ticket, body="hi")


def test_bulk_close_reports_each_failure(open_ticket: Any, users: dict[str, Any]) -> None:
    plain = open_ticket(actor=users["supervisor"])
    complaint = open_ticket(actor=users["supervisor"], kind="complaint")
    result = services.tickets_bulk_close(actor=users["supervisor"], ticket_ids=[plain.pk, complaint.pk])
    assert result.done == [plain.pk] and complaint.pk in result.failed
    with pytest.raises(PermissionDenied):
        services.tickets_bulk_close(actor=users["agent"], ticket_ids=[plain.pk])


def test_assignment_notifies_the_assignee(
    open_ticket: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(actor=users["supervisor"], assignee=users["agent"])
    assert Notification.objects.filter(recipient=users["agent"]).count() == 1


def test_canned_reply_placeholders_are_filled(open_ticket: Any, users: dict[str, Any]) -> None:
    from kefu.tickets.models import CannedReply

    ticket = open_ticket(contact_name="张三")
    reply = CannedReply(body="{customer_name}您好,我是{agent_name},工单{ticket_number},{unknown}")
    text = services.canned_reply_render(reply, ticket=ticket, agent=users["agent"])
    assert text == f"张三您好,我是{users['agent']},工单{ticket.number},{{unknown}}"


def test_defaults_are_loaded() -> None:
    from kefu.tickets.models import CannedReply, ComplaintCategory, SlaPolicy

    assert SlaPolicy.objects.count() == 1 and SlaPolicy.objects.get().targets.count() >= 10
    assert ComplaintCategory.objects.filter(name="产品质量").exists()
    assert CannedReply.objects.filter(category="silent").exists()


def test_ticket_input_is_one_shape_for_every_channel(users: dict[str, Any]) -> None:
    ticket = ticket_create(
        actor=None,
        data=TicketInput(
            kind="suggestion", channel="web_form", subject="建议延长服务时间", contact_phone="13900139000"
        ),
        skip_permission=True,
    )
    assert ticket.created_by is None and ticket.department is None


def test_intake_for_a_customer_outside_the_scope_is_refused_whatever_columns_were_read(
    users: dict[str, Any], make_user: Any
) -> None:
    from kefu.core.errors import NotFound
    from kefu.customers.models import Customer
    from tests.factories import make_customer

    stranger = make_customer(actor=make_user("agent", department="tech"), department=None)
    for customer in (stranger, Customer.objects.only("id", "name").get(pk=stranger.pk)):
        with pytest.raises(NotFound):
            ticket_create(
                actor=users["agent"],
                data=TicketInput(kind="inquiry", channel="hotline", subject="问", customer=customer),
            )
    assert not Ticket.objects.exists()


def test_intake_for_a_customer_in_scope_needs_no_second_look(users: dict[str, Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_customer

    customer = make_customer(actor=users["agent"])
    with CaptureQueriesContext(connection) as context:
        ticket_create(
            actor=users["agent"],
            data=TicketInput(kind="inquiry", channel="hotline", subject="问", customer=customer),
        )
    assert not [query for query in context.captured_queries if "customers_customer" in query["sql"]]


def test_the_timeline_records_the_opening_and_the_audit_log_the_changes_after(
    open_ticket: Any, users: dict[str, Any]
) -> None:
    from auditlog.models import LogEntry

    from kefu.tickets.selectors import ticket_history

    ticket = open_ticket()
    assert ticket.events.filter(kind=EventKind.CREATED).exists()
    assert not LogEntry.objects.get_for_object(ticket).exists()
    services.ticket_update(
        actor=users["agent"], ticket=ticket, data={"priority": "urgent"}, version=ticket.version
    )
    [entry] = ticket_history(ticket)
    assert entry.changes_dict["priority"][1] == "urgent"
