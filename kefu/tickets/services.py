"""Writes to tickets. Intake pages, the API, mail-in, the public form and the SLA job come through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from auditlog.context import disable_auditlog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, Count, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, User
from kefu.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from kefu.core.history import acting
from kefu.core.notifications import notify, notify_each
from kefu.core.numbering import next_number, numbers_outside_transaction
from kefu.core.permissions import require_perm, require_visible
from kefu.core.phones import normalize_phone
from kefu.core.rows import insert_new
from kefu.customers.models import Contact, Customer
from kefu.tickets import outbound, sla
from kefu.tickets.models import (
    AfterSalesCase,
    AfterSalesType,
    ApprovalState,
    AssignMode,
    CannedReply,
    CannedReplyCategory,
    Channel,
    ComplaintCategory,
    ComplaintStep,
    ComplaintStepRecord,
    EventKind,
    Priority,
    Severity,
    SlaPolicy,
    SlaStatus,
    SlaTarget,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketKind,
    TicketState,
)
from kefu.tickets.signals import complaint_closed, ticket_closed
from kefu.tickets.workflow import TRANSITIONS, after_sales_blockers, complaint_blockers

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def _require(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _required_text(value: Any, *, field_name: str, message: str, limit: int = 20000) -> str:
    """The stripped text, or a ValidationFailed naming the field when it is empty."""
    text = _text(value, limit)
    if not text:
        raise ValidationFailed(message, detail={field_name: [_("This field is required.")]})
    return text


def _choice(
    value: Any, choices: Any, field_name: str, errors: dict[str, list[str]], default: str = ""
) -> str:
    value = str(value or default)
    if value not in choices.values:
        errors[field_name] = [_("Choose one of the listed values.")]
    return value


def ticket_url(ticket: Ticket) -> str:
    """The ticket page; a plain path so notifications written by jobs need no URL configuration."""
    return f"/tickets/{ticket.pk}/"


def _event(
    ticket: Ticket,
    kind: str,
    *,
    actor: User | None,
    body: str = "",
    internal: bool = False,
    data: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> TicketEvent:
    return insert_new(
        TicketEvent(
            ticket=ticket,
            kind=kind,
            actor=actor if getattr(actor, "pk", None) else None,
            body=body,
            internal=internal,
            data=dict(data or {}),
            created_at=at or timezone.now(),
        )
    )


def _lock(ticket: Ticket, *, version: int | None = None) -> Ticket:
    # of=self: PostgreSQL refuses to lock the nullable side of the outer joins, and needs only the ticket row.
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer", "sla_policy")
        .get(pk=ticket.pk)
    )
    if version is not None and locked.version != version:
        raise Conflict()
    return locked


def _save(ticket: Ticket, actor: User | None) -> None:
    ticket.version += 1
    with acting(actor):
        ticket.save()


# --- who handles it ---------------------------------------------------------------------------


def supervisors_of(ticket: Ticket) -> list[User]:
    """Supervisors of the handling department or a department above it; any supervisor if none."""
    users = User.objects.filter(is_active=True, groups__role__code="supervisor")
    if ticket.department_id:
        chain = Department.objects.ancestors(ticket.department_id, include_self=True)
        near = list(users.filter(department__in=chain).distinct())
        if near:
            return near
    return list(users.distinct())


def managers() -> list[User]:
    return list(User.objects.filter(is_active=True, groups__role__code="manager").distinct())


def _may_handle(user: User) -> bool:
    return user.is_active and user.has_perm("tickets.change_ticket")


def group_pick_assignee(group: TicketGroup) -> User | None:
    """Round robin continues after the last member who got one; least load takes the fewest open."""
    members = [m for m in group.members.filter(is_active=True).order_by("id") if _may_handle(m)]
    if not members or group.assign_mode == AssignMode.MANUAL:
        return None
    if group.assign_mode == AssignMode.ROUND_ROBIN:
        ids = [m.pk for m in members]
        after = group.last_assignee_id
        following = [m for m in members if after is None or m.pk > after]
        chosen = following[0] if following else members[0]
        if after is not None and after not in ids and not following:
            chosen = members[0]
    else:
        loads = dict(
            Ticket.objects.active()
            .filter(assignee__in=members)
            .values_list("assignee")
            .annotate(n=Count("id"))
            .values_list("assignee", "n")
        )
        chosen = min(members, key=lambda m: (loads.get(m.pk, 0), m.pk))
    TicketGroup.objects.filter(pk=group.pk).update(last_assignee=chosen)
    group.last_assignee = chosen
    return chosen


# --- intake -----------------------------------------------------------------------------------

TICKET_FIELDS = [
    "kind",
    "channel",
    "priority",
    "severity",
    "subject",
    "description",
    "contact_name",
    "contact_phone",
    "contact_qq",
    "contact_email",
    "occurred_at",
    "place",
    "callback_due_at",
]


@dataclass
class TicketInput:
    """What intake collects; every page, the API, mail-in and the public form fill one of these."""

    kind: str
    channel: str
    subject: str
    description: str = ""
    priority: str = Priority.NORMAL
    severity: str = ""
    customer: Customer | None = None
    contact: Contact | None = None
    contact_name: str = ""
    contact_phone: str = ""
    contact_qq: str = ""
    contact_email: str = ""
    occurred_at: dt.datetime | None = None
    place: str = ""
    group: TicketGroup | None = None
    assignee: User | None = None
    callback_due_at: dt.datetime | None = None
    answer: str = ""
    apologised: bool = False
    after_sales: dict[str, Any] = field(default_factory=dict)


def _validate_input(data: TicketInput, actor: User | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    data.kind = _choice(data.kind, TicketKind, "kind", errors)
    data.channel = _choice(data.channel, Channel, "channel", errors)
    data.priority = _choice(data.priority, Priority, "priority", errors, Priority.NORMAL)
    if data.severity:
        data.severity = _choice(data.severity, Severity, "severity", errors)
    data.subject = _text(data.subject, 200)
    data.description = str(data.description or "").strip()[:20000]
    if not data.subject:
        errors["subject"] = [_("Say in a few words what the customer raised.")]
    data.contact_name = _text(data.contact_name, 50)
    data.place = _text(data.place, 200)
    data.contact_qq = _text(data.contact_qq, 20)
    if data.contact_qq and not data.contact_qq.isdigit():
        errors["contact_qq"] = [_("A QQ number has digits only.")]
    data.contact_email = _text(data.contact_email, 254)
    if data.contact_email:
        from django.core.validators import validate_email

        try:
            validate_email(data.contact_email)
        except ValidationError:
            errors["contact_email"] = [_("Enter a valid email address.")]
    raw_phone = _text(data.contact_phone, 40)
    if raw_phone:
        normalized = normalize_phone(raw_phone)
        if not normalized:
            errors["contact_phone"] = [_("This is not a valid mainland China phone number.")]
        else:
            data.contact_phone = normalized
    if (
        data.contact is not None
        and data.customer is not None
        and data.contact.customer_id != data.customer.pk
    ):
        errors["contact"] = [_("That contact belongs to another customer.")]
    now = timezone.now()
    if data.occurred_at and data.occurred_at > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = [_("The event cannot be in the future.")]
    if data.callback_due_at and data.callback_due_at < now - dt.timedelta(minutes=5):
        errors["callback_due_at"] = [_("The call-back time is already past.")]
    if data.answer and data.kind == TicketKind.COMPLAINT:
        errors["answer"] = [
            _("A complaint cannot be closed on the call; open the case and follow the process.")
        ]
    if data.kind == TicketKind.AFTER_SALES:
        case_type = str(data.after_sales.get("case_type") or "")
        if case_type not in AfterSalesType.values:
            errors["after_sales.case_type"] = [_("Choose return, exchange, refund or negative review.")]
    if data.assignee is not None and not _may_handle(data.assignee):
        errors["assignee"] = [_("This person cannot handle tickets.")]
    if data.group is not None and not data.group.active:
        errors["group"] = [_("This group is no longer active.")]
    return errors


def ticket_create(*, actor: User | None, data: TicketInput, skip_permission: bool = False) -> Ticket:
    """Open a ticket; with `answer`, close it at once as answered on first contact.

    `skip_permission` is for intake that has no staff actor (mail-in, the public web form); those
    callers check their own credentials.
    """
    if not skip_permission:
        require_perm(actor, "tickets.add_ticket")
        if data.customer is not None:
            require_visible(actor, data.customer)
        if data.assignee is not None and data.assignee != actor:
            require_perm(actor, "tickets.assign_ticket")
    _require(_validate_input(data, actor))
    if data.kind == TicketKind.AFTER_SALES:
        _after_sales_write(Ticket(), data.after_sales, actor=actor, create=True, save=False)
    # Step 1 needs a person: without a staff actor, the assignee or else the first administrator
    # (read now, so that a missing one refuses the ticket before it takes a number).
    fallback_recorder = (
        _system_user() if data.kind == TicketKind.COMPLAINT and not getattr(actor, "pk", None) else None
    )
    number = None
    if numbers_outside_transaction() and not transaction.get_connection().in_atomic_block:
        # Everything that could refuse the ticket is checked above: the number is taken in a
        # statement of its own, so its counter is locked for that statement only, not for the
        # whole write (every other intake waited for it there). A failure from here on (the
        # database itself) leaves a gap in the numbers, never a number used twice.
        number = _ticket_number()
    ticket = _ticket_new(actor=actor, data=data)
    return _ticket_write(
        actor=actor, data=data, ticket=ticket, number=number, fallback_recorder=fallback_recorder
    )


def _ticket_number() -> str:
    return next_number("GD", year=timezone.localdate().year, width=6)


def _ticket_new(*, actor: User | None, data: TicketInput) -> Ticket:
    """The ticket as intake opens it, deadlines computed, not yet written.

    Built before the write transaction: on SQLite that transaction holds the one write lock, which
    every other intake waits for, so it should hold only the writes.
    """
    now = timezone.now()
    customer = data.customer
    if data.contact is not None and not data.contact_name:
        data.contact_name = data.contact.name
    group = data.group
    # Ids, not objects: reading the actor's department row would cost every intake a query.
    department_id = (
        group.department_id
        if group
        else (getattr(actor, "department_id", None) or (customer.department_id if customer else None))
    )
    ticket = Ticket(
        kind=data.kind,
        channel=data.channel,
        priority=data.priority,
        severity=data.severity if data.kind == TicketKind.COMPLAINT else "",
        subject=data.subject,
        description=data.description,
        customer=customer,
        contact=data.contact,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        contact_qq=data.contact_qq,
        contact_email=data.contact_email,
        occurred_at=data.occurred_at,
        place=data.place,
        department_id=department_id,
        group=group,
        created_by=actor if getattr(actor, "pk", None) else None,
        callback_due_at=data.callback_due_at,
        created_at=now,
        sla_policy=sla.policy_in_force(),
    )
    if ticket.is_complaint:
        ticket.severity = ticket.severity or Severity.GENERAL
        # Step 1 (receive) is the intake itself, recorded below: the complaint goes on to step 2.
        ticket.complaint_step = ComplaintStep.INVESTIGATE
    sla.schedule(ticket)
    return ticket


@transaction.atomic
def _ticket_write(
    *,
    actor: User | None,
    data: TicketInput,
    ticket: Ticket,
    number: str | None,
    fallback_recorder: User | None,
) -> Ticket:
    now = ticket.created_at
    assignee = data.assignee
    if assignee is None and data.group is not None:
        assignee = group_pick_assignee(data.group)
    ticket.assignee = assignee
    if data.answer:
        ticket.state = TicketState.CLOSED
        ticket.answered_on_first_contact = True
        ticket.resolution = _text(data.answer, 20000)
        ticket.first_responded_at = ticket.resolved_at = ticket.closed_at = now
        ticket.resolution_minutes = 0
        ticket.assignee = ticket.assignee or (actor if getattr(actor, "pk", None) else None)
    # Inside this transaction (SQLite, or a caller's transaction): as late as possible, since the
    # counter stays locked until the commit.
    ticket.number = number or _ticket_number()
    # The timeline's "created" event is the record of who opened it, when and how; the audit log
    # keeps the field changes from then on (an entry of every initial value cost each intake
    # a fifth of its time).
    with disable_auditlog():
        insert_new(ticket)
    _event(
        ticket,
        EventKind.CREATED,
        actor=actor,
        body=ticket.description,
        data={"channel": ticket.channel, "kind": ticket.kind},
        at=now,
    )
    if ticket.kind == TicketKind.AFTER_SALES:
        _after_sales_write(ticket, data.after_sales, actor=actor, create=True)
    if ticket.is_complaint:
        # Step 1 is the intake itself: the complaint restated, with or without the apology.
        received = insert_new(
            ComplaintStepRecord(
                ticket=ticket,
                step=ComplaintStep.RECEIVE,
                note=ticket.description or ticket.subject,
                data={"apologised": bool(data.apologised)},
                done_by=actor if getattr(actor, "pk", None) else (ticket.assignee or fallback_recorder),
                done_at=now,
            )
        )
        # The new complaint's steps are known: whoever shows it next need not read them back
        # (filled in as prefetch_related fills it, so ticket.steps.all() answers from memory).
        known = ticket.steps.all()
        known._result_cache, known._prefetch_done = [received], True
        ticket._prefetched_objects_cache = {"steps": known}
    if ticket.assignee is not None:
        _event(
            ticket,
            EventKind.ASSIGNMENT,
            actor=actor,
            data={"to": ticket.assignee.pk, "to_name": str(ticket.assignee)},
        )
        if ticket.assignee != actor and not data.answer:
            transaction.on_commit(
                lambda: notify(
                    [ticket.assignee],
                    _("Ticket %(number)s was assigned to you: %(subject)s")
                    % {"number": ticket.number, "subject": ticket.subject},
                    url=ticket_url(ticket),
                )
            )
    if data.answer:
        _event(ticket, EventKind.REPLY, actor=actor, body=ticket.resolution, data={"answered": True})
        _event(
            ticket, EventKind.STATE, actor=actor, data={"from": TicketState.OPEN, "to": TicketState.CLOSED}
        )
    if ticket.is_complaint and ticket.severity == Severity.MAJOR:
        _report_major(ticket, actor)
    return ticket


def _system_user() -> User:
    """Steps need a person; intake without one (mail-in, web form) records the first superuser."""
    user = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
    if user is None:
        raise DomainError(_("No administrator exists to record automatic steps; create one first."))
    return user


def _report_major(ticket: Ticket, actor: User | None) -> None:
    """A major complaint is reported to the manager at once (SPEC §4)."""
    _event(ticket, EventKind.ESCALATION, actor=actor, data={"reason": "major", "level": 2})
    message = _("Major complaint %(number)s: %(subject)s") % {
        "number": ticket.number,
        "subject": ticket.subject,
    }
    url = ticket_url(ticket)
    transaction.on_commit(lambda: notify(managers(), message, url=url))


# --- timeline ---------------------------------------------------------------------------------


@transaction.atomic
def ticket_reply(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    kind: str = EventKind.REPLY,
    attachment: Any = None,
) -> TicketEvent:
    """A reply to the customer, an internal note or a call; the first reply or call is the first response."""
    require_perm(actor, "tickets.view_ticket")
    require_visible(actor, ticket)
    if kind not in (EventKind.REPLY, EventKind.NOTE, EventKind.CALL):
        raise ValidationFailed(_("Choose reply, note or call."), detail={"kind": [_("Not allowed.")]})
    if kind != EventKind.NOTE:
        require_perm(actor, "tickets.change_ticket")
    body = str(body or "").strip()
    if not body and attachment is None:
        raise ValidationFailed(
            _("Write something or attach a file."), detail={"body": [_("This field is required.")]}
        )
    if len(body) > 20000:
        raise ValidationFailed(
            _("The text is too long (at most 20,000 characters)."), detail={"body": [_("Too long.")]}
        )
    locked = _lock(ticket)
    if locked.state == TicketState.ARCHIVED:
        raise Conflict(_("An archived ticket cannot be changed."), code="archived")
    event = TicketEvent(
        ticket=locked,
        kind=kind,
        actor=actor,
        body=body,
        internal=kind == EventKind.NOTE,
        created_at=timezone.now(),
    )
    if attachment is not None:
        _attach(event, attachment)
    event.save()
    outbound.queue_reply(event)
    if kind != EventKind.NOTE and locked.first_responded_at is None and locked.is_active:
        locked.first_responded_at = event.created_at
        if locked.paused_at is None:
            sla.schedule(locked)
        _save(locked, actor)
    if kind == EventKind.REPLY:
        transaction.on_commit(lambda: _send_reply(event.pk))
    return event


def _attach(event: TicketEvent, uploaded: Any) -> None:
    size = getattr(uploaded, "size", None) or 0
    name = str(getattr(uploaded, "name", "") or "").rsplit("/", 1)[-1][:200]
    if size <= 0:
        raise ValidationFailed(_("The file is empty."), detail={"attachment": [_("Empty file.")]})
    if size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)},
            detail={"attachment": [_("Too large.")]},
        )
    if not name:
        raise ValidationFailed(_("The file has no name."), detail={"attachment": [_("No name.")]})
    event.attachment_name = name
    event.attachment_size = size
    event.attachment.save(name, uploaded, save=False)


def _send_reply(event_id: int) -> None:
    """Outbound delivery of a reply (email threads); a hook the mail module fills in."""
    from kefu.tickets.tasks import deliver_reply

    deliver_reply(event_id)


# --- assignment -------------------------------------------------------------------------------


@transaction.atomic
def ticket_assign(
    *,
    actor: User,
    ticket: Ticket,
    assignee: User | None,
    group: TicketGroup | None = None,
    reason: str = "",
    version: int | None = None,
) -> Ticket:
    """Assign by hand or transfer; a transfer away from someone needs a reason."""
    require_perm(actor, "tickets.assign_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket, version=version)
    if not locked.is_active:
        raise Conflict(_("Only open tickets can be assigned."), code="not_active")
    if assignee is not None and not _may_handle(assignee):
        raise ValidationFailed(
            _("This person cannot handle tickets."), detail={"assignee": [_("Not allowed.")]}
        )
    if group is not None and not group.active:
        raise ValidationFailed(_("This group is no longer active."), detail={"group": [_("Inactive.")]})
    reason = _text(reason, 300)
    previous = locked.assignee
    if previous is not None and previous != assignee and not reason:
        raise ValidationFailed(
            _("Give a reason for the transfer."), detail={"reason": [_("This field is required.")]}
        )
    if group is not None:
        locked.group = group
        locked.department = group.department
        if assignee is None:
            assignee = group_pick_assignee(group)
    if assignee == previous and group is None:
        return locked
    locked.assignee = assignee
    _save(locked, actor)
    _event(
        locked,
        EventKind.ASSIGNMENT,
        actor=actor,
        body=reason,
        data={
            "from": previous.pk if previous else None,
            "from_name": str(previous) if previous else "",
            "to": assignee.pk if assignee else None,
            "to_name": str(assignee) if assignee else "",
            "group": locked.group.name if locked.group else "",
            "transfer": previous is not None,
        },
    )
    if assignee is not None and assignee != actor:
        message = _("Ticket %(number)s was assigned to you: %(subject)s") % {
            "number": locked.number,
            "subject": locked.subject,
        }
        url = ticket_url(locked)
        transaction.on_commit(lambda: notify([assignee], message, url=url))
    return locked


@transaction.atomic
def ticket_claim(*, actor: User, ticket: Ticket) -> Ticket:
    """Take an unassigned ticket; when two click at once the row lock lets one win, the other learns who."""
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket)
    if not locked.is_active:
        raise Conflict(_("Only open tickets can be claimed."), code="not_active")
    if locked.assignee_id == actor.pk:
        return locked
    if locked.assignee_id is not None:
        raise Conflict(
            _("%(name)s has already taken this ticket.") % {"name": locked.assignee}, code="already_claimed"
        )
    locked.assignee = actor
    _save(locked, actor)
    _event(
        locked, EventKind.ASSIGNMENT, actor=actor, data={"to": actor.pk, "to_name": str(actor), "claim": True}
    )
    return locked


# --- state ------------------------------------------------------------------------------------


@transaction.atomic
def ticket_transition(
    *, actor: User, ticket: Ticket, action: str, note: str = "", version: int | None = None
) -> Ticket:
    require_perm(actor, "tickets.view_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket, version=version)
    transition = TRANSITIONS.get((locked.state, action))
    if transition is None:
        raise Conflict(
            _("A ticket that is “%(state)s” cannot do “%(action)s”.")
            % {"state": locked.get_state_display(), "action": action},
            code="invalid_transition",
        )
    require_perm(actor, transition.permission)
    note = str(note or "").strip()[:20000]
    if transition.needs_note and not note:
        raise ValidationFailed(_("Add a note saying why."), detail={"note": [_("This field is required.")]})
    blocker = complaint_blockers(locked, action) or after_sales_blockers(locked, action)
    if blocker:
        raise Conflict(blocker, code="complaint_step_missing")
    now = timezone.now()
    source = locked.state
    if source == TicketState.PENDING:
        sla.resume(locked, now=now)
    if transition.target == TicketState.PENDING:
        sla.pause(locked, now=now)
    if action == "resolve":
        locked.resolution = note
        locked.resolved_at = now
    if transition.target == TicketState.CLOSED:
        locked.closed_at = now
        locked.resolved_at = locked.resolved_at or now
        if note and not locked.resolution:
            locked.resolution = note
    if action == "reopen":
        locked.closed_at = None
        locked.resolved_at = None
    locked.resolution_minutes = sla.resolution_minutes(locked)
    locked.state = transition.target
    _save(locked, actor)
    _event(
        locked,
        EventKind.STATE,
        actor=actor,
        body=note,
        data={"from": source, "to": locked.state, "action": action},
    )
    if transition.target == TicketState.CLOSED:
        ticket_id, closed_at = locked.pk, now
        transaction.on_commit(
            lambda: ticket_closed.send(sender=Ticket, ticket_id=ticket_id, closed_at=closed_at)
        )
        if locked.is_complaint:
            transaction.on_commit(
                lambda: complaint_closed.send(sender=Ticket, ticket_id=ticket_id, closed_at=closed_at)
            )
    return locked


@transaction.atomic
def ticket_callback_done(*, actor: User, ticket: Ticket, note: str) -> Ticket:
    """The promised call back was made (SPEC §4: call the customer as soon as the answer is known)."""
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    note = _required_text(note, field_name="note", message=_("Note what was said on the call."))
    locked = _lock(ticket)
    now = timezone.now()
    locked.callback_done_at = now
    if locked.first_responded_at is None:
        locked.first_responded_at = now
        if locked.is_active and locked.paused_at is None:
            sla.schedule(locked)
    _save(locked, actor)
    _event(locked, EventKind.CALL, actor=actor, body=note, data={"callback": True})
    return locked


# --- complaint steps --------------------------------------------------------------------------


@transaction.atomic
def complaint_step_complete(
    *,
    actor: User,
    ticket: Ticket,
    step: int,
    note: str,
    category: ComplaintCategory | None = None,
) -> Ticket:
    """Record the current step of a complaint; steps go in order, 4 through the approval."""
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket)
    if not locked.is_complaint:
        raise Conflict(_("Only complaints have process steps."), code="not_a_complaint")
    if step not in ComplaintStep.values:
        raise ValidationFailed(_("There is no such step."), detail={"step": [_("Choose 1 to 9.")]})
    if step != locked.complaint_step:
        raise Conflict(
            _("The complaint is at step %(current)d; step %(step)d cannot be recorded now.")
            % {"current": locked.complaint_step, "step": step},
            code="wrong_step",
        )
    if step == ComplaintStep.PROPOSE:
        raise Conflict(
            _("Step 4 is done by asking a supervisor to approve the solution."), code="needs_approval"
        )
    note = _required_text(note, field_name="note", message=_("Describe what was done in this step."))
    data: dict[str, Any] = {}
    if step == ComplaintStep.CLASSIFY:
        if category is None or not category.active:
            raise ValidationFailed(
                _("Choose the complaint category."), detail={"category": [_("This field is required.")]}
            )
        locked.category = category
        data["category"] = category.name
    if step in (ComplaintStep.IMPROVE, ComplaintStep.ARCHIVE) and locked.state not in (
        TicketState.CLOSED,
        TicketState.ARCHIVED,
    ):
        raise Conflict(_("Close the complaint before steps 8 and 9."), code="not_closed")
    if step in (ComplaintStep.CARRY_OUT,) and locked.approval_state != ApprovalState.APPROVED:
        raise Conflict(
            _("The solution has not been approved by a supervisor yet (step 4)."), code="not_approved"
        )
    if locked.state in (TicketState.CLOSED, TicketState.ARCHIVED) and step <= ComplaintStep.CLASSIFY:
        raise Conflict(_("Reopen the complaint to record this step."), code="not_active")
    now = timezone.now()
    ComplaintStepRecord.objects.create(
        ticket=locked, step=step, note=note, data=data, done_by=actor, done_at=now
    )
    locked.complaint_step = step + 1 if step < ComplaintStep.ARCHIVE else step
    source = locked.state
    if step == ComplaintStep.ARCHIVE:
        locked.state = TicketState.ARCHIVED
    _save(locked, actor)
    _event(locked, EventKind.STEP, actor=actor, body=note, data={"step": step, **data})
    if source != locked.state:
        _event(
            locked,
            EventKind.STATE,
            actor=actor,
            data={"from": source, "to": locked.state, "action": "archive"},
        )
    return locked


@transaction.atomic
def complaint_request_approval(*, actor: User, ticket: Ticket, proposal: str) -> Ticket:
    """Step 4: propose a solution; a supervisor's approval completes the step."""
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket)
    if not locked.is_complaint:
        raise Conflict(_("Only complaints have process steps."), code="not_a_complaint")
    if locked.complaint_step != ComplaintStep.PROPOSE or not locked.is_active:
        raise Conflict(_("Record steps 2 and 3 before proposing a solution."), code="wrong_step")
    if locked.approval_state == ApprovalState.REQUESTED:
        raise Conflict(_("The solution is already waiting for approval."), code="already_requested")
    proposal = _required_text(proposal, field_name="proposal", message=_("Describe the proposed solution."))
    locked.approval_state = ApprovalState.REQUESTED
    _save(locked, actor)
    _event(
        locked,
        EventKind.APPROVAL,
        actor=actor,
        body=proposal,
        data={"action": "request", "proposal": proposal},
    )
    message = _("Complaint %(number)s awaits your approval: %(subject)s") % {
        "number": locked.number,
        "subject": locked.subject,
    }
    url = ticket_url(locked)
    recipients = [u for u in supervisors_of(locked) if u.has_perm("tickets.approve_complaint")]
    transaction.on_commit(lambda: notify(recipients, message, url=url))
    return locked


@transaction.atomic
def complaint_decide(*, actor: User, ticket: Ticket, approve: bool, note: str = "") -> Ticket:
    """The supervisor's decision (主管批示) on the proposed solution."""
    require_perm(actor, "tickets.approve_complaint")
    require_visible(actor, ticket)
    locked = _lock(ticket)
    if locked.approval_state != ApprovalState.REQUESTED:
        raise Conflict(_("No solution is waiting for approval."), code="nothing_to_approve")
    note = str(note or "").strip()[:20000]
    if not approve and not note:
        raise ValidationFailed(
            _("Say why the solution is rejected."), detail={"note": [_("This field is required.")]}
        )
    request = (
        locked.events.filter(kind=EventKind.APPROVAL, data__action="request")
        .order_by("-created_at", "-id")
        .first()
    )
    if request is not None and request.actor_id == actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("You cannot approve your own proposal."))
    now = timezone.now()
    if approve:
        locked.approval_state = ApprovalState.APPROVED
        locked.approved_by, locked.approved_at = actor, now
        ComplaintStepRecord.objects.create(
            ticket=locked,
            step=ComplaintStep.PROPOSE,
            note=(request.body if request else "") or note,
            data={"approved_by": actor.pk, "approved_by_name": str(actor), "approval_note": note},
            done_by=request.actor if request and request.actor else actor,
            done_at=now,
        )
        locked.complaint_step = ComplaintStep.CARRY_OUT
    else:
        locked.approval_state = ApprovalState.REJECTED
    _save(locked, actor)
    _event(
        locked,
        EventKind.APPROVAL,
        actor=actor,
        body=note,
        data={"action": "approve" if approve else "reject"},
    )
    if request is not None and request.actor is not None and request.actor != actor:
        message = (
            _("Your solution for %(number)s was approved.")
            if approve
            else _("Your solution for %(number)s was rejected.")
        ) % {"number": locked.number}
        proposer, url = request.actor, ticket_url(locked)
        transaction.on_commit(lambda: notify([proposer], message, url=url))
    return locked


# Fields the ticket page and the API may change after intake; the rest follow from the workflow.
EDITABLE_FIELDS = (
    "subject",
    "description",
    "priority",
    "severity",
    "contact_name",
    "contact_phone",
    "contact_qq",
    "contact_email",
    "place",
    "occurred_at",
    "category",
    "callback_due_at",
)
# Long texts are kept whole on the ticket (and in the audit log); the timeline shows their start.
CHANGE_PREVIEW = 200


def _change_value(name: str, value: Any) -> Any:
    """A value as the timeline keeps it: readable, JSON-safe, short."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, ComplaintCategory):
        return value.name
    if name == "priority":
        return str(Priority(value).label)
    if name == "severity":
        return str(Severity(value).label)
    text = str(value)
    return text if len(text) <= CHANGE_PREVIEW else text[:CHANGE_PREVIEW] + "…"


def _refresh_sla_status(ticket: Ticket, now: dt.datetime) -> None:
    """After new deadlines: the status follows them, and a ticket no longer late may escalate again."""
    if ticket.sla_breach_at is not None and ticket.sla_breach_at <= now:
        ticket.sla_status = SlaStatus.BREACHED
        return
    ticket.escalation_level = 0
    if ticket.sla_at_risk_at is not None and ticket.sla_at_risk_at <= now:
        ticket.sla_status = SlaStatus.AT_RISK
    else:
        ticket.sla_status = SlaStatus.OK


def _edit_check(
    ticket: Ticket, data: Mapping[str, Any]
) -> tuple[TicketInput, ComplaintCategory | None, dict[str, list[str]]]:
    """The edited values normalised as intake would, the category, and what is wrong with them."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        for name in sorted(unknown):
            errors[name] = [_("This field cannot be changed here.")]
    probe = TicketInput(
        kind=ticket.kind,
        channel=ticket.channel,
        subject=data.get("subject", ticket.subject),
        description=data.get("description", ticket.description),
        priority=data.get("priority", ticket.priority),
        severity=data.get("severity", ticket.severity),
        contact_name=data.get("contact_name", ticket.contact_name),
        contact_phone=data.get("contact_phone", ticket.contact_phone),
        contact_qq=data.get("contact_qq", ticket.contact_qq),
        contact_email=data.get("contact_email", ticket.contact_email),
        place=data.get("place", ticket.place),
        occurred_at=data.get("occurred_at"),
        callback_due_at=data.get("callback_due_at"),
        after_sales={"case_type": AfterSalesType.RETURN},
    )
    errors.update(_validate_input(probe, None))
    if ticket.is_complaint and "severity" in data and not probe.severity:
        errors["severity"] = [_("A complaint needs a severity.")]
    category = data.get("category", ticket.category)
    if "category" in data:
        if not ticket.is_complaint and category is not None:
            errors["category"] = [_("Only complaints are classified.")]
        elif category is not None and not category.active:
            errors["category"] = [_("This category is no longer in use.")]
        elif category is None and ticket.category_id is not None:
            errors["category"] = [_("A classified complaint keeps a category; choose another one.")]
    return probe, category, errors


def ticket_update_problems(*, actor: User, ticket: Ticket, data: Mapping[str, Any]) -> dict[str, list[str]]:
    """What ticket_update would refuse in these values, field by field; nothing is written."""
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    return _edit_check(ticket, data)[2]


@transaction.atomic
def ticket_update(
    *, actor: User, ticket: Ticket, data: Mapping[str, Any], version: int | None = None
) -> Ticket:
    """Edit the case details; each change goes on the timeline (from → to).

    A change of priority recomputes the deadlines from the opening time under the ticket's own
    SLA version, and the SLA status with them. `version` is the one the editor read: a stale
    one is a Conflict and nothing is written.
    """
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket, version=version)
    if locked.state == TicketState.ARCHIVED:
        raise Conflict(_("An archived ticket cannot be changed."), code="archived")
    probe, category, errors = _edit_check(locked, data)
    _require(errors)
    before = {name: getattr(locked, name) for name in EDITABLE_FIELDS}
    for name in EDITABLE_FIELDS:
        if name == "category":
            if "category" in data:
                locked.category = category
        elif name in data:
            setattr(locked, name, getattr(probe, name))
    if not locked.is_complaint:
        locked.severity = ""
    changed = [name for name in EDITABLE_FIELDS if getattr(locked, name) != before[name]]
    if not changed:
        return locked
    changes = {
        name: [_change_value(name, before[name]), _change_value(name, getattr(locked, name))]
        for name in changed
    }
    # The phone is kept as entered so the page can mask it for those who may not see it.
    if "contact_phone" in changed:
        changes["contact_phone"] = [before["contact_phone"], locked.contact_phone]
    event_data: dict[str, Any] = {"changed": changed, "changes": changes}
    if "priority" in changed and locked.is_active and locked.paused_at is None:
        due_before = [locked.first_response_due_at, locked.resolution_due_at]
        sla.schedule(locked)
        _refresh_sla_status(locked, timezone.now())
        event_data["deadlines"] = {
            "first_response_due_at": [
                _change_value("", due_before[0]),
                _change_value("", locked.first_response_due_at),
            ],
            "resolution_due_at": [
                _change_value("", due_before[1]),
                _change_value("", locked.resolution_due_at),
            ],
        }
    _save(locked, actor)
    _event(
        locked,
        EventKind.SLA if "deadlines" in event_data else EventKind.CHANGE,
        actor=actor,
        internal=True,
        data=event_data,
    )
    if "severity" in changed and locked.severity == Severity.MAJOR and locked.is_active:
        _report_major(locked, actor)
    return locked


# --- after-sales ------------------------------------------------------------------------------

AFTER_SALES_FIELDS = [
    "case_type",
    "order_number",
    "buyer_id",
    "reason",
    "quality_problem",
    "product_intact",
    "exchange_item",
    "return_tracking_number",
    "customer_advanced_shipping",
    "refund_amount",
    "review_platform",
    "review_text",
]


def _after_sales_write(
    ticket: Ticket, values: Mapping[str, Any], *, actor: User | None, create: bool, save: bool = True
) -> AfterSalesCase:
    """Check the after-sales details and write them; `save=False` only checks them."""
    from decimal import Decimal, InvalidOperation

    case = AfterSalesCase(ticket=ticket) if create else AfterSalesCase.objects.get(ticket=ticket)
    errors: dict[str, list[str]] = {}
    for name in AFTER_SALES_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name in ("customer_advanced_shipping", "refund_amount"):
            try:
                amount = Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors[name] = [_("Enter an amount in yuan, e.g. 12.50.")]
                continue
            if amount < 0 or amount >= Decimal("10000000000"):
                errors[name] = [_("The amount is out of range.")]
                continue
            setattr(case, name, amount)
        elif name in ("quality_problem", "product_intact"):
            setattr(case, name, None if value in (None, "") else bool(value) and value not in ("false", "0"))
        elif name == "case_type":
            if value not in AfterSalesType.values:
                errors[name] = [_("Choose return, exchange, refund or negative review.")]
            case.case_type = value
        else:
            limit = AfterSalesCase._meta.get_field(name).max_length or 20000
            setattr(case, name, str(value or "").strip()[:limit])
    if errors:
        raise ValidationFailed(
            next(iter(errors.values()))[0], detail={f"after_sales.{k}": v for k, v in errors.items()}
        )
    if save:
        case.save()
    return case


@transaction.atomic
def after_sales_update(*, actor: User, ticket: Ticket, data: Mapping[str, Any]) -> AfterSalesCase:
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    locked = _lock(ticket)
    if locked.kind != TicketKind.AFTER_SALES:
        raise Conflict(_("This ticket is not an after-sales case."), code="not_after_sales")
    if not locked.is_active:
        raise Conflict(_("Reopen the ticket to change it."), code="not_active")
    case = _after_sales_write(locked, data, actor=actor, create=False)
    _event(
        locked,
        EventKind.NOTE,
        actor=actor,
        internal=True,
        data={"after_sales": sorted(k for k in data if k in AFTER_SALES_FIELDS)},
    )
    return case


@transaction.atomic
def after_sales_add_remark(*, actor: User, ticket: Ticket, change: str) -> AfterSalesCase:
    """Order remarks in the shop's format: 客户要求修改成…, 已修改妥当 — date name (seed 002)."""
    require_perm(actor, "tickets.change_ticket")
    require_visible(actor, ticket)
    change = _required_text(change, field_name="change", message=_("Say what the customer asked to change."))
    locked = _lock(ticket)
    case = AfterSalesCase.objects.filter(ticket=locked).first()
    if case is None:
        raise Conflict(_("This ticket is not an after-sales case."), code="not_after_sales")
    line = f"客户要求修改成{change[:200]}, 已修改妥当 — {timezone.localdate():%Y-%m-%d} {actor}"
    case.order_remarks = f"{case.order_remarks}\n{line}".strip()
    case.save(update_fields=["order_remarks", "updated_at"])
    _event(locked, EventKind.NOTE, actor=actor, internal=True, body=line, data={"order_remark": True})
    return case


# --- bulk -------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def tickets_bulk_assign(
    *, actor: User, ticket_ids: Iterable[int], assignee: User, reason: str = ""
) -> BulkResult:
    require_perm(actor, "tickets.bulk_ticket", "tickets.assign_ticket")
    result = BulkResult()
    for ticket in Ticket.objects.visible_to(actor).filter(pk__in=list(ticket_ids)).order_by("id"):
        try:
            ticket_assign(
                actor=actor, ticket=ticket, assignee=assignee, reason=reason or _("Reassigned in bulk")
            )
            result.done.append(ticket.pk)
        except DomainError as exc:
            result.failed[ticket.pk] = exc.message
    return result


def tickets_bulk_close(*, actor: User, ticket_ids: Iterable[int], note: str = "") -> BulkResult:
    require_perm(actor, "tickets.bulk_ticket")
    result = BulkResult()
    for ticket in Ticket.objects.visible_to(actor).filter(pk__in=list(ticket_ids)).order_by("id"):
        try:
            ticket_transition(actor=actor, ticket=ticket, action="close", note=note)
            result.done.append(ticket.pk)
        except DomainError as exc:
            result.failed[ticket.pk] = exc.message
    return result


# --- the SLA job ------------------------------------------------------------------------------


@dataclass
class SlaCheck:
    at_risk: int = 0
    breached: int = 0
    to_manager: int = 0


def _unflagged(condition: str) -> RawSQL:
    """Open tickets not yet flagged for a step, written with literal constants.

    They match the partial indexes made for the SLA job (Ticket.Meta.indexes) term by term; SQLite
    cannot use a partial index when the constants come as bound parameters, and then scanned all
    two million tickets. Only the enum values and the given fixed condition go into the SQL.
    """
    return RawSQL(f"state = '{TicketState.OPEN.value}' AND {condition}", (), output_field=BooleanField())


def tickets_check_sla(*, now: dt.datetime | None = None, batch_size: int = 500) -> SlaCheck:
    """Flag tickets at risk and breached and escalate them (agent → supervisor → manager).

    Idempotent: each step only acts on tickets not yet at that step, so a re-run, or two runs at
    once, never escalate twice. Waiting tickets are paused and left alone. A ticket already past
    the manager's threshold goes there in one step (after downtime, or a first run over old data).
    """
    now = now or timezone.now()
    result = SlaCheck()
    result.at_risk = (
        Ticket.objects.filter(_unflagged(f"sla_status = '{SlaStatus.OK.value}'"))
        .filter(sla_at_risk_at__lte=now, sla_breach_at__gt=now)
        .update(sla_status=SlaStatus.AT_RISK)
    )
    inbox = _Inbox()
    candidates = list(
        Ticket.objects.filter(_unflagged("escalation_level < 2"))
        .filter(sla_manager_at__lte=now)
        .order_by("sla_manager_at")  # the longest overdue first, and in the partial index's order
        .values_list("pk", flat=True)[:100000]
    )
    for start in range(0, len(candidates), batch_size):
        escalated = _escalate(candidates[start : start + batch_size], level=2, now=now, inbox=inbox)
        result.to_manager += escalated.to_manager
        result.breached += escalated.breached
    candidates = list(
        Ticket.objects.filter(_unflagged("escalation_level < 1"))
        .filter(sla_breach_at__lte=now)
        .order_by("sla_breach_at")
        .values_list("pk", flat=True)[:100000]
    )
    for start in range(0, len(candidates), batch_size):
        result.breached += _escalate(
            candidates[start : start + batch_size], level=1, now=now, inbox=inbox
        ).breached
    inbox.deliver()
    return result


# Up to this many escalated tickets a person is told about one by one; beyond, in one message.
NOTIFY_ONE_BY_ONE = 5


@dataclass
class _Inbox:
    """Notifications of one SLA run, grouped per person so a backlog is one message, not thousands."""

    # per person: the person and their (message, url) pairs, in order and without repeats
    items: dict[int, tuple[User, dict[tuple[str, str], None]]] = field(default_factory=dict)

    def add(self, recipients: Iterable[User | None], message: str, url: str) -> None:
        for user in recipients:
            if user is None or not user.is_active:
                continue
            self.items.setdefault(user.pk, (user, {}))[1][(message, url)] = None

    def deliver(self) -> int:
        messages: list[tuple[list[User], str, str]] = []
        for user, items in self.items.values():
            if len(items) <= NOTIFY_ONE_BY_ONE:
                messages += [([user], message, url) for message, url in items]
            else:
                summary = _("%(count)d tickets passed their time limit; see the overdue queue.") % {
                    "count": len(items)
                }
                messages.append(([user], summary, "/tickets/?queue=breached"))
        return notify_each(messages)


@transaction.atomic
def _escalate(ids: list[int], *, level: int, now: dt.datetime, inbox: _Inbox) -> SlaCheck:
    """One batch: supervisors are looked up once per department, the events go in one insert."""
    tickets = list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, state=TicketState.OPEN, escalation_level__lt=level)
        .select_related("assignee")
        .only(
            "id",
            "number",
            "subject",
            "department_id",
            "escalation_level",
            "assignee__id",
            "assignee__is_active",
        )
    )
    done = SlaCheck()
    if not tickets:
        return done
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        escalation_level=level, sla_status=SlaStatus.BREACHED
    )
    events = []
    top = managers() if level == 2 else []
    supervisors: dict[int | None, list[User]] = {}
    for ticket in tickets:
        if ticket.department_id not in supervisors:
            supervisors[ticket.department_id] = supervisors_of(ticket)
        skipped_supervisor = level == 2 and ticket.escalation_level == 0
        if level == 1 or skipped_supervisor:
            done.breached += 1
        if level == 2:
            done.to_manager += 1
        to = list(supervisors[ticket.department_id]) if level == 1 or skipped_supervisor else []
        to += [user for user in top if user not in to]
        events.append(
            TicketEvent(
                ticket=ticket,
                kind=EventKind.ESCALATION,
                created_at=now,
                data={
                    "level": level,
                    "reason": "sla",
                    "to": [u.pk for u in to],
                    "to_name": ", ".join(str(u) for u in to[:5]),
                },
            )
        )
        message = _("Ticket %(number)s is past its time limit: %(subject)s") % {
            "number": ticket.number,
            "subject": ticket.subject,
        }
        inbox.add([*to, ticket.assignee], message, ticket_url(ticket))
    TicketEvent.objects.bulk_create(events)
    return done


def tickets_measure_resolution(*, batch_size: int = 1000, limit: int = 200000) -> int:
    """Fill the resolution time of resolved tickets that lack it (older data); idempotent.

    New resolutions are measured when they happen; this catches tickets resolved before the
    column existed or loaded from elsewhere. Returns how many were measured.
    """
    from kefu.core.models import WorkingHours

    hours = WorkingHours.in_force()
    done = 0
    while done < limit:
        batch = list(
            Ticket.objects.filter(resolved_at__isnull=False, resolution_minutes__isnull=True)
            .only("id", "created_at", "resolved_at", "paused_minutes")
            .order_by("id")[:batch_size]
        )
        if not batch:
            break
        for ticket in batch:
            ticket.resolution_minutes = sla.resolution_minutes(ticket, hours=hours)
        Ticket.objects.bulk_update(batch, ["resolution_minutes"])
        done += len(batch)
    return done


# --- policies and settings --------------------------------------------------------------------


@transaction.atomic
def sla_policy_create(
    *,
    actor: User,
    effective_from: dt.date,
    at_risk_percent: int,
    manager_after_minutes: int,
    targets: Iterable[Mapping[str, Any]],
    note: str = "",
) -> SlaPolicy:
    """A new version of the time limits; tickets opened before keep the version they were opened under."""
    require_perm(actor, "tickets.add_slapolicy")
    errors: dict[str, list[str]] = {}
    if not 1 <= int(at_risk_percent) <= 99:
        errors["at_risk_percent"] = [_("Enter a share between 1 and 99 %.")]
    if not 0 <= int(manager_after_minutes) <= 60 * 24 * 30:
        errors["manager_after_minutes"] = [_("Enter at most 30 days of minutes.")]
    if effective_from < timezone.localdate() - dt.timedelta(days=1):
        errors["effective_from"] = [_("A policy cannot take effect in the past.")]
    rows: list[SlaTarget] = []
    seen: set[tuple[str, str, str]] = set()
    for index, target in enumerate(targets):
        key = (
            str(target.get("kind") or ""),
            str(target.get("priority") or ""),
            str(target.get("tier") or ""),
        )
        prefix = f"targets.{index}"
        if key[0] and key[0] not in TicketKind.values:
            errors[f"{prefix}.kind"] = [_("Choose one of the listed values.")]
        if key[1] and key[1] not in Priority.values:
            errors[f"{prefix}.priority"] = [_("Choose one of the listed values.")]
        if key[2] and key[2] not in ("A", "B", "C"):
            errors[f"{prefix}.tier"] = [_("Choose tier A, B or C, or leave it empty.")]
        if key in seen:
            errors[f"{prefix}"] = [_("The same kind, priority and tier appear twice.")]
        seen.add(key)
        try:
            first = int(target.get("first_response_minutes"))
            resolution = int(target.get("resolution_minutes"))
        except (TypeError, ValueError):
            errors[f"{prefix}.first_response_minutes"] = [_("Enter whole minutes.")]
            continue
        if not 1 <= first <= resolution <= 60 * 24 * 365:
            errors[f"{prefix}.resolution_minutes"] = [
                _(
                    "The first response must come within the resolution time, both between 1 minute and a year."
                )
            ]
        rows.append(
            SlaTarget(
                kind=key[0],
                priority=key[1],
                tier=key[2],
                first_response_minutes=first,
                resolution_minutes=resolution,
            )
        )
    if not rows:
        errors["targets"] = [_("Give at least one time limit.")]
    elif ("", "", "") not in seen:
        errors["targets"] = [_("Keep one row with kind, priority and tier all empty: the default limit.")]
    _require(errors)
    policy = SlaPolicy(
        effective_from=effective_from,
        at_risk_percent=int(at_risk_percent),
        manager_after_minutes=int(manager_after_minutes),
        note=_text(note, 200),
        created_by=actor,
    )
    with acting(actor):
        policy.save()
        for row in rows:
            row.policy = policy
        SlaTarget.objects.bulk_create(rows)
    return policy


@transaction.atomic
def canned_reply_save(
    *, actor: User, data: Mapping[str, Any], reply: CannedReply | None = None
) -> CannedReply:
    require_perm(actor, "tickets.change_cannedreply" if reply else "tickets.add_cannedreply")
    errors: dict[str, list[str]] = {}
    target = reply or CannedReply()
    target.category = _choice(data.get("category", target.category), CannedReplyCategory, "category", errors)
    target.title = _text(data.get("title", target.title), 100)
    target.body = str(data.get("body", target.body) or "").strip()[:5000]
    target.active = bool(data.get("active", target.active if reply else True))
    try:
        target.sort_order = max(0, int(data.get("sort_order", target.sort_order) or 0))
    except (TypeError, ValueError):
        errors["sort_order"] = [_("Enter a whole number.")]
    if not target.title:
        errors["title"] = [_("This field is required.")]
    if not target.body:
        errors["body"] = [_("This field is required.")]
    _require(errors)
    with acting(actor):
        target.save()
    return target


@transaction.atomic
def canned_reply_delete(*, actor: User, reply: CannedReply) -> None:
    require_perm(actor, "tickets.delete_cannedreply")
    with acting(actor):
        reply.delete()


def canned_reply_render(reply: CannedReply, *, ticket: Ticket | None, agent: User) -> str:
    """Fill the placeholders; unknown ones stay as written so a typo shows rather than vanishes."""
    values = {
        "customer_name": (ticket.contact_name or (ticket.customer.name if ticket.customer_id else ""))
        if ticket
        else "",
        "agent_name": str(agent),
        "ticket_number": ticket.number if ticket else "",
    }
    text = reply.body
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@transaction.atomic
def ticket_group_save(
    *, actor: User, data: Mapping[str, Any], group: TicketGroup | None = None
) -> TicketGroup:
    require_perm(actor, "tickets.change_ticketgroup" if group else "tickets.add_ticketgroup")
    errors: dict[str, list[str]] = {}
    target = group or TicketGroup()
    target.name = _text(data.get("name", target.name), 100)
    if not target.name:
        errors["name"] = [_("This field is required.")]
    elif TicketGroup.objects.filter(name=target.name).exclude(pk=target.pk).exists():
        errors["name"] = [_("A group with this name exists already.")]
    department = data.get("department", getattr(target, "department", None) if target.department_id else None)
    if department is None:
        errors["department"] = [_("This field is required.")]
    else:
        target.department = department
    target.assign_mode = _choice(
        data.get("assign_mode", target.assign_mode), AssignMode, "assign_mode", errors
    )
    target.active = bool(data.get("active", target.active if group else True))
    _require(errors)
    with acting(actor):
        target.save()
    if "members" in data:
        members = list(data["members"])
        bad = [str(m) for m in members if not _may_handle(m)]
        if bad:
            raise ValidationFailed(
                _("These people cannot handle tickets: %(names)s") % {"names": ", ".join(bad)},
                detail={"members": [_("Not allowed.")]},
            )
        target.members.set(members)
    return target


def complaint_category_or_404(pk: int) -> ComplaintCategory:
    category = ComplaintCategory.objects.filter(pk=pk, active=True).first()
    if category is None:
        raise NotFound()
    return category


def active_query() -> Q:
    return Q(state__in=[TicketState.OPEN, TicketState.PENDING])


@transaction.atomic
def complaint_category_save(
    *, actor: User, data: Mapping[str, Any], category: ComplaintCategory | None = None
) -> ComplaintCategory:
    """Add or rename a complaint category; one no longer used is made inactive, not deleted."""
    require_perm(actor, "tickets.change_complaintcategory" if category else "tickets.add_complaintcategory")
    errors: dict[str, list[str]] = {}
    target = category or ComplaintCategory()
    target.name = _text(data.get("name", target.name), 100)
    if not target.name:
        errors["name"] = [_("This field is required.")]
    elif ComplaintCategory.objects.filter(name=target.name).exclude(pk=target.pk).exists():
        errors["name"] = [_("A category with this name exists already.")]
    try:
        target.sort_order = max(0, int(data.get("sort_order", target.sort_order) or 0))
    except (TypeError, ValueError):
        errors["sort_order"] = [_("Enter a whole number.")]
    target.active = bool(data.get("active", target.active if category else True))
    _require(errors)
    with acting(actor):
        target.save()
    return target
