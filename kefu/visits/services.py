"""Writes to return visits. Pages, the API, the cadence job and the signal receivers come through here."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.core import calendar
from kefu.core.errors import Conflict, NotFound, ValidationFailed
from kefu.core.history import acting
from kefu.core.notifications import notify
from kefu.core.permissions import require_perm, require_visible
from kefu.customers.models import ContactChannel, Customer, Lifecycle, Tier
from kefu.visits.models import (
    ACTIVITY_PURPOSES,
    DEFAULT_RULES,
    OPEN_STATES,
    CadencePolicy,
    CadenceRule,
    EventKind,
    Outcome,
    RetryPolicy,
    Satisfaction,
    Visit,
    VisitEvent,
    VisitPurpose,
    VisitRole,
    VisitScript,
    VisitSource,
    VisitState,
)
from kefu.visits.workflow import TRANSITIONS, UNANSWERED

log = logging.getLogger(__name__)

# Customers the cadence no longer visits: the relation has ended.
ENDED = (Lifecycle.LOST, Lifecycle.CLOSED)


def _require(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)


def _text(value: Any, limit: int) -> str:
    return str(value or "").strip()[:limit]


def visit_url(visit: Visit) -> str:
    """A plain path, so notifications written by jobs need no URL configuration."""
    return f"/visits/{visit.pk}/"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _event(
    visit: Visit,
    kind: str,
    *,
    actor: User | None,
    outcome: str = "",
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    data: Mapping[str, Any] | None = None,
) -> VisitEvent:
    return VisitEvent.objects.create(
        visit=visit,
        kind=kind,
        outcome=outcome,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=dict(data or {}),
        actor=actor if getattr(actor, "pk", None) else None,
        at=timezone.now(),
    )


def _lock(visit: Visit, *, version: int | None = None) -> Visit:
    locked = Visit.objects.select_for_update(of=("self",)).select_related("customer").get(pk=visit.pk)
    if version is not None and locked.version != version:
        raise Conflict(_("Someone else has just worked this visit; reload to see what they recorded."))
    return locked


def _save(visit: Visit, actor: User | None) -> None:
    visit.version += 1
    with acting(actor):
        visit.save()


# --- who visits ---------------------------------------------------------------------------------


def users_with_role(role: str) -> list[User]:
    return list(User.objects.filter(is_active=True, groups__role__code=role).distinct().order_by("id"))


def _least_loaded(candidates: list[User]) -> User | None:
    if not candidates:
        return None
    load = dict(
        Visit.objects.filter(assignee__in=candidates, state__in=OPEN_STATES)
        .values_list("assignee")
        .annotate(n=Count("id"))
        .values_list("assignee", "n")
    )
    return min(candidates, key=lambda user: (load.get(user.pk, 0), user.pk))


def pick_assignee(customer: Customer, role: str) -> User | None:
    """The agent rule of SPEC §3: the customer's owner if an agent, else an agent of the customer's
    department (the least loaded), else nobody (the supervisor's unassigned list); other roles:
    the least loaded holder of the role."""
    if role == VisitRole.AGENT:
        agents = users_with_role(VisitRole.AGENT)
        owner = next((u for u in agents if u.pk == customer.owner_id), None)
        if owner is not None:
            return owner
        return _least_loaded([u for u in agents if u.department_id == customer.department_id])
    return _least_loaded(users_with_role(role))


# --- creating visits --------------------------------------------------------------------------------


@dataclass
class VisitInput:
    customer: Customer
    purpose: str = VisitPurpose.RETURN_VISIT
    source: str = VisitSource.MANUAL
    due_on: dt.date | None = None
    deadline: dt.date | None = None
    assignee: User | None = None
    role: str = VisitRole.AGENT
    reference: str = ""
    note: str = ""


def _validate(data: VisitInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.purpose not in VisitPurpose.values:
        errors["purpose"] = [_("Choose one of the listed values.")]
    if data.source not in VisitSource.values:
        errors["source"] = [_("Choose one of the listed values.")]
    if data.role not in VisitRole.values:
        errors["role"] = [_("Choose one of the listed values.")]
    if data.due_on and data.deadline and data.deadline < data.due_on:
        errors["deadline"] = [_("The deadline cannot be before the due date.")]
    if data.assignee is not None and not data.assignee.is_active:
        errors["assignee"] = [_("This person is no longer active.")]
    data.reference = _text(data.reference, 100)
    return errors


def _new_visit(
    data: VisitInput,
    *,
    actor: User | None,
    policy: CadencePolicy,
    dedupe_key: str | None = None,
    source_ticket_id: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Visit | None:
    """Insert one visit; None when its dedupe key was already planned (a repeated signal)."""
    today = timezone.localdate()
    due_on = data.due_on or today
    deadline = data.deadline or calendar.add_working_days(due_on, policy.open_days)
    customer = data.customer
    assignee = data.assignee if data.assignee is not None else pick_assignee(customer, data.role)
    visit = Visit(
        customer=customer,
        purpose=data.purpose,
        source=data.source,
        reference=data.reference,
        source_ticket_id=source_ticket_id,
        dedupe_key=dedupe_key,
        cadence_policy=policy if policy.pk else None,
        tier=customer.tier,
        role=data.role,
        department_id=customer.department_id or getattr(assignee, "department_id", None),
        assignee=assignee,
        due_on=due_on,
        deadline=deadline,
        created_by=actor if getattr(actor, "pk", None) else None,
        **dict(extra or {}),
    )
    try:
        with transaction.atomic(), acting(actor):
            visit.save()
    except IntegrityError:
        if dedupe_key and Visit.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    _event(
        visit,
        EventKind.CREATED,
        actor=actor,
        to_state=visit.state,
        note=_text(data.note, 2000),
        data={"source": visit.source, "assignee": visit.assignee_id},
    )
    if assignee is not None and assignee != actor:
        transaction.on_commit(
            lambda: notify(
                [assignee],
                _("A return visit to %(customer)s is due on %(day)s.")
                % {"customer": customer.name, "day": due_on.isoformat()},
                url=visit_url(visit),
            )
        )
    return visit


@transaction.atomic
def visit_create(*, actor: User, data: VisitInput) -> Visit:
    """Plan a visit by hand (or for a field service, with its reference)."""
    require_perm(actor, "visits.add_visit")
    require_visible(actor, data.customer)
    if data.assignee is not None and data.assignee != actor:
        require_perm(actor, "visits.assign_visit")
    if data.source not in (VisitSource.MANUAL, VisitSource.SERVICE):
        raise ValidationFailed(
            _("Only visits by hand or after a field service are created here."),
            detail={"source": [_("Choose by hand or field service.")]},
        )
    if data.due_on and data.due_on < timezone.localdate() - dt.timedelta(days=366):
        raise ValidationFailed(
            _("The due date is too far in the past."), detail={"due_on": [_("Too early.")]}
        )
    _require(_validate(data))
    visit = _new_visit(data, actor=actor, policy=CadencePolicy.in_force())
    assert visit is not None  # no dedupe key: nothing to collide with
    return visit


@transaction.atomic
def visit_record_activity(
    *,
    actor: User,
    customer: Customer,
    purpose: str,
    summary: str,
    channel: str = ContactChannel.PHONE,
    happened_at: dt.datetime | None = None,
) -> Visit:
    """A briefing, invitation, news or newsletter given to the customer: a visit done at once,
    also written as a contact record so the at-risk list sees the contact."""
    require_perm(actor, "visits.change_visit")
    require_visible(actor, customer)
    errors: dict[str, list[str]] = {}
    if purpose not in ACTIVITY_PURPOSES:
        errors["purpose"] = [_("Choose a briefing, an invitation, company news or the newsletter.")]
    if channel not in ContactChannel.values:
        errors["channel"] = [_("Choose one of the listed values.")]
    summary = _text(summary, 2000)
    if not summary:
        errors["summary"] = [_("Say what was given or announced.")]
    happened_at = happened_at or timezone.now()
    if happened_at > timezone.now() + dt.timedelta(minutes=5):
        errors["happened_at"] = [_("In the future.")]
    _require(errors)
    data = VisitInput(
        customer=customer,
        purpose=purpose,
        source=VisitSource.MANUAL,
        assignee=actor,
        due_on=timezone.localdate(),
    )
    visit = _new_visit(data, actor=actor, policy=CadencePolicy.in_force())
    assert visit is not None
    visit.state = VisitState.DONE
    visit.summary = summary
    visit.completed_at = happened_at
    visit.completed_by = actor
    _save(visit, actor)
    _event(
        visit,
        EventKind.ATTEMPT,
        actor=actor,
        outcome=Outcome.REACHED,
        from_state=VisitState.PLANNED,
        to_state=VisitState.DONE,
        note=summary,
        data={"channel": channel},
    )
    _contact_record(visit, actor=actor, channel=channel, happened_at=happened_at)
    return visit


def _contact_record(visit: Visit, *, actor: User, channel: str, happened_at: dt.datetime) -> None:
    from kefu.customers.services import contact_record_create

    text = f"{visit.get_purpose_display()}: {visit.summary or visit.get_state_display()}"
    # The visit service has checked the actor may work this visit; a president who visits a
    # customer must be able to leave the contact on the file without the archive's rights.
    contact_record_create(
        actor=actor,
        customer=visit.customer,
        summary=text[:500],
        channel=channel,
        happened_at=happened_at,
        skip_permission=True,
    )


# --- working a visit ---------------------------------------------------------------------------------


@dataclass
class Issue:
    """Something the customer raised during the visit: opened as a ticket linked to the visit."""

    subject: str
    description: str = ""
    kind: str = "inquiry"


@dataclass
class AttemptInput:
    outcome: str
    note: str = ""
    booked_at: dt.datetime | None = None
    answers: list[dict[str, str]] = field(default_factory=list)
    satisfaction: int | None = None
    summary: str = ""
    issue: Issue | None = None
    channel: str = ContactChannel.PHONE


def _clean_answers(answers: Iterable[Any]) -> list[dict[str, str]]:
    cleaned = []
    for item in list(answers or [])[:50]:
        if not isinstance(item, Mapping):
            continue
        question, answer = _text(item.get("question"), 300), _text(item.get("answer"), 2000)
        if question or answer:
            cleaned.append({"question": question, "answer": answer})
    return cleaned


@transaction.atomic
def visit_record_attempt(
    *, actor: User, visit: Visit, data: AttemptInput, version: int | None = None
) -> Visit:
    """One call (or visit) and its outcome: reached, no answer, busy, wrong number, call me at…"""
    require_perm(actor, "visits.view_visit")
    require_visible(actor, visit)
    locked = _lock(visit, version=version)
    transition = TRANSITIONS.get((locked.state, data.outcome))
    if data.outcome not in Outcome.values:
        raise ValidationFailed(
            _("Choose one of the listed outcomes."), detail={"outcome": [_("Unknown outcome.")]}
        )
    if transition is None:
        raise Conflict(
            _("A visit that is “%(state)s” takes no more attempts.") % {"state": locked.get_state_display()},
            code="invalid_transition",
        )
    require_perm(actor, transition.permission)
    now = timezone.now()
    note = _text(data.note, 2000)
    errors: dict[str, list[str]] = {}
    source = locked.state
    event_data: dict[str, Any] = {}
    if data.outcome == Outcome.REACHED:
        _reached(locked, data, actor=actor, now=now, errors=errors)
        event_data = {"satisfaction": locked.satisfaction, "issue_ticket": locked.issue_ticket_id}
    elif data.outcome in UNANSWERED:
        policy = RetryPolicy.in_force()
        locked.retry_policy = policy if policy.pk else None
        locked.attempts += 1
        if locked.attempts >= policy.attempts_before_callback:
            locked.state = VisitState.CALLBACK
            locked.next_attempt_at = calendar.add_working_time(
                now, dt.timedelta(hours=policy.callback_within_hours)
            )
        else:
            locked.state = VisitState.PLANNED
            locked.next_attempt_at = now + dt.timedelta(minutes=policy.retry_delay_minutes)
        event_data = {"attempt": locked.attempts, "limit": policy.attempts_before_callback}
    elif data.outcome == Outcome.CALL_LATER:
        if data.booked_at is None:
            errors["booked_at"] = [_("Record the time the customer asked to be called.")]
        elif data.booked_at < now - dt.timedelta(minutes=5):
            errors["booked_at"] = [_("The booked time has already passed.")]
        else:
            locked.state = VisitState.SCHEDULED
            locked.booked_at = locked.next_attempt_at = data.booked_at
            event_data = {"booked_at": data.booked_at.isoformat()}
    elif data.outcome == Outcome.WRONG_NUMBER:
        locked.state = VisitState.FAILED
        locked.next_attempt_at = None
        locked.completed_at = now
        locked.completed_by = actor
    _require(errors)
    _save(locked, actor)
    _event(
        locked,
        EventKind.ATTEMPT,
        actor=actor,
        outcome=data.outcome,
        from_state=source,
        to_state=locked.state,
        note=note,
        data=event_data,
    )
    if locked.state == VisitState.CALLBACK and source != VisitState.CALLBACK:
        _event(locked, EventKind.CALLBACK, actor=None, from_state=source, to_state=locked.state)
        if locked.assignee is not None:
            assignee, target = locked.assignee, locked
            transaction.on_commit(
                lambda: notify(
                    [assignee],
                    _("%(customer)s did not answer: call back by %(time)s.")
                    % {
                        "customer": target.customer.name,
                        "time": timezone.localtime(target.next_attempt_at).strftime("%Y-%m-%d %H:%M"),
                    },
                    url=visit_url(target),
                )
            )
    if data.outcome == Outcome.REACHED:
        _contact_record(locked, actor=actor, channel=data.channel, happened_at=now)
    return locked


def _reached(
    visit: Visit, data: AttemptInput, *, actor: User, now: dt.datetime, errors: dict[str, list[str]]
) -> None:
    if data.channel not in ContactChannel.values:
        errors["channel"] = [_("Choose one of the listed values.")]
    if data.satisfaction is not None and data.satisfaction not in Satisfaction.values:
        errors["satisfaction"] = [_("Choose one of the five levels.")]
    if data.satisfaction is None and not visit.is_activity:
        errors["satisfaction"] = [_("Record how satisfied the customer is.")]
    if errors:
        return
    visit.answers = _clean_answers(data.answers)
    visit.satisfaction = data.satisfaction
    visit.summary = _text(data.summary, 5000)
    visit.state = VisitState.DONE
    visit.next_attempt_at = None
    visit.completed_at = now
    visit.completed_by = actor
    issue = data.issue
    dissatisfied = data.satisfaction is not None and data.satisfaction <= Satisfaction.DISSATISFIED
    if issue is None and dissatisfied:
        # SPEC §5: a customer who answers "dissatisfied" raises a follow-up case automatically.
        issue = Issue(
            subject=_("Dissatisfied at the return visit: %(customer)s") % {"customer": visit.customer.name},
            description=visit.summary,
            kind="complaint",
        )
    if issue is not None:
        visit.issue_ticket = _open_ticket(visit, issue, actor=actor, errors=errors)


def _open_ticket(visit: Visit, issue: Issue, *, actor: User, errors: dict[str, list[str]]) -> Any:
    from kefu.core.errors import DomainError
    from kefu.tickets.services import TicketInput, ticket_create

    if not _text(issue.subject, 200):
        errors["issue_subject"] = [_("Say in a few words what the customer raised.")]
        return None
    data = TicketInput(
        kind=issue.kind,
        channel="phone",
        subject=_text(issue.subject, 200),
        description=_text(issue.description, 20000),
        customer=visit.customer,
        contact_name=visit.customer.name[:50],
    )
    try:
        # The visit service has checked the actor may work this visit; whoever visits (a
        # president too) must be able to pass on what the customer raised.
        return ticket_create(actor=actor, data=data, skip_permission=True)
    except DomainError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        errors.update(
            {f"issue_{name}": problems for name, problems in detail.items()} or {"issue": [exc.message]}
        )
        return None


@transaction.atomic
def visit_transition(
    *, actor: User, visit: Visit, action: str, note: str = "", version: int | None = None
) -> Visit:
    """Cancel an open visit or reopen a cancelled / unreachable one (supervisors and managers)."""
    require_perm(actor, "visits.view_visit")
    require_visible(actor, visit)
    locked = _lock(visit, version=version)
    transition = TRANSITIONS.get((locked.state, action))
    if action not in ("cancel", "reopen") or transition is None:
        raise Conflict(
            _("A visit that is “%(state)s” cannot do “%(action)s”.")
            % {"state": locked.get_state_display(), "action": action},
            code="invalid_transition",
        )
    require_perm(actor, transition.permission)
    note = _text(note, 300)
    if transition.needs_note and not note:
        raise ValidationFailed(_("Add a note saying why."), detail={"note": [_("This field is required.")]})
    source = locked.state
    locked.state = transition.target
    if action == "cancel":
        locked.cancel_reason = note
        locked.next_attempt_at = None
    else:
        locked.cancel_reason = ""
        locked.attempts = 0
        locked.completed_at = None
        locked.completed_by = None
        locked.deadline = max(locked.deadline, timezone.localdate())
    _save(locked, actor)
    _event(
        locked,
        EventKind.CANCELLED if action == "cancel" else EventKind.REOPENED,
        actor=actor,
        from_state=source,
        to_state=locked.state,
        note=note,
    )
    return locked


@transaction.atomic
def visit_assign(
    *, actor: User, visit: Visit, assignee: User, note: str = "", version: int | None = None
) -> Visit:
    require_perm(actor, "visits.assign_visit")
    require_visible(actor, visit)
    locked = _lock(visit, version=version)
    if not locked.is_open:
        raise Conflict(_("Only an open visit can be given to someone else."), code="invalid_transition")
    if not assignee.is_active:
        raise ValidationFailed(
            _("This person is no longer active."), detail={"assignee": [_("Inactive staff member.")]}
        )
    if not assignee.has_perm("visits.change_visit"):
        raise ValidationFailed(
            _("%(name)s may not work return visits.") % {"name": assignee},
            detail={"assignee": [_("This person may not work return visits.")]},
        )
    previous = locked.assignee_id
    locked.assignee = assignee
    _save(locked, actor)
    _event(
        locked,
        EventKind.ASSIGNED,
        actor=actor,
        note=_text(note, 300),
        data={"from": previous, "to": assignee.pk, "to_name": str(assignee)},
    )
    if assignee != actor:
        transaction.on_commit(
            lambda: notify(
                [assignee],
                _("A return visit to %(customer)s was given to you.") % {"customer": locked.customer.name},
                url=visit_url(locked),
            )
        )
    return locked


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def visits_bulk_assign(
    *, actor: User, visit_ids: Iterable[int], assignee: User, note: str = ""
) -> BulkResult:
    require_perm(actor, "visits.bulk_visit")
    require_perm(actor, "visits.assign_visit")
    result = BulkResult()
    ids = [pk for pk in dict.fromkeys(visit_ids) if 0 < pk < 2**63]
    for visit in Visit.objects.visible_to(actor).filter(pk__in=ids).order_by("pk"):
        try:
            visit_assign(actor=actor, visit=visit, assignee=assignee, note=note)
        except (Conflict, ValidationFailed) as exc:
            result.failed[visit.pk] = exc.message
        else:
            result.done.append(visit.pk)
    return result


@transaction.atomic
def visits_bulk_create(
    *,
    actor: User,
    customers: Any,
    purpose: str,
    due_on: dt.date,
    deadline: dt.date | None = None,
    assignee: User | None = None,
    note: str = "",
    limit: int = 5000,
) -> int:
    """One visit for each customer of a filtered list (a queryset already limited to the actor's
    scope). Refuses more than `limit` at once: that is a cadence, not a bulk action."""
    require_perm(actor, "visits.bulk_visit")
    require_perm(actor, "visits.add_visit")
    if assignee is not None and assignee != actor:
        require_perm(actor, "visits.assign_visit")
    errors = _validate(VisitInput(customer=Customer(), purpose=purpose, due_on=due_on, deadline=deadline))
    if due_on < timezone.localdate() - dt.timedelta(days=366):
        errors["due_on"] = [_("The due date is too far in the past.")]
    _require(errors)
    rows = list(customers.order_by().values_list("pk", "tier", "department_id", "owner_id")[: limit + 1])
    if len(rows) > limit:
        raise ValidationFailed(
            _("More than %(limit)d customers match; narrow the filters.") % {"limit": limit},
            detail={"customers": [_("Too many customers.")]},
        )
    policy = CadencePolicy.in_force()
    deadline = deadline or calendar.add_working_days(due_on, policy.open_days)
    agents = users_with_role(VisitRole.AGENT)
    agent_ids = {u.pk for u in agents}
    by_department: dict[int | None, list[int]] = {}
    for user in agents:
        by_department.setdefault(user.department_id, []).append(user.pk)
    now = timezone.now()
    visits = []
    for pk, tier, department_id, owner_id in rows:
        if assignee is not None:
            assignee_id: int | None = assignee.pk
        elif owner_id in agent_ids:
            assignee_id = owner_id
        else:
            pool = by_department.get(department_id) or []
            assignee_id = pool[pk % len(pool)] if pool else None
        visits.append(
            Visit(
                customer_id=pk,
                purpose=purpose,
                source=VisitSource.BULK,
                reference=_text(note, 100),
                cadence_policy=policy if policy.pk else None,
                tier=tier,
                role=VisitRole.AGENT,
                department_id=department_id,
                assignee_id=assignee_id,
                due_on=due_on,
                deadline=deadline,
                created_by=actor,
                created_at=now,
            )
        )
    Visit.objects.bulk_create(visits, batch_size=1000)
    return len(visits)


# --- sources: complaints, purchases, lost customers ----------------------------------------------------


def visits_for_closed_complaint(*, ticket_id: int, closed_at: dt.datetime) -> list[Visit]:
    """SPEC §4: an evaluation visit at once (客户评价单) and a follow-up a month after closing."""
    from kefu.tickets.models import Ticket

    ticket = Ticket.objects.select_related("customer", "assignee").filter(pk=ticket_id).first()
    if ticket is None or ticket.customer is None:
        return []  # a complaint without a customer on file has nobody to visit
    policy = CadencePolicy.in_force()
    handler = ticket.assignee if ticket.assignee is not None and ticket.assignee.is_active else None
    closed_on = timezone.localtime(closed_at).date()
    planned = []
    with transaction.atomic():
        for purpose, due_on, key in (
            (VisitPurpose.EVALUATION, closed_on, f"complaint-evaluation:{ticket.pk}"),
            (
                VisitPurpose.FOLLOW_UP,
                add_months(closed_on, policy.follow_up_months),
                f"complaint-follow-up:{ticket.pk}",
            ),
        ):
            data = VisitInput(
                customer=ticket.customer,
                purpose=purpose,
                source=VisitSource.COMPLAINT,
                due_on=due_on,
                assignee=handler,
                role=VisitRole.COMPLAINT_SPECIALIST,
                reference=ticket.number,
            )
            visit = _new_visit(data, actor=None, policy=policy, dedupe_key=key, source_ticket_id=ticket.pk)
            if visit is not None:
                planned.append(visit)
    return planned


def visit_for_purchase(*, customer_id: int, trade_id: int) -> Visit | None:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    policy = CadencePolicy.in_force()
    data = VisitInput(
        customer=customer,
        purpose=VisitPurpose.PURCHASE,
        source=VisitSource.PURCHASE,
        due_on=timezone.localdate() + dt.timedelta(days=policy.purchase_delay_days),
        reference=str(trade_id),
    )
    with transaction.atomic():
        return _new_visit(data, actor=None, policy=policy, dedupe_key=f"purchase:{trade_id}")


def visit_for_lost_customer(*, customer_id: int) -> Visit | None:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return None
    policy = CadencePolicy.in_force()
    today = timezone.localdate()
    data = VisitInput(
        customer=customer,
        purpose=VisitPurpose.WIN_BACK,
        source=VisitSource.LOST,
        due_on=today + dt.timedelta(days=policy.win_back_delay_days),
        reference=customer.lost_reason[:100],
    )
    with transaction.atomic():
        # One win-back visit per loss: lost again later (after coming back) is a new loss.
        return _new_visit(data, actor=None, policy=policy, dedupe_key=f"lost:{customer_id}:{today:%Y%m%d}")


# --- the tier cadence -----------------------------------------------------------------------------------


@dataclass
class PlanResult:
    created: int = 0
    cancelled: int = 0
    reopened: int = 0
    rules: dict[str, int] = field(default_factory=dict)


def _pick_sql(column: str, ids: list[int]) -> str:
    """SQL choosing one of `ids` by the customer id, spreading customers evenly (no round trip)."""
    if not ids:
        return "NULL"
    if len(ids) == 1:
        return str(ids[0])
    whens = " ".join(f"WHEN {n} THEN {pk}" for n, pk in enumerate(ids))
    # %% is one % once the driver (or Django's SQLite wrapper) has put the parameters in.
    return f"CASE ({column} %% {len(ids)}) {whens} END"


def _assignee_sql(role: str) -> str:
    holders = users_with_role(role)
    if role != VisitRole.AGENT:
        return _pick_sql("c.id", [u.pk for u in holders])
    by_department: dict[int, list[int]] = {}
    for user in holders:
        if user.department_id:
            by_department.setdefault(user.department_id, []).append(user.pk)
    department = (
        "CASE c.department_id "
        + " ".join(f"WHEN {d} THEN {_pick_sql('c.id', ids)}" for d, ids in sorted(by_department.items()))
        + " ELSE NULL END"
        if by_department
        else "NULL"
    )
    if not holders:
        return "NULL"
    owners = ",".join(str(u.pk) for u in holders)
    return f"CASE WHEN c.owner_id IN ({owners}) THEN c.owner_id ELSE {department} END"


def _warranted_sql(rule: CadenceRule) -> tuple[str, list[Any]]:
    tiers = [t for t in rule.tiers if t in (Tier.A, Tier.B, Tier.C)] or ["-"]
    marks = ",".join(["%s"] * len(tiers))
    ended = ",".join(["%s"] * len(ENDED))
    return f"c.tier IN ({marks}) AND c.lifecycle NOT IN ({ended})", [*tiers, *ENDED]


def _insert_period(
    rule: CadenceRule, policy: CadencePolicy, today: dt.date, *, batch_size: int, now: dt.datetime
) -> int:
    start, end = rule.period_of(today)
    visit_table = Visit._meta.db_table
    customer_table = Customer._meta.db_table
    warranted, warranted_params = _warranted_sql(rule)
    verb = "INSERT OR IGNORE INTO" if connection.vendor == "sqlite" else "INSERT INTO"
    tail = "" if connection.vendor == "sqlite" else " ON CONFLICT DO NOTHING"
    columns = (
        "created_at, updated_at, customer_id, purpose, source, reference, dedupe_key, cadence_rule, "
        "period_start, cadence_policy_id, tier, role, department_id, assignee_id, state, due_on, deadline, "
        "attempts, answers, summary, cancel_reason, version"
    )
    sql = (
        f"{verb} {visit_table} ({columns}) "
        f"SELECT %s, %s, c.id, %s, %s, '', CAST(%s AS VARCHAR(40)) || CAST(c.id AS VARCHAR(20)), %s, %s, %s, "
        f"c.tier, %s, "
        f"c.department_id, {_assignee_sql(rule.role)}, %s, %s, %s, 0, '[]', '', '', 1 "
        f"FROM {customer_table} c WHERE c.id > %s AND c.id <= %s AND {warranted}{tail}"
    )
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    head = [
        stamp,
        stamp,
        VisitPurpose.RETURN_VISIT,
        VisitSource.CADENCE,
        rule.key_prefix(start),
        rule.code,
        ops.adapt_datefield_value(start),
        policy.pk,
        rule.role,
        VisitState.PLANNED,
        ops.adapt_datefield_value(start),
        ops.adapt_datefield_value(end),
    ]
    bounds = Customer.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = (bounds["low"] or 1) - 1, bounds["high"] or 0
    created = 0
    while low < high:
        upper = low + batch_size
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*head, low, upper, *warranted_params])
            created += max(cursor.rowcount, 0)
        low = upper
    return created


def _cancel_unwarranted(rules: list[CadenceRule], today: dt.date, *, now: dt.datetime) -> int:
    """Open cadence visits that no rule warrants any more (the tier went down, the customer was
    lost, the rule was removed or no longer covers the tier) are cancelled with the reason."""
    cancelled = 0
    codes = [rule.code for rule in rules]
    stale = Visit.objects.filter(
        source=VisitSource.CADENCE, state__in=OPEN_STATES, period_start__isnull=False
    )
    candidates: list[tuple[Any, str]] = [
        (stale.exclude(cadence_rule__in=codes), str(_("The cadence policy no longer has this visit.")))
    ]
    for rule in rules:
        tiers = [t for t in rule.tiers if t in (Tier.A, Tier.B, Tier.C)]
        # Joined from the period's few open visits to their customers, not the other way round:
        # the customers no rule wants are nearly all of them.
        unwarranted = ~Q(customer__tier__in=tiers) | Q(customer__lifecycle__in=ENDED)
        candidates.append(
            (
                stale.filter(unwarranted, cadence_rule=rule.code),
                str(
                    _("The customer's tier or lifecycle no longer calls for this visit (rule %(rule)s).")
                    % {"rule": rule.code}
                ),
            )
        )
    for queryset, reason in candidates:
        while True:
            with transaction.atomic():
                ids = list(queryset.values_list("pk", flat=True)[:2000])
                if not ids:
                    break
                Visit.objects.filter(pk__in=ids, state__in=OPEN_STATES).update(
                    state=VisitState.CANCELLED,
                    cancel_reason=reason[:300],
                    next_attempt_at=None,
                    updated_at=now,
                )
                VisitEvent.objects.bulk_create(
                    VisitEvent(
                        visit_id=pk,
                        kind=EventKind.CANCELLED,
                        to_state=VisitState.CANCELLED,
                        note=reason,
                        data={"automatic": True},
                        at=now,
                    )
                    for pk in ids
                )
                cancelled += len(ids)
    return cancelled


def visits_plan_due(*, today: dt.date | None = None, batch_size: int = 50_000) -> PlanResult:
    """The daily job: plan every visit the cadence calls for in the current periods, and cancel
    the ones it no longer calls for. Set-based (INSERT … SELECT in id ranges) and idempotent: the
    dedupe key (rule × period × customer) makes a re-run, or two servers at once, plan nothing twice.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    policy = CadencePolicy.in_force(today)
    rules = policy.rule_list()
    result = PlanResult()
    result.cancelled = _cancel_unwarranted(rules, today, now=now)
    for rule in rules:
        count = _insert_period(rule, policy, today, batch_size=batch_size, now=now) if policy.pk else 0
        result.rules[rule.code] = count
        result.created += count
    return result


def _cancel_automatically(visit: Visit, reason: str) -> None:
    source = visit.state
    visit.state = VisitState.CANCELLED
    visit.cancel_reason = reason[:300]
    visit.next_attempt_at = None
    _save(visit, None)
    _event(
        visit,
        EventKind.CANCELLED,
        actor=None,
        from_state=source,
        to_state=VisitState.CANCELLED,
        note=reason,
        data={"automatic": True},
    )


def visits_sync_customer(*, customer_id: int, today: dt.date | None = None) -> PlanResult:
    """Keep one customer's cadence visits in step after a tier or lifecycle change: plan what the
    new tier calls for in the current periods (or reopen what a change cancelled), cancel every
    open cadence visit it no longer calls for."""
    today = today or timezone.localdate()
    result = PlanResult()
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return result
    policy = CadencePolicy.in_force(today)
    if policy.pk is None:
        return result
    rules = policy.rule_list()
    reason = _("Tier changed to %(tier)s: this visit is no longer due.") % {"tier": customer.tier or "-"}
    if customer.lifecycle in ENDED:
        reason = _("The customer is “%(lifecycle)s”: this visit is no longer due.") % {
            "lifecycle": customer.get_lifecycle_display()
        }

    def warranted(rule: CadenceRule) -> bool:
        return bool(customer.tier) and customer.tier in rule.tiers and customer.lifecycle not in ENDED

    with transaction.atomic():
        open_visits = list(
            Visit.objects.select_for_update()
            .filter(customer=customer, source=VisitSource.CADENCE, state__in=OPEN_STATES)
            .exclude(cadence_rule__in=[rule.code for rule in rules if warranted(rule)])
        )
        for visit in open_visits:
            _cancel_automatically(visit, reason)
            result.cancelled += 1
    for rule in rules:
        if not warranted(rule):
            continue
        start, end = rule.period_of(today)
        key = rule.key(start, customer.pk)
        with transaction.atomic():
            existing = Visit.objects.select_for_update().filter(dedupe_key=key).first()
            if existing is None:
                visit = _new_visit(
                    VisitInput(
                        customer=customer,
                        purpose=VisitPurpose.RETURN_VISIT,
                        source=VisitSource.CADENCE,
                        due_on=start,
                        deadline=end,
                        role=rule.role,
                    ),
                    actor=None,
                    policy=policy,
                    dedupe_key=key,
                    extra={"cadence_rule": rule.code, "period_start": start},
                )
                if visit is not None:
                    result.created += 1
            elif (
                existing.state == VisitState.CANCELLED
                and existing.events.filter(kind=EventKind.CANCELLED, data__automatic=True).exists()
            ):
                existing.state = VisitState.PLANNED
                existing.cancel_reason = ""
                existing.tier = customer.tier
                _save(existing, None)
                _event(
                    existing,
                    EventKind.REOPENED,
                    actor=None,
                    from_state=VisitState.CANCELLED,
                    to_state=VisitState.PLANNED,
                    note=_("The customer's tier calls for this visit again."),
                )
                result.reopened += 1
    return result


# --- policies and scripts ---------------------------------------------------------------------------------


@transaction.atomic
def cadence_policy_create(
    *,
    actor: User,
    effective_from: dt.date,
    rules: list[Mapping[str, Any]],
    follow_up_months: int = 1,
    purchase_delay_days: int = 3,
    win_back_delay_days: int = 0,
    open_days: int = 7,
    note: str = "",
) -> CadencePolicy:
    require_perm(actor, "visits.add_cadencepolicy")
    errors: dict[str, list[str]] = {}
    if effective_from < timezone.localdate():
        errors["effective_from"] = [_("A new version takes effect today or later.")]
    if not 0 <= follow_up_months <= 24:
        errors["follow_up_months"] = [_("Between 0 and 24 months.")]
    for name, value in (
        ("purchase_delay_days", purchase_delay_days),
        ("win_back_delay_days", win_back_delay_days),
        ("open_days", open_days),
    ):
        if not 0 <= value <= 365:
            errors[name] = [_("Between 0 and 365 days.")]
    cleaned = []
    seen: set[str] = set()
    for n, rule in enumerate(rules):
        code = _text(rule.get("code"), 30)
        tiers = "".join(sorted({t for t in str(rule.get("tiers") or "").upper() if t in "ABC"}))
        every = rule.get("every_months")
        if not code or not code.replace("-", "").replace("_", "").isalnum() or code in seen:
            errors[f"rules.{n}.code"] = [_("Give each rule its own short code (letters, digits).")]
        if rule.get("role") not in VisitRole.values:
            errors[f"rules.{n}.role"] = [_("Choose one of the listed values.")]
        if not tiers:
            errors[f"rules.{n}.tiers"] = [_("Choose at least one tier.")]
        if not isinstance(every, int) or every not in (1, 2, 3, 4, 6, 12):
            errors[f"rules.{n}.every_months"] = [
                _("Choose 1, 2, 3, 4, 6 or 12 months (periods fit in a year).")
            ]
        seen.add(code)
        cleaned.append({"code": code, "role": rule.get("role"), "tiers": tiers, "every_months": every})
    if not cleaned:
        errors["rules"] = [_("A cadence needs at least one rule.")]
    _require(errors)
    policy = CadencePolicy(
        effective_from=effective_from,
        follow_up_months=follow_up_months,
        purchase_delay_days=purchase_delay_days,
        win_back_delay_days=win_back_delay_days,
        open_days=open_days,
        note=_text(note, 200),
        created_by=actor,
    )
    with acting(actor):
        policy.save()
        for order, rule in enumerate(cleaned, start=1):
            CadenceRule.objects.create(policy=policy, sort_order=order, **rule)
    return policy


@transaction.atomic
def retry_policy_create(
    *,
    actor: User,
    effective_from: dt.date,
    attempts_before_callback: int,
    retry_delay_minutes: int,
    callback_within_hours: int = 24,
    note: str = "",
) -> RetryPolicy:
    require_perm(actor, "visits.add_retrypolicy")
    errors: dict[str, list[str]] = {}
    if effective_from < timezone.localdate():
        errors["effective_from"] = [_("A new version takes effect today or later.")]
    if not 1 <= attempts_before_callback <= 20:
        errors["attempts_before_callback"] = [_("Between 1 and 20 attempts.")]
    if not 1 <= retry_delay_minutes <= 7 * 24 * 60:
        errors["retry_delay_minutes"] = [_("Between 1 minute and a week.")]
    if not 1 <= callback_within_hours <= 24 * 30:
        errors["callback_within_hours"] = [_("Between 1 hour and 30 days.")]
    _require(errors)
    policy = RetryPolicy(
        effective_from=effective_from,
        attempts_before_callback=attempts_before_callback,
        retry_delay_minutes=retry_delay_minutes,
        callback_within_hours=callback_within_hours,
        note=_text(note, 200),
        created_by=actor,
    )
    with acting(actor):
        policy.save()
    return policy


SCRIPT_FIELDS = ("greeting", "ask_time", "questions", "closing", "silent_line", "second_call")


@transaction.atomic
def visit_script_save(*, actor: User, purpose: str, data: Mapping[str, Any]) -> VisitScript:
    require_perm(actor, "visits.change_visitscript")
    if purpose not in VisitPurpose.values:
        raise NotFound()
    unknown = set(data) - set(SCRIPT_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    script = VisitScript.objects.select_for_update().filter(purpose=purpose).first() or VisitScript(
        purpose=purpose
    )
    errors: dict[str, list[str]] = {}
    for name in SCRIPT_FIELDS:
        if name not in data:
            continue
        if name == "questions":
            questions = [_text(q, 300) for q in (data[name] or []) if _text(q, 300)]
            if len(questions) > 30:
                errors[name] = [_("At most 30 questions.")]
            script.questions = questions[:30]
        else:
            setattr(script, name, _text(data[name], 2000))
    for name in ("greeting", "ask_time", "closing"):
        if not getattr(script, name):
            errors[name] = [_("This field is required.")]
    _require(errors)
    script.updated_by = actor
    with acting(actor):
        script.save()
    return script


def default_rules() -> list[dict[str, Any]]:
    return [dict(rule) for rule in DEFAULT_RULES]
