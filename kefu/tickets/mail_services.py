"""Writes for email: filing an inbound message on its ticket, and recording what we sent.

Mail-in has no staff actor: the mail server (through `kefu mail-in`) or an authenticated program
(through the API) hands over a message, and these services decide where it belongs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.core.errors import Conflict, ValidationFailed
from kefu.core.notifications import notify
from kefu.core.permissions import require_perm, require_visible
from kefu.customers.models import Contact, Customer
from kefu.tickets import sla
from kefu.tickets.mail import ParsedMail, parse_mail
from kefu.tickets.models import (
    Channel,
    EventKind,
    MailDirection,
    MailStatus,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketKind,
    TicketMail,
    TicketState,
)
from kefu.tickets.services import TicketInput, _event, _lock, _save, ticket_create, ticket_url


@dataclass
class MailReceipt:
    ticket: Ticket
    event: TicketEvent | None
    created: bool  # a new ticket was opened
    duplicate: bool  # the same message was filed before; nothing was written this time


def intake_group(kind: str) -> TicketGroup | None:
    """The group that takes tickets arriving without a person: the first active one for the kind.

    A group that lists no kinds takes any kind. Without any group the ticket stays without a
    department and shows in the unassigned queue of those who see all tickets.
    """
    groups = list(TicketGroup.objects.filter(active=True).order_by("name", "id"))
    for group in groups:
        if kind in (group.kinds or []):
            return group
    return next((group for group in groups if not group.kinds), None)


def _match_customer(address: str) -> tuple[Customer | None, Contact | None]:
    """The archive entry of the sender, only when the address points at exactly one."""
    contacts = list(Contact.objects.filter(email__iexact=address).select_related("customer")[:2])
    if len(contacts) == 1:
        return contacts[0].customer, contacts[0]
    if contacts:
        return None, None
    customers = list(Customer.objects.filter(email__iexact=address)[:2])
    if len(customers) == 1:
        return customers[0], None
    return None, None


def _sender_belongs_to(ticket: Ticket, address: str) -> bool:
    if ticket.contact_email and ticket.contact_email.lower() == address:
        return True
    if TicketMail.objects.filter(ticket=ticket, address__iexact=address).exists():
        return True
    if ticket.customer_id is None:
        return False
    return Contact.objects.filter(customer_id=ticket.customer_id, email__iexact=address).exists() or (
        Customer.objects.filter(pk=ticket.customer_id, email__iexact=address).exists()
    )


def find_thread(parsed: ParsedMail) -> Ticket | None:
    """The ticket a message answers: by the Message-IDs it refers to, else by the number in its subject.

    Message-IDs we sent cannot be guessed, so a reference to one is trusted. A ticket number in
    the subject can be typed by anyone, so it counts only when the sender is the ticket's own
    customer; a stranger's mail opens a new ticket instead of landing on someone else's case.
    """
    ids = parsed.thread_ids
    if ids:
        known = {
            mail.message_id: mail.ticket_id
            for mail in TicketMail.objects.filter(message_id__in=ids).only("message_id", "ticket_id")
        }
        for message_id in ids:
            if message_id in known:
                return Ticket.objects.get(pk=known[message_id])
    number = parsed.ticket_number
    if number:
        ticket = Ticket.objects.filter(number=number).first()
        if ticket is not None and _sender_belongs_to(ticket, parsed.sender_email):
            return ticket
    return None


def _attachments(ticket: Ticket, parsed: ParsedMail, *, at: Any) -> list[TicketEvent]:
    events = []
    for item in parsed.attachments:
        event = TicketEvent(
            ticket=ticket,
            kind=EventKind.ATTACHMENT,
            actor=None,
            created_at=at,
            data={
                "message_id": parsed.message_id,
                "from": parsed.sender_email,
                "content_type": item.content_type,
            },
            attachment_name=item.name,
            attachment_size=item.size,
        )
        event.attachment.save(item.name, ContentFile(item.content), save=False)
        event.save()
        events.append(event)
    return events


def _mail_data(parsed: ParsedMail) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "message_id": parsed.message_id,
        "from": parsed.sender_email,
        "from_name": parsed.sender_name,
        "subject": parsed.subject[:200],
    }
    if parsed.refused:
        data["refused_attachments"] = parsed.refused
    if parsed.auto_submitted:
        data["auto_submitted"] = True
    return data


def _body_with_notes(parsed: ParsedMail) -> str:
    body = parsed.body
    if parsed.refused:
        lines = [
            _("Attachment “%(name)s” was not kept: %(reason)s.") % {"name": r["name"], "reason": r["reason"]}
            for r in parsed.refused
        ]
        body = (body + "\n\n" if body else "") + "\n".join(lines)
    return body[:20000]


def _add_to_thread(ticket: Ticket, parsed: ParsedMail) -> TicketEvent:
    locked = _lock(ticket)
    now = timezone.now()
    event = _event(
        locked,
        EventKind.CUSTOMER,
        actor=None,
        body=_body_with_notes(parsed) or parsed.subject,
        data=_mail_data(parsed),
        at=now,
    )
    _attachments(locked, parsed, at=now)
    source = locked.state
    if source in (TicketState.PENDING, TicketState.RESOLVED):
        # The customer answered: the case is back with us, and its clock runs again.
        if source == TicketState.PENDING:
            sla.resume(locked, now=now)
        else:
            locked.resolved_at = None
            locked.resolution_minutes = None
        locked.state = TicketState.OPEN
        _save(locked, None)
        _event(
            locked,
            EventKind.STATE,
            actor=None,
            body=_("The customer replied by email."),
            data={
                "from": source,
                "to": locked.state,
                "action": "resume" if source == TicketState.PENDING else "reopen",
            },
            at=now,
        )
    else:
        Ticket.objects.filter(pk=locked.pk).update(updated_at=now)
    if locked.assignee is not None:
        message = _("The customer wrote on ticket %(number)s: %(subject)s") % {
            "number": locked.number,
            "subject": locked.subject,
        }
        assignee, url = locked.assignee, ticket_url(locked)
        transaction.on_commit(lambda: notify([assignee], message, url=url))
    return event


def _open_ticket(parsed: ParsedMail, *, follow_up_of: Ticket | None) -> tuple[Ticket, TicketEvent]:
    customer, contact = _match_customer(parsed.sender_email)
    description = _body_with_notes(parsed)
    if follow_up_of is not None:
        description = (
            _("Follow-up of the closed ticket %(number)s.") % {"number": follow_up_of.number}
            + "\n\n"
            + description
        )
    kind = TicketKind.INQUIRY
    data = TicketInput(
        kind=kind,
        channel=Channel.EMAIL,
        subject=parsed.clean_subject or _("(no subject)"),
        description=description,
        customer=customer,
        contact=contact,
        contact_name=parsed.sender_name or (contact.name if contact else ""),
        contact_email=parsed.sender_email,
        group=intake_group(kind),
    )
    ticket = ticket_create(actor=None, data=data, skip_permission=True)
    created = ticket.events.get(kind=EventKind.CREATED)
    created.data = {**created.data, **_mail_data(parsed)}
    if follow_up_of is not None:
        created.data["follow_up_of"] = follow_up_of.number
    created.save(update_fields=["data"])
    _attachments(ticket, parsed, at=created.created_at)
    return ticket, created


def mail_receive(*, raw: bytes | str) -> MailReceipt:
    """File one inbound message: on the ticket it answers, or as a new ticket.

    Raises MalformedMail (nothing written) when the message cannot be read. The same message
    delivered again (same Message-ID) writes nothing and answers with its ticket.
    """
    parsed = parse_mail(raw)
    existing = _already_filed(parsed.message_id)
    if existing is not None:
        return existing
    try:
        return _file(parsed)
    except IntegrityError:
        # The same message, delivered twice at the same moment: the other delivery won.
        existing = _already_filed(parsed.message_id)
        if existing is None:
            raise
        return existing


def _already_filed(message_id: str) -> MailReceipt | None:
    mail = TicketMail.objects.filter(message_id=message_id).select_related("ticket", "event").first()
    if mail is None:
        return None
    return MailReceipt(ticket=mail.ticket, event=mail.event, created=False, duplicate=True)


@transaction.atomic
def _file(parsed: ParsedMail) -> MailReceipt:
    ticket = find_thread(parsed)
    follow_up_of = None
    if ticket is not None and ticket.state in (TicketState.CLOSED, TicketState.ARCHIVED):
        # A closed case stays closed (its statistics are final); the new mail is a new case.
        follow_up_of, ticket = ticket, None
    if ticket is not None:
        event = _add_to_thread(ticket, parsed)
        created = False
    else:
        ticket, event = _open_ticket(parsed, follow_up_of=follow_up_of)
        created = True
    TicketMail.objects.create(
        ticket=ticket,
        event=event,
        message_id=parsed.message_id,
        direction=MailDirection.IN,
        address=parsed.sender_email,
    )
    return MailReceipt(ticket=ticket, event=event, created=created, duplicate=False)


# --- outbound ---------------------------------------------------------------------------------


def thread_headers(ticket: Ticket, *, exclude: str = "") -> dict[str, str]:
    """In-Reply-To the customer's last message, References the thread so far (the latest 20)."""
    mails = list(
        TicketMail.objects.filter(ticket=ticket)
        .exclude(message_id=exclude)
        .order_by("-created_at", "-id")
        .values_list("message_id", "direction")[:20]
    )
    headers: dict[str, str] = {}
    last_in = next((message_id for message_id, direction in mails if direction == MailDirection.IN), None)
    if last_in:
        headers["In-Reply-To"] = last_in
    if mails:
        headers["References"] = " ".join(message_id for message_id, _direction in reversed(mails))
    return headers


# A send that never reported back (the worker died mid-send) may be retried after this long.
STALE_SENDING = dt.timedelta(minutes=10)


@transaction.atomic
def ticket_mail_retry(*, actor: User, mail: TicketMail) -> TicketMail:
    """Send a reply whose delivery failed once more, to the ticket's address as it is now.

    The same Message-ID is kept so the thread stays whole. The handler fixes a wrong address by
    editing the ticket first; the retry is on the timeline.
    """
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, mail.ticket)
    ticket = _lock(mail.ticket)
    row = TicketMail.objects.select_for_update().get(pk=mail.pk)
    if row.direction != MailDirection.OUT or row.event_id is None:
        raise Conflict(_("Only replies sent from here can be sent again."), code="not_outgoing")
    now = timezone.now()
    stuck = row.status == MailStatus.SENDING and (
        row.status_at is None or row.status_at < now - STALE_SENDING
    )
    if row.status != MailStatus.FAILED and not stuck:
        raise Conflict(_("Only a failed delivery can be tried again."), code="not_failed")
    if ticket.state == TicketState.ARCHIVED:
        raise Conflict(_("An archived ticket cannot be changed."), code="archived")
    if not ticket.contact_email:
        raise ValidationFailed(
            _("The ticket has no email address to send to; add one first."),
            detail={"contact_email": [_("This field is required.")]},
        )
    row.status, row.status_at, row.error, row.permanent = MailStatus.QUEUED, now, "", False
    row.save(update_fields=["status", "status_at", "error", "permanent"])
    _event(
        ticket,
        EventKind.NOTE,
        actor=actor,
        internal=True,
        data={"mail_retry": row.message_id, "to": ticket.contact_email, "reply": row.event_id},
    )
    event_id = row.event_id
    transaction.on_commit(lambda: _deliver(event_id))
    return row


def _deliver(event_id: int) -> None:
    from kefu.tickets.tasks import deliver_reply

    deliver_reply(event_id)
