"""Two agents click "claim" at the same moment: one wins, the other is told who has it."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.core.errors import Conflict
from kefu.tickets import services
from kefu.tickets.models import EventKind, Ticket
from tests.threads import run_at_once


@pytest.mark.django_db(transaction=True)
def test_claim_at_once_has_exactly_one_winner(
    open_ticket: Any, make_user: Any, users: dict[str, Any]
) -> None:
    ticket = open_ticket(actor=users["supervisor"])
    agents = [make_user("agent", full_name=f"坐席{n}") for n in range(2)]
    outcomes: dict[int, str] = {}

    def claim(agent: Any) -> None:
        try:
            services.ticket_claim(actor=agent, ticket=Ticket.objects.get(pk=ticket.pk))
            outcomes[agent.pk] = "won"
        except Conflict as exc:
            outcomes[agent.pk] = exc.code

    run_at_once(claim, agents, timeout=30)
    assert sorted(outcomes.values()) == ["already_claimed", "won"]
    winner = next(pk for pk, outcome in outcomes.items() if outcome == "won")
    ticket.refresh_from_db()
    assert ticket.assignee_id == winner
    assert ticket.events.filter(kind=EventKind.ASSIGNMENT).count() == 1


@pytest.mark.django_db(transaction=True)
def test_intakes_at_once_get_distinct_numbers_in_order(users: dict[str, Any], customer: Any) -> None:
    """On PostgreSQL the number is taken in a statement of its own, before the write; never twice."""
    agents = [users["agent"], users["supervisor"], users["complaint_specialist"], users["manager"]]

    def intake(agent: Any) -> None:
        for n in range(5):
            services.ticket_create(
                actor=agent,
                data=services.TicketInput(kind="complaint", channel="hotline", subject=f"同时来电 {n}"),
            )

    errors = run_at_once(intake, agents)
    assert not errors
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 20
    assert [int(number.rsplit("-", 1)[1]) for number in numbers] == list(range(1, 21))
    assert all(ticket.steps.count() == 1 for ticket in Ticket.objects.all())


@pytest.mark.django_db(transaction=True)
def test_a_refused_intake_takes_no_number(users: dict[str, Any]) -> None:
    from kefu.core.errors import ValidationFailed

    bad = services.TicketInput(
        kind="after_sales", channel="wangwang", subject="换货", after_sales={"case_type": "swap"}
    )
    with pytest.raises(ValidationFailed):
        services.ticket_create(actor=users["agent"], data=bad)
    good = services.ticket_create(
        actor=users["agent"], data=services.TicketInput(kind="inquiry", channel="hotline", subject="问")
    )
    assert good.number.endswith("-000001") and Ticket.objects.count() == 1
