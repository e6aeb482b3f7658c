"""Listens to the tickets' events, so the tickets app never imports surveys."""

from __future__ import annotations

from typing import Any


def on_ticket_closed(sender: Any, ticket_id: int, **kwargs: Any) -> None:
    from kefu.surveys.tasks import invite_after_ticket_closed

    invite_after_ticket_closed(ticket_id)


def connect() -> None:
    from kefu.tickets.signals import ticket_closed

    ticket_closed.connect(on_ticket_closed, dispatch_uid="surveys.after_ticket_closed")
