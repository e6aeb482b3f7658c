"""Time limits in working time: weekends, public holidays, 调休 Saturdays, waiting, escalation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.models import Notification
from kefu.tickets import services, sla
from kefu.tickets.models import EventKind, SlaPolicy, SlaStatus

pytestmark = pytest.mark.django_db


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=timezone.get_current_timezone())


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def test_inquiry_opened_friday_afternoon_is_due_monday(clock: Clock, open_ticket: Any) -> None:
    clock.set(at(2026, 11, 20, 16, 0))  # Friday; inquiry: first response 2 h, resolution 1 working day
    ticket = open_ticket(kind="inquiry")
    assert ticket.first_response_due_at == at(2026, 11, 20, 18, 0)
    assert ticket.resolution_due_at == at(2026, 11, 23, 16, 0)


def test_complaint_opened_before_national_day_is_due_after_the_holiday(
    clock: Clock, open_ticket: Any, users: dict[str, Any]
) -> None:
    clock.set(at(2026, 9, 30, 17, 0))  # last working hour before 1–7 October
    ticket = open_ticket(actor=users["supervisor"], kind="complaint", subject="质量问题")
    assert ticket.first_response_due_at == at(2026, 9, 30, 18, 0)
    # three working days = 24 h: 1 h on 30 Sept, then 8 Oct, 9 Oct, and the 调休 Saturday 10 Oct
    assert ticket.resolution_due_at == at(2026, 10, 10, 17, 0)


def test_make_up_saturday_counts_as_working_time(clock: Clock, open_ticket: Any) -> None:
    clock.set(at(2026, 10, 9, 17, 0))  # Friday before the 调休 Saturday 10 October
    ticket = open_ticket(kind="inquiry")
    assert ticket.first_response_due_at == at(2026, 10, 10, 10, 0)


def test_tier_a_customer_gets_the_shorter_limit(clock: Clock, open_ticket: Any, customer: Any) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    customer.tier = "A"
    customer.save()
    # the tier-A row (1 h / 2 days) and the repair row (2 h / 2 days) tie: the stricter of each limit
    ticket = open_ticket(kind="repair")
    assert ticket.first_response_due_at == at(2026, 11, 23, 10, 0)
    assert ticket.resolution_due_at == at(2026, 11, 24, 18, 0)
    complaint = open_ticket(kind="complaint")  # the complaint × tier A row names two fields: it wins
    assert complaint.first_response_due_at == at(2026, 11, 23, 9, 30)


def test_waiting_for_the_customer_pauses_the_clock(
    clock: Clock, open_ticket: Any, users: dict[str, Any]
) -> None:
    clock.set(at(2026, 11, 23, 9, 0))  # Monday
    ticket = open_ticket(kind="inquiry")
    due = ticket.resolution_due_at
    clock.set(at(2026, 11, 23, 10, 0))
    ticket = services.ticket_transition(actor=users["agent"], ticket=ticket, action="wait")
    clock.set(at(2026, 11, 24, 10, 0))  # waited one working day
    assert services.tickets_check_sla(now=at(2026, 11, 24, 10, 0)).breached == 0
    ticket = services.ticket_transition(actor=users["agent"], ticket=ticket, action="resume")
    assert ticket.paused_minutes == 8 * 60
    assert ticket.resolution_due_at == sla_add(due, hours=8)


def sla_add(moment: dt.datetime, *, hours: int) -> dt.datetime:
    from kefu.core import calendar

    return calendar.add_working_time(moment, dt.timedelta(hours=hours))


def test_priority_change_recomputes_deadlines(clock: Clock, open_ticket: Any, users: dict[str, Any]) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    ticket = open_ticket(kind="suggestion")
    assert ticket.first_response_due_at == at(2026, 11, 23, 18, 0)
    ticket = services.ticket_update(actor=users["agent"], ticket=ticket, data={"priority": "urgent"})
    assert ticket.first_response_due_at == at(2026, 11, 23, 9, 30)
    assert ticket.events.filter(kind=EventKind.SLA).exists()


def test_check_flags_at_risk_then_breached_then_manager(
    clock: Clock, open_ticket: Any, users: dict[str, Any]
) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    ticket = open_ticket(kind="inquiry", assignee=users["agent"])  # first response due 11:00
    result = services.tickets_check_sla(now=at(2026, 11, 23, 10, 40))  # 80 % of 2 h used
    assert result.at_risk == 1
    ticket.refresh_from_db()
    assert ticket.sla_status == SlaStatus.AT_RISK and ticket.escalation_level == 0

    result = services.tickets_check_sla(now=at(2026, 11, 23, 11, 1))
    assert result.breached == 1
    ticket.refresh_from_db()
    assert ticket.sla_status == SlaStatus.BREACHED and ticket.escalation_level == 1
    assert Notification.objects.filter(recipient=users["supervisor"]).count() == 1

    # the manager is told two working hours after the breach, which skips the lunch break
    assert services.tickets_check_sla(now=at(2026, 11, 23, 13, 30)).to_manager == 0
    assert services.tickets_check_sla(now=at(2026, 11, 23, 14, 0)).to_manager == 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2
    assert Notification.objects.filter(recipient=users["manager"]).count() == 1
    assert ticket.events.filter(kind=EventKind.ESCALATION).count() == 2


def test_check_is_idempotent(clock: Clock, open_ticket: Any, users: dict[str, Any]) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    ticket = open_ticket(kind="inquiry")
    later = at(2026, 11, 25, 9, 0)
    first = services.tickets_check_sla(now=later)
    again = services.tickets_check_sla(now=later)
    assert (first.breached, first.to_manager) == (1, 1)
    assert (again.at_risk, again.breached, again.to_manager) == (0, 0, 0)
    # long past both thresholds: one step straight to the manager, telling the supervisor too
    event = ticket.events.get(kind=EventKind.ESCALATION)
    assert event.data["level"] == 2
    assert set(event.data["to"]) == {users["supervisor"].pk, users["manager"].pk}
    assert Notification.objects.filter(recipient=users["supervisor"]).count() == 1


def test_a_backlog_is_one_message_per_person(clock: Clock, open_ticket: Any, users: dict[str, Any]) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    for _ in range(services.NOTIFY_ONE_BY_ONE + 1):
        open_ticket(kind="inquiry", assignee=users["agent"])
    result = services.tickets_check_sla(now=at(2026, 11, 23, 11, 30))
    assert result.breached == services.NOTIFY_ONE_BY_ONE + 1
    for person in ("supervisor", "agent"):
        (message,) = Notification.objects.filter(recipient=users[person])
        assert (
            message.url == "/tickets/?queue=breached"
            and str(services.NOTIFY_ONE_BY_ONE + 1) in message.message
        )


def test_closed_and_waiting_tickets_are_not_escalated(
    clock: Clock, open_ticket: Any, users: dict[str, Any]
) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    closed = open_ticket(kind="inquiry")
    services.ticket_transition(actor=users["agent"], ticket=closed, action="close")
    waiting = open_ticket(kind="inquiry")
    services.ticket_transition(actor=users["agent"], ticket=waiting, action="wait")
    assert services.tickets_check_sla(now=at(2026, 12, 1, 9, 0)).breached == 0


def test_a_year_without_schedule_uses_monday_to_friday(clock: Clock, open_ticket: Any) -> None:
    from kefu.core import calendar

    assert not calendar.has_schedule(2027)
    clock.set(at(2027, 1, 8, 17, 0))  # a Friday in 2027, no State Council schedule entered yet
    ticket = open_ticket(kind="inquiry")
    assert ticket.first_response_due_at == at(2027, 1, 11, 10, 0)


def test_ticket_keeps_the_policy_version_it_opened_under(
    clock: Clock, open_ticket: Any, users: dict[str, Any]
) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    old = open_ticket(kind="inquiry")
    policy = services.sla_policy_create(
        actor=users["manager"],
        effective_from=dt.date(2026, 11, 23),
        at_risk_percent=50,
        manager_after_minutes=60,
        targets=[{"first_response_minutes": 10, "resolution_minutes": 60}],
    )
    new = open_ticket(kind="inquiry")
    assert new.sla_policy == policy and old.sla_policy != policy
    assert new.first_response_due_at == at(2026, 11, 23, 9, 10)
    old.refresh_from_db()
    assert old.first_response_due_at == at(2026, 11, 23, 11, 0)


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([], "targets"),
        ([{"kind": "inquiry", "first_response_minutes": 10, "resolution_minutes": 60}], "targets"),
        ([{"first_response_minutes": 100, "resolution_minutes": 60}], "targets.0.resolution_minutes"),
        ([{"first_response_minutes": "x", "resolution_minutes": 60}], "targets.0.first_response_minutes"),
        ([{"tier": "D", "first_response_minutes": 1, "resolution_minutes": 60}], "targets.0.tier"),
    ],
)
def test_bad_sla_policy_is_refused(users: dict[str, Any], targets: list[dict[str, Any]], field: str) -> None:
    from kefu.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        services.sla_policy_create(
            actor=users["manager"],
            effective_from=timezone.localdate(),
            at_risk_percent=80,
            manager_after_minutes=60,
            targets=targets,
        )
    assert field in caught.value.detail
    assert SlaPolicy.objects.count() == 1


def test_remaining_time_is_working_time(clock: Clock, open_ticket: Any) -> None:
    clock.set(at(2026, 11, 20, 17, 0))  # Friday 17:00; first response due Monday 10:00
    ticket = open_ticket(kind="inquiry")
    assert sla.remaining(ticket, now=at(2026, 11, 21, 12, 0)) == dt.timedelta(hours=1)
    assert sla.remaining(ticket, now=at(2026, 11, 23, 11, 0)) == -dt.timedelta(hours=1)


def test_check_queries_do_not_grow_with_the_number_of_tickets(
    clock: Clock, open_ticket: Any, users: dict[str, Any]
) -> None:
    """Supervisors are looked up once per department; events and notifications go in one insert each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    clock.set(at(2026, 11, 23, 9, 0))
    open_ticket(kind="inquiry", assignee=users["agent"])
    with CaptureQueriesContext(connection) as one:
        first = services.tickets_check_sla(now=at(2026, 11, 26, 9, 0))
    assert (first.breached, first.to_manager) == (1, 1)
    for _ in range(4):
        open_ticket(kind="inquiry", assignee=users["agent"])
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as four:
        second = services.tickets_check_sla(now=at(2026, 11, 27, 9, 0))
    assert (second.breached, second.to_manager) == (4, 4)
    assert len(four.captured_queries) == len(one.captured_queries)
    # each of the four goes straight to the manager, telling the supervisor and the agent once
    for person in ("supervisor", "manager", "agent"):
        assert Notification.objects.filter(recipient=users[person]).count() == 4
