"""Replies leave Kefu here: by email when the customer wrote by email (or gave an address).

Each reply gets a Message-ID we make and keep before sending, In-Reply-To the customer's last
message and References to the thread, and the ticket number in the subject, so the customer's
mail program keeps the conversation together and their answer finds its way back to the ticket.
The reply itself is on the timeline before delivery is tried: a failure is recorded on the event
(and the job retried), never a lost reply.
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from kefu.tickets.models import Channel, EventKind, TicketEvent

log = logging.getLogger(__name__)

# The server refused this recipient or sender for good: trying again later would not help.
PERMANENT_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)


class DeliveryFailed(Exception):
    """Sending failed for a reason that may pass (server down, timeout); the job tries again."""


def reply_subject(event: TicketEvent) -> str:
    return f"[{event.ticket.number}] {event.ticket.subject}"


def message_domain() -> str:
    """Our Message-IDs end in the sending address's domain, as mail servers expect."""
    address = str(settings.DEFAULT_FROM_EMAIL).rsplit("<", 1)[-1].rstrip(">").strip()
    domain = address.rsplit("@", 1)[-1] if "@" in address else ""
    return domain or "kefu.localdomain"


def deliver_reply(event_id: int) -> bool:
    """Send a reply to the customer by email; False when there is nothing to send or it cannot be sent.

    Idempotent: a reply already delivered is not sent again when the job runs twice.
    Raises DeliveryFailed after recording a failure that may pass, so the job is retried.
    """
    from kefu.tickets.mail_services import mail_record_delivery, mail_record_sent, thread_headers

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
    if event.data.get("delivery") == "sent":
        return True
    message_id = event.data.get("message_id") or make_msgid(domain=message_domain())
    headers = {
        "Message-ID": message_id,
        "X-Kefu-Ticket": ticket.number,
        **thread_headers(ticket, exclude=message_id),
    }
    mail_record_sent(event=event, message_id=message_id, address=ticket.contact_email)
    attempts = int(event.data.get("attempts", 0)) + 1
    mail_record_delivery(event=event, message_id=message_id, delivery="sending", attempts=attempts)
    message = EmailMessage(
        subject=reply_subject(event),
        body=event.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[ticket.contact_email],
        headers=headers,
    )
    if event.attachment:
        content_type = mimetypes.guess_type(event.attachment_name)[0] or "application/octet-stream"
        with event.attachment.open("rb") as handle:
            message.attach(event.attachment_name, handle.read(), content_type)
    try:
        message.send()
    except PERMANENT_ERRORS as exc:
        log.warning("reply %s to %s refused: %s", event.pk, ticket.number, exc)
        mail_record_delivery(event=event, delivery="failed", error=str(exc)[:200], permanent=True)
        return False
    except OSError as exc:  # smtplib's errors, refused connections and timeouts are all OSErrors
        log.warning("reply %s to %s not sent (attempt %s): %s", event.pk, ticket.number, attempts, exc)
        mail_record_delivery(event=event, delivery="failed", error=str(exc)[:200])
        raise DeliveryFailed(str(exc)) from exc
    mail_record_delivery(
        event=event, delivery="sent", sent_at=timezone.now().isoformat(), error="", permanent=False
    )
    return True
