"""The nine-step complaint process: order, the supervisor's approval, classification, close, archive."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.core.models import Notification
from kefu.tickets import services
from kefu.tickets.models import ApprovalState, ComplaintCategory, ComplaintStep, EventKind, TicketState
from kefu.tickets.signals import complaint_closed

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(users: dict[str, Any], make_user: Any) -> dict[str, Any]:
    """The complaint centre has its own supervisor; the centre's would not see its cases."""
    return {
        **users,
        "supervisor": make_user("supervisor", department="complaints", username="complaint_supervisor"),
    }


@pytest.fixture
def customer(users: dict[str, Any]) -> Any:
    from tests.factories import make_customer

    return make_customer(
        actor=users["manager"],
        name="济南清源水务有限公司",
        department=users["complaint_specialist"].department,
    )


@pytest.fixture
def complaint(open_ticket: Any, users: dict[str, Any]) -> Any:
    return open_ticket(
        actor=users["complaint_specialist"],
        kind="complaint",
        channel="complaint_hotline",
        subject="技术员上门迟到两小时",
        description="客户反映技术员约定上午九点上门,实际十一点才到",
        apologised=True,
    )


def _walk_to_approval(ticket: Any, actor: Any) -> Any:
    ticket = services.complaint_step_complete(
        actor=actor, ticket=ticket, step=2, note="核实派工记录,确有迟到"
    )
    ticket = services.complaint_step_complete(
        actor=actor, ticket=ticket, step=3, note="前一单超时,未及时通知客户"
    )
    return services.complaint_request_approval(actor=actor, ticket=ticket, proposal="致歉并减免本次上门费")


def test_intake_records_step_one_with_the_apology(complaint: Any) -> None:
    step = complaint.steps.get()
    assert step.step == ComplaintStep.RECEIVE and step.data == {"apologised": True}
    assert complaint.complaint_step == ComplaintStep.INVESTIGATE
    assert complaint.severity == "general"


def test_steps_go_in_order(complaint: Any, users: dict[str, Any]) -> None:
    with pytest.raises(Conflict) as caught:
        services.complaint_step_complete(
            actor=users["complaint_specialist"], ticket=complaint, step=3, note="x"
        )
    assert caught.value.code == "wrong_step"


def test_step_needs_a_note(complaint: Any, users: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        services.complaint_step_complete(
            actor=users["complaint_specialist"], ticket=complaint, step=2, note=" "
        )
    assert complaint.steps.count() == 1


def test_step_four_is_only_done_by_approval(complaint: Any, users: dict[str, Any]) -> None:
    specialist = users["complaint_specialist"]
    ticket = services.complaint_step_complete(actor=specialist, ticket=complaint, step=2, note="核实")
    ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=3, note="分析")
    with pytest.raises(Conflict):
        services.complaint_step_complete(actor=specialist, ticket=ticket, step=4, note="自己批")


def test_carrying_out_needs_the_supervisors_approval(complaint: Any, users: dict[str, Any]) -> None:
    ticket = _walk_to_approval(complaint, users["complaint_specialist"])
    assert ticket.approval_state == ApprovalState.REQUESTED
    with pytest.raises(Conflict):
        services.complaint_step_complete(
            actor=users["complaint_specialist"], ticket=ticket, step=5, note="已执行"
        )


def test_agent_cannot_approve(complaint: Any, users: dict[str, Any]) -> None:
    ticket = _walk_to_approval(complaint, users["complaint_specialist"])
    with pytest.raises(PermissionDenied):
        services.complaint_decide(actor=users["agent"], ticket=ticket, approve=True)


def test_supervisor_cannot_approve_own_proposal(open_ticket: Any, users: dict[str, Any]) -> None:
    supervisor = users["supervisor"]
    ticket = open_ticket(actor=supervisor, kind="complaint", subject="态度差")
    ticket = _walk_to_approval(ticket, supervisor)
    with pytest.raises(PermissionDenied):
        services.complaint_decide(actor=supervisor, ticket=ticket, approve=True)


def test_rejection_needs_a_reason_and_allows_a_new_proposal(complaint: Any, users: dict[str, Any]) -> None:
    ticket = _walk_to_approval(complaint, users["complaint_specialist"])
    with pytest.raises(ValidationFailed):
        services.complaint_decide(actor=users["supervisor"], ticket=ticket, approve=False)
    ticket = services.complaint_decide(
        actor=users["supervisor"], ticket=ticket, approve=False, note="补偿过高"
    )
    assert ticket.approval_state == ApprovalState.REJECTED and ticket.complaint_step == ComplaintStep.PROPOSE
    ticket = services.complaint_request_approval(
        actor=users["complaint_specialist"], ticket=ticket, proposal="致歉"
    )
    assert ticket.approval_state == ApprovalState.REQUESTED


def test_complaint_cannot_close_without_approval(complaint: Any, users: dict[str, Any]) -> None:
    with pytest.raises(Conflict) as caught:
        services.ticket_transition(actor=users["supervisor"], ticket=complaint, action="close")
    assert caught.value.code == "complaint_step_missing"
    complaint.refresh_from_db()
    assert complaint.state == TicketState.OPEN


def test_complaint_cannot_close_without_classification(complaint: Any, users: dict[str, Any]) -> None:
    specialist = users["complaint_specialist"]
    ticket = _walk_to_approval(complaint, specialist)
    ticket = services.complaint_decide(actor=users["supervisor"], ticket=ticket, approve=True, note="同意")
    ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=5, note="已致歉并减免")
    ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=6, note="客户接受")
    with pytest.raises(Conflict):
        services.ticket_transition(actor=specialist, ticket=ticket, action="close")
    with pytest.raises(ValidationFailed):
        services.complaint_step_complete(actor=specialist, ticket=ticket, step=7, note="分类")


def test_whole_process_closes_emits_event_and_archives(
    complaint: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    received: list[dict[str, Any]] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    complaint_closed.connect(listener)
    try:
        specialist = users["complaint_specialist"]
        ticket = _walk_to_approval(complaint, specialist)
        ticket = services.complaint_decide(
            actor=users["supervisor"], ticket=ticket, approve=True, note="同意"
        )
        assert ticket.approved_by == users["supervisor"]
        ticket = services.complaint_step_complete(
            actor=specialist, ticket=ticket, step=5, note="已致歉并减免"
        )
        ticket = services.ticket_transition(actor=specialist, ticket=ticket, action="resolve", note="已解决")
        ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=6, note="客户接受")
        category = ComplaintCategory.objects.get(name="服务态度")
        ticket = services.complaint_step_complete(
            actor=specialist, ticket=ticket, step=7, note="归为服务类", category=category
        )
        with pytest.raises(Conflict):
            services.complaint_step_complete(actor=specialist, ticket=ticket, step=8, note="改进")
        with django_capture_on_commit_callbacks(execute=True):
            ticket = services.ticket_transition(actor=specialist, ticket=ticket, action="close")
        assert received == [
            {"signal": complaint_closed, "ticket_id": ticket.pk, "closed_at": ticket.closed_at}
        ]
        ticket = services.complaint_step_complete(
            actor=specialist, ticket=ticket, step=8, note="加强预约提醒"
        )
        ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=9, note="归档")
    finally:
        complaint_closed.disconnect(listener)
    assert ticket.state == TicketState.ARCHIVED
    assert list(ticket.steps.values_list("step", flat=True)) == list(range(1, 10))
    assert ticket.steps.get(step=4).done_by == specialist
    with pytest.raises(Conflict):
        services.ticket_reply(actor=specialist, ticket=ticket, body="再补充")


def test_major_complaint_notifies_the_manager_at_once(
    open_ticket: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(
            actor=users["complaint_specialist"],
            kind="complaint",
            severity="major",
            subject="设备漏水造成损失",
        )
    assert Notification.objects.filter(recipient=users["manager"], url=f"/tickets/{ticket.pk}/").exists()
    assert ticket.events.filter(kind=EventKind.ESCALATION).exists()


def test_approval_request_notifies_supervisors(
    complaint: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _walk_to_approval(complaint, users["complaint_specialist"])
    assert Notification.objects.filter(recipient=users["supervisor"]).exists()
