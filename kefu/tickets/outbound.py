"""Replies leave Kefu here: by email when the customer wrote by email (or gave an address)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from kefu.tickets.models import Channel, EventKind, TicketEvent

log = logging.getLogger(__name__)


def reply_subject(event: TicketEvent) -> str:
    return f"[{event.ticket.number}] {event.ticket.subject}"


def deliver_reply(event_id: int) -> bool:
    """Send a reply to the customer by email; False when there is no address to send to."""
    event = (
        TicketEvent.objects.select_related("ticket", "actor")
        .filter(pk=event_id, kind=EventKind.REPLY)
        .first()
    )
    if event is None or event.internal:
        return False
    ticket = event.ticket
    if ticket.channel != Channel.EMAIL or not ticket.contact_email:
        return False
    message = EmailMessage(
        subject=reply_subject(event),
        body=event.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[ticket.contact_email],
        headers={"X-Kefu-Ticket": ticket.number},
    )
    if event.attachment:
        with event.attachment.open("rb") as handle:
            message.attach(event.attachment_name, handle.read())
    try:
        message.send()
    except OSError as exc:
        log.warning("reply %s to %s not sent: %s", event.pk, ticket.number, exc)
        TicketEvent.objects.filter(pk=event.pk).update(
            data={**event.data, "delivery": "failed", "error": str(exc)[:200]}
        )
        return False
    TicketEvent.objects.filter(pk=event.pk).update(data={**event.data, "delivery": "sent"})
    return True
