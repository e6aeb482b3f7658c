"""The public service page: customers open a case and look up its status without an account.

What a customer may see of a case is decided here, in one place: its number, kind, state and
dates, and the replies sent to them. Never internal notes, never who handled it or how to reach
them, never anything of another case.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.core.errors import ValidationFailed
from kefu.core.phones import normalize_phone
from kefu.tickets.mail_services import intake_group
from kefu.tickets.models import Channel, EventKind, Ticket, TicketKind, TicketState
from kefu.tickets.services import TicketInput, ticket_create

PUBLIC_KINDS = [TicketKind.INQUIRY, TicketKind.COMPLAINT, TicketKind.REPAIR, TicketKind.SUGGESTION]
MAX_DESCRIPTION = 5000

# The state as the customer should read it: "resolved" and "closed" differ only inside.
PUBLIC_STATES: dict[str, Any] = {
    TicketState.OPEN: gettext_lazy("Being handled"),
    TicketState.PENDING: gettext_lazy("Waiting for your answer"),
    TicketState.RESOLVED: gettext_lazy("Resolved"),
    TicketState.CLOSED: gettext_lazy("Closed"),
    TicketState.ARCHIVED: gettext_lazy("Closed"),
}


@dataclass
class PublicCaseInput:
    name: str
    phone: str
    kind: str
    subject: str
    description: str
    email: str = ""


@dataclass
class PublicReply:
    at: dt.datetime
    body: str
    attachment_name: str = ""


@dataclass
class PublicStatus:
    number: str
    kind: str
    state: str
    state_code: str
    subject: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    replies: list[PublicReply] = field(default_factory=list)


@transaction.atomic
def public_ticket_submit(*, data: PublicCaseInput) -> Ticket:
    """Open a case from the web form; the phone is required, because it is the key to the status page."""
    errors: dict[str, list[str]] = {}
    if data.kind not in PUBLIC_KINDS:
        errors["kind"] = [_("Choose one of the listed values.")]
    if not str(data.name or "").strip():
        errors["name"] = [_("Tell us your name.")]
    if not str(data.phone or "").strip():
        errors["phone"] = [_("Leave a phone number: you need it to look up the case.")]
    if not str(data.description or "").strip():
        errors["description"] = [_("Describe your case.")]
    elif len(data.description) > MAX_DESCRIPTION:
        errors["description"] = [
            _("At most %(count)d characters.") % {"count": MAX_DESCRIPTION},
        ]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    ticket_input = TicketInput(
        kind=data.kind,
        channel=Channel.WEB_FORM,
        subject=data.subject,
        description=data.description,
        contact_name=data.name,
        contact_phone=data.phone,
        contact_email=data.email,
        group=intake_group(data.kind),
    )
    try:
        return ticket_create(actor=None, data=ticket_input, skip_permission=True)
    except ValidationFailed as exc:
        # The form's field names, not the ticket's.
        renamed = {"contact_phone": "phone", "contact_email": "email", "contact_name": "name"}
        detail = {renamed.get(k, k): v for k, v in (exc.detail or {}).items()}
        raise ValidationFailed(exc.message, detail=detail) from exc


def public_ticket_status(*, number: str, phone: str) -> PublicStatus | None:
    """The case with this number *and* this phone, or None — the same None whichever one is wrong."""
    number = str(number or "").strip().upper()
    normalized = normalize_phone(phone)
    if not number or not normalized or len(number) > 20:
        return None
    ticket = Ticket.objects.filter(number=number, contact_phone=normalized).first()
    if ticket is None:
        return None
    replies = [
        PublicReply(at=event.created_at, body=event.body, attachment_name=event.attachment_name)
        for event in ticket.events.filter(kind=EventKind.REPLY, internal=False).order_by("created_at", "id")
    ]
    return PublicStatus(
        number=ticket.number,
        kind=str(ticket.get_kind_display()),
        state=str(PUBLIC_STATES.get(ticket.state, ticket.get_state_display())),
        state_code=ticket.state,
        subject=ticket.subject,
        created_at=ticket.created_at,
        closed_at=ticket.closed_at,
        replies=replies,
    )
