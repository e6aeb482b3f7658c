"""Replies leave Kefu here: by email when the customer wrote by email (or gave an address).

Each reply gets a Message-ID we make and keep before sending, In-Reply-To the customer's last
message and References to the thread, and the ticket number in the subject, so the customer's
mail program keeps the conversation together and their answer finds its way back to the ticket.
The reply itself is on the timeline before delivery is tried, with its mail row queued: a failure
is recorded on that row (and the job retried; the handler may retry by hand), never a lost reply.
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from kefu.tickets.models import Channel, EventKind, MailDirection, MailStatus, Ticket, TicketEvent, TicketMail

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


def will_mail(ticket: Ticket) -> bool:
    """Replies go out by email when the customer wrote by email and an address is known."""
    return ticket.channel == Channel.EMAIL and bool(ticket.contact_email)


def queue_reply(event: TicketEvent) -> TicketMail | None:
    """Inside the reply's transaction: the outgoing mail row, queued, with its Message-ID fixed now.

    The row exists before anything leaves, so the page shows "queued" at once, the customer's
    answer finds the ticket by this Message-ID, and retries keep the same one.
    """
    ticket = event.ticket
    if event.kind != EventKind.REPLY or event.internal or not will_mail(ticket):
        return None
    message_id = make_msgid(domain=message_domain())
    mail = TicketMail.objects.create(
        ticket=ticket,
        event=event,
        message_id=message_id,
        direction=MailDirection.OUT,
        address=ticket.contact_email,
        status=MailStatus.QUEUED,
        status_at=timezone.now(),
    )
    event.data = {**event.data, "message_id": message_id}
    TicketEvent.objects.filter(pk=event.pk).update(data=event.data)
    return mail


def _outgoing(event: TicketEvent) -> TicketMail:
    """The reply's mail row; a reply queued by an older version has none yet and gets one here."""
    mail = TicketMail.objects.filter(event=event, direction=MailDirection.OUT).order_by("id").first()
    if mail is not None:
        return mail
    message_id = event.data.get("message_id") or make_msgid(domain=message_domain())
    mail, _created = TicketMail.objects.get_or_create(
        message_id=message_id,
        defaults={
            "ticket_id": event.ticket_id,
            "event": event,
            "direction": MailDirection.OUT,
            "address": event.ticket.contact_email,
            "status": MailStatus.QUEUED,
            "status_at": timezone.now(),
        },
    )
    return mail


def _record(mail: TicketMail, **changes: object) -> None:
    changes["status_at"] = timezone.now()
    TicketMail.objects.filter(pk=mail.pk).update(**changes)


def deliver_reply(event_id: int) -> bool:
    """Send a reply to the customer by email; False when there is nothing to send or it cannot be sent.

    Idempotent: a reply already sent, or being sent by another worker, is not sent again (the
    worker that moves the row from queued/failed to sending is the one that sends). Raises
    DeliveryFailed after recording a failure that may pass, so the job is retried.
    """
    from kefu.tickets.mail_services import thread_headers

    event = (
        TicketEvent.objects.select_related("ticket", "actor")
        .filter(pk=event_id, kind=EventKind.REPLY)
        .first()
    )
    if event is None or event.internal:
        return False
    ticket = event.ticket
    if not will_mail(ticket):
        return False
    mail = _outgoing(event)
    if mail.status == MailStatus.SENT:
        return True
    claimed = TicketMail.objects.filter(pk=mail.pk, status__in=[MailStatus.QUEUED, MailStatus.FAILED]).update(
        status=MailStatus.SENDING,
        attempts=F("attempts") + 1,
        address=ticket.contact_email,
        status_at=timezone.now(),
    )
    if not claimed:
        return False
    mail.refresh_from_db()
    headers = {
        "Message-ID": mail.message_id,
        "X-Kefu-Ticket": ticket.number,
        **thread_headers(ticket, exclude=mail.message_id),
    }
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
        _record(mail, status=MailStatus.FAILED, error=str(exc)[:500], permanent=True)
        return False
    except OSError as exc:  # smtplib's errors, refused connections and timeouts are all OSErrors
        log.warning("reply %s to %s not sent (attempt %s): %s", event.pk, ticket.number, mail.attempts, exc)
        _record(mail, status=MailStatus.FAILED, error=str(exc)[:500], permanent=False)
        raise DeliveryFailed(str(exc)) from exc
    _record(mail, status=MailStatus.SENT, sent_at=timezone.now(), error="", permanent=False)
    return True
