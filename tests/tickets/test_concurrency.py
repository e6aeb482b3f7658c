"""Two agents click "claim" at the same moment: one wins, the other is told who has it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from kefu.core.errors import Conflict
from kefu.tickets import services
from kefu.tickets.models import EventKind, Ticket


@pytest.mark.django_db(transaction=True)
def test_claim_at_once_has_exactly_one_winner(
    open_ticket: Any, make_user: Any, users: dict[str, Any]
) -> None:
    ticket = open_ticket(actor=users["supervisor"])
    agents = [make_user("agent", full_name=f"坐席{n}") for n in range(2)]
    barrier = threading.Barrier(len(agents))
    outcomes: dict[int, str] = {}

    def claim(agent: Any) -> None:
        try:
            barrier.wait(timeout=10)
            services.ticket_claim(actor=agent, ticket=Ticket.objects.get(pk=ticket.pk))
            outcomes[agent.pk] = "won"
        except Conflict as exc:
            outcomes[agent.pk] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["already_claimed", "won"]
    winner = next(pk for pk, outcome in outcomes.items() if outcome == "won")
    ticket.refresh_from_db()
    assert ticket.assignee_id == winner
    assert ticket.events.filter(kind=EventKind.ASSIGNMENT).count() == 1
