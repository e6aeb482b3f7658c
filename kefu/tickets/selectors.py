"""Reads of tickets, always starting from `visible_to(user)`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from kefu.core.pages import capped_count
from kefu.core.phones import normalize_phone
from kefu.tickets.models import (
    ApprovalState,
    CannedReply,
    ComplaintCategory,
    SlaStatus,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketMail,
    TicketState,
)

TICKET_NUMBER = re.compile(r"^GD\d{4}-\d{1,6}$", re.IGNORECASE)

ACTIVE = [TicketState.OPEN, TicketState.PENDING]

QUEUES: dict[str, str] = {
    "mine": "mine",
    "group": "group",
    "unassigned": "unassigned",
    "due_today": "due_today",
    "breached": "breached",
    "approval": "approval",
    "callbacks": "callbacks",
    "all": "all",
}

SORTS: dict[str, tuple[Any, ...]] = {
    "newest": ("-id",),
    "oldest": ("id",),
    "due": ("sla_breach_at", "id"),
    "priority": ("-priority_rank", "-id"),
    "updated": ("-updated_at", "-id"),
}


def ticket_list(user: Any) -> QuerySet[Ticket]:
    return Ticket.objects.visible_to(user)


def _end_of_today() -> dt.datetime:
    today = timezone.localdate()
    return dt.datetime.combine(
        today + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
    )


def queue_q(user: Any, queue: str) -> Q:
    """The worklists of SPEC §4: mine, my group's, unassigned, due today, breached, approvals, call-backs."""
    if queue == "mine":
        return Q(assignee_id=user.pk, state__in=ACTIVE)
    if queue == "group":
        return Q(group__members=user, state__in=ACTIVE)
    if queue == "unassigned":
        return Q(assignee__isnull=True, state__in=ACTIVE)
    if queue == "due_today":
        return Q(state=TicketState.OPEN, sla_breach_at__lt=_end_of_today())
    if queue == "breached":
        return Q(state__in=ACTIVE, sla_status=SlaStatus.BREACHED)
    if queue == "approval":
        return Q(approval_state=ApprovalState.REQUESTED, state__in=ACTIVE)
    if queue == "callbacks":
        return Q(
            callback_due_at__isnull=False, callback_done_at__isnull=True, callback_due_at__lt=_end_of_today()
        ) & ~Q(state=TicketState.ARCHIVED)
    return Q()


def search_q(text: str) -> Q:
    text = (text or "").strip()
    if not text:
        return Q()
    if TICKET_NUMBER.match(text):
        prefix, _sep, number = text.upper().partition("-")
        return Q(number=f"{prefix}-{int(number):06d}")
    phone = normalize_phone(text) if sum(ch.isdigit() for ch in text) >= 7 else None
    if phone:
        return Q(contact_phone=phone) | Q(customer__phones__number=phone)
    return Q(subject__contains=text) | Q(customer__name__contains=text) | Q(contact_name=text)


def ticket_filter(user: Any, params: Mapping[str, Any]) -> QuerySet[Ticket]:
    """The list every queue page, export and API list share."""
    qs = ticket_list(user)
    queue = str(params.get("queue") or "all")
    if queue in QUEUES:
        qs = qs.filter(queue_q(user, queue))
    for name in ("kind", "channel", "priority", "severity", "state", "sla_status"):
        value = params.get(name)
        if value:
            qs = qs.filter(**{name: value})
    for name in ("assignee", "group", "customer", "category", "department"):
        value = params.get(name)
        if value not in (None, ""):
            try:
                qs = qs.filter(**{f"{name}_id": int(value)})
            except (TypeError, ValueError):
                qs = qs.none()
    if params.get("q"):
        matches = Ticket.objects.filter(search_q(str(params["q"]))).values("pk")
        qs = qs.filter(pk__in=matches)
    created_from, created_to = params.get("created_from"), params.get("created_to")
    if isinstance(created_from, dt.date):
        qs = qs.filter(
            created_at__gte=dt.datetime.combine(
                created_from, dt.time.min, tzinfo=timezone.get_current_timezone()
            )
        )
    if isinstance(created_to, dt.date):
        qs = qs.filter(
            created_at__lt=dt.datetime.combine(
                created_to + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
            )
        )
    sort = str(params.get("sort") or "newest")
    if sort == "priority":
        from django.db.models import Case, IntegerField, Value, When

        qs = qs.annotate(
            priority_rank=Case(
                When(priority="urgent", then=Value(3)),
                When(priority="high", then=Value(2)),
                When(priority="normal", then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    return qs.order_by(*SORTS.get(sort, SORTS["newest"])).select_related(
        "customer", "assignee", "group", "category"
    )


def queue_counts(user: Any, *, cap: int | None = None) -> tuple[dict[str, int], list[str]]:
    """Open work per queue, each counted up to `cap`; and the queues that hold more than that.

    The tabs show "1000+" past the cap: exact numbers of a two-million-ticket table cost a second
    on every page, and nobody works a queue by its exact size beyond that.
    """
    cap = settings.LIST_COUNT_CAP if cap is None else cap
    visible = ticket_list(user)
    counts: dict[str, int] = {}
    capped: list[str] = []
    for queue in QUEUES:
        if queue == "all":
            continue
        counts[queue], more = capped_count(visible.filter(queue_q(user, queue)), cap)
        if more:
            capped.append(queue)
    return counts, capped


def ticket_get(user: Any, pk: int) -> Ticket | None:
    return (
        ticket_list(user)
        .select_related(
            "customer", "contact", "assignee", "group", "category", "sla_policy", "created_by", "approved_by"
        )
        .filter(pk=pk)
        .first()
    )


def ticket_timeline(ticket: Ticket, *, include_internal: bool = True) -> QuerySet[TicketEvent]:
    events = ticket.events.select_related("actor").order_by("created_at", "id")
    if not include_internal:
        events = events.filter(internal=False)
    return events


def ticket_mails(ticket: Ticket) -> QuerySet[TicketMail]:
    """The ticket's mail thread (the caller has checked the ticket is visible)."""
    return TicketMail.objects.filter(ticket=ticket).select_related("ticket").order_by("created_at", "id")


def customer_open_tickets(user: Any, customer_id: int) -> QuerySet[Ticket]:
    return ticket_list(user).filter(customer_id=customer_id, state__in=ACTIVE).order_by("-id")


def canned_replies(*, active_only: bool = True) -> QuerySet[CannedReply]:
    qs = CannedReply.objects.all()
    return qs.filter(active=True) if active_only else qs


def complaint_categories() -> QuerySet[ComplaintCategory]:
    return ComplaintCategory.objects.filter(active=True)


def ticket_groups(*, active_only: bool = True) -> QuerySet[TicketGroup]:
    qs = TicketGroup.objects.select_related("department").prefetch_related("members")
    return qs.filter(active=True) if active_only else qs


def ticket_history(ticket: Ticket) -> list[Any]:
    """Field changes of the ticket and its after-sales details, newest first (from the audit log)."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from kefu.tickets.models import AfterSalesCase

    types = ContentType.objects.get_for_models(Ticket, AfterSalesCase)
    condition = Q(content_type=types[Ticket], object_id=ticket.pk)
    case_id = AfterSalesCase.objects.filter(ticket=ticket).values_list("pk", flat=True).first()
    if case_id is not None:
        condition |= Q(content_type=types[AfterSalesCase], object_id=case_id)
    return list(
        LogEntry.objects.filter(condition)
        .select_related("actor", "content_type")
        .order_by("-timestamp")[:200]
    )
