"""Reads of return visits, always from `Visit.objects.visible_to(user)`."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.visits.models import OPEN_STATES, Visit, VisitEvent, VisitScript, VisitState

QUEUES = ("due", "overdue", "callbacks", "mine", "unassigned", "done", "all")
SORTS = {
    "due": ("due_on", "id"),
    "deadline": ("deadline", "id"),
    "newest": ("-created_at", "-id"),
    "customer": ("customer__name", "id"),
    "tier": ("tier", "due_on", "id"),
}


def queue_q(queue: str, user: Any, *, today: dt.date | None = None) -> Q:
    """Due: open, its day has come, not past its deadline, no later attempt booked."""
    today = today or timezone.localdate()
    now = timezone.now()
    open_ = Q(state__in=OPEN_STATES)
    if queue == "due":
        return (
            open_
            & Q(due_on__lte=today, deadline__gte=today)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + dt.timedelta(hours=12)))
            & ~Q(state=VisitState.CALLBACK)
        )
    if queue == "overdue":
        return open_ & Q(deadline__lt=today)
    if queue == "callbacks":
        return Q(state=VisitState.CALLBACK)
    if queue == "mine":
        return open_ & Q(assignee_id=user.pk)
    if queue == "unassigned":
        return open_ & Q(assignee__isnull=True)
    if queue == "done":
        return Q(state=VisitState.DONE)
    return Q()


def visit_list(user: Any) -> QuerySet[Visit]:
    return Visit.objects.visible_to(user).select_related("customer", "assignee", "department")


def visit_filter(user: Any, params: dict[str, Any]) -> QuerySet[Visit]:
    qs = visit_list(user).filter(queue_q(params.get("queue") or "all", user))
    for name in ("purpose", "source", "state", "tier", "role"):
        if params.get(name):
            qs = qs.filter(**{name: params[name]})
    for name in ("assignee", "department", "customer"):
        if params.get(name):
            qs = qs.filter(**{f"{name}_id": params[name]})
    if params.get("due_from"):
        qs = qs.filter(due_on__gte=params["due_from"])
    if params.get("due_to"):
        qs = qs.filter(due_on__lte=params["due_to"])
    text = (params.get("q") or "").strip()
    if text:
        qs = qs.filter(
            Q(customer__name__contains=text)
            | Q(customer__archive_number=text)
            | Q(customer__name_initials__startswith=text.lower())
            | Q(reference=text)
        )
    return qs.order_by(*SORTS.get(params.get("sort") or "due", SORTS["due"]))


def queue_counts(user: Any) -> dict[str, int]:
    visible = Visit.objects.visible_to(user)
    return {
        queue: visible.filter(queue_q(queue, user)).count()
        for queue in ("due", "overdue", "callbacks", "mine", "unassigned")
    }


def visit_get(user: Any, pk: int) -> Visit | None:
    if not 0 < pk < 2**63:
        return None
    return (
        visit_list(user)
        .select_related("source_ticket", "issue_ticket", "cadence_policy", "retry_policy", "completed_by")
        .filter(pk=pk)
        .first()
    )


def visit_timeline(visit: Visit) -> QuerySet[VisitEvent]:
    return visit.events.select_related("actor").order_by("at", "id")


def customer_visits(user: Any, customer: Customer, *, limit: int = 100) -> list[Visit]:
    """The customer's visits and activities for the file (every visit the user may see)."""
    return list(
        Visit.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("assignee", "issue_ticket")
        .order_by("-due_on", "-id")[:limit]
    )


def script_for(purpose: str) -> VisitScript | None:
    return VisitScript.objects.filter(purpose=purpose).first()


def render_phrase(text: str, *, customer: Customer, agent: Any) -> str:
    names = {"customer_name": customer.short_name or customer.name, "agent_name": str(agent)}
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, month_calendar.monthrange(year, month)[1])


def calendar_month(user: Any, year: int, month: int, *, mine: bool = False) -> list[list[dict[str, Any]]]:
    """Weeks of days (Monday first) with the visits due on each: open and done counts."""
    first, last = month_bounds(year, month)
    qs = (
        Visit.objects.visible_to(user).filter(due_on__range=(first, last)).exclude(state=VisitState.CANCELLED)
    )
    if mine:
        qs = qs.filter(assignee_id=user.pk)
    counts: dict[dt.date, dict[str, int]] = {}
    for day, state, n in qs.values_list("due_on", "state").annotate(n=Count("id")).order_by():
        bucket = counts.setdefault(day, {"open": 0, "done": 0, "other": 0})
        key = "open" if state in OPEN_STATES else ("done" if state == VisitState.DONE else "other")
        bucket[key] += n
    weeks = []
    for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        weeks.append(
            [
                {
                    "day": day,
                    "in_month": day.month == month,
                    **counts.get(day, {"open": 0, "done": 0, "other": 0}),
                }
                for day in week
            ]
        )
    return weeks


@dataclass
class RateRow:
    key: Any
    label: str
    due: int
    done: int

    @property
    def rate(self) -> float:
        return round(self.done * 100 / self.due, 1) if self.due else 0.0


def completion_stats(user: Any, year: int, month: int) -> dict[str, list[RateRow]]:
    """Visits due in the month (cancelled ones left out) and how many were done, per person and tier."""
    first, last = month_bounds(year, month)
    qs = (
        Visit.objects.visible_to(user)
        .filter(due_on__range=(first, last))
        .exclude(state=VisitState.CANCELLED)
        .order_by()
    )
    done = Count("id", filter=Q(state=VisitState.DONE))
    people = list(qs.values("assignee").annotate(due=Count("id"), done=done).order_by("assignee"))
    names = {
        u.pk: str(u)
        for u in User.objects.filter(pk__in=[row["assignee"] for row in people if row["assignee"]])
    }
    by_person = [
        RateRow(row["assignee"], names.get(row["assignee"], "—"), row["due"], row["done"]) for row in people
    ]
    by_person.sort(key=lambda row: (-row.rate, row.label))
    tiers = list(qs.values("tier").annotate(due=Count("id"), done=done).order_by("tier"))
    by_tier = [RateRow(row["tier"], row["tier"] or "—", row["due"], row["done"]) for row in tiers]
    return {"people": by_person, "tiers": by_tier}
