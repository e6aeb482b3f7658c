"""Weekly and monthly complaint classification reports (SPEC §4, §9): reads only.

Every figure is one aggregate query over the complaints the user may see (`visible_to`), bounded
by the period on the (kind, created_at) and (kind, closed_at) indexes, so a month costs the same
few queries whatever the size of the ticket table.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Department
from kefu.core.scoping import scope_of
from kefu.tickets.models import (
    Channel,
    ComplaintCauseAnalysis,
    ComplaintStep,
    ComplaintStepRecord,
    Severity,
    SlaStatus,
    Ticket,
    TicketKind,
    TicketState,
)

WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")
MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
STILL_OPEN = [TicketState.OPEN, TicketState.PENDING, TicketState.RESOLVED]
TOP_CAUSES = 10


@dataclass(frozen=True)
class Period:
    kind: str  # "week" or "month"
    start: dt.date
    end: dt.date  # exclusive

    @property
    def key(self) -> str:
        if self.kind == "week":
            year, week, _day = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"

    @property
    def label(self) -> str:
        last = self.end - dt.timedelta(days=1)
        if self.kind == "week":
            return _("Week %(key)s (%(start)s – %(end)s)") % {
                "key": self.key,
                "start": f"{self.start:%m-%d}",
                "end": f"{last:%m-%d}",
            }
        return _("%(year)d-%(month)02d") % {"year": self.start.year, "month": self.start.month}

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period's first and after-last moments, local midnight (Asia/Shanghai)."""
        zone = timezone.get_current_timezone()
        return (
            dt.datetime.combine(self.start, dt.time.min, tzinfo=zone),
            dt.datetime.combine(self.end, dt.time.min, tzinfo=zone),
        )

    def previous(self) -> Period:
        if self.kind == "week":
            return week_period(self.start - dt.timedelta(days=7))
        return month_period(self.start - dt.timedelta(days=1))

    def next(self) -> Period:
        return week_period(self.end) if self.kind == "week" else month_period(self.end)


def month_period(day: dt.date) -> Period:
    start = day.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return Period("month", start, end)


def week_period(day: dt.date) -> Period:
    start = day - dt.timedelta(days=day.weekday())
    return Period("week", start, start + dt.timedelta(days=7))


def parse_period(kind: str | None, value: str | None, *, today: dt.date | None = None) -> Period:
    """`week` + `2026-W47` or `month` + `2026-11`; anything unreadable gives the current period."""
    today = today or timezone.localdate()
    value = (value or "").strip()
    if kind == "week":
        match = WEEK.match(value)
        if match:
            try:
                return week_period(dt.date.fromisocalendar(int(match[1]), int(match[2]), 1))
            except ValueError:
                pass
        return week_period(today)
    match = MONTH.match(value)
    if match and 1 <= int(match[2]) <= 12 and 2000 <= int(match[1]) <= 2100:
        return month_period(dt.date(int(match[1]), int(match[2]), 1))
    return month_period(today)


def report_departments(user: Any) -> QuerySet[Department]:
    """The departments the user may filter by: all, or those of the data scope."""
    scope = scope_of(user)
    departments = Department.objects.filter(is_active=True).order_by("name", "id")
    if scope.everything:
        return departments
    return departments.filter(pk__in=sorted(scope.department_ids))


def department_for(user: Any, pk: int | None) -> Department | None:
    if pk is None:
        return None
    return report_departments(user).filter(pk=pk).first()


@dataclass
class ComplaintReport:
    period: Period
    department: Department | None
    received: int = 0
    closed: int = 0
    still_open: int = 0
    breached: int = 0
    measured: int = 0
    average_hours: float | None = None
    p90_hours: float | None = None
    by_category: list[dict[str, Any]] = field(default_factory=list)
    by_severity: list[dict[str, Any]] = field(default_factory=list)
    by_channel: list[dict[str, Any]] = field(default_factory=list)
    by_department: list[dict[str, Any]] = field(default_factory=list)
    by_day: list[dict[str, Any]] = field(default_factory=list)
    top_causes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {
                "kind": self.period.kind,
                "key": self.period.key,
                "label": self.period.label,
                "start": self.period.start,
                "end": self.period.end - dt.timedelta(days=1),
            },
            "department_id": self.department.pk if self.department else None,
            "received": self.received,
            "closed": self.closed,
            "still_open": self.still_open,
            "breached": self.breached,
            "measured": self.measured,
            "average_hours": self.average_hours,
            "p90_hours": self.p90_hours,
            "by_category": self.by_category,
            "by_severity": self.by_severity,
            "by_channel": self.by_channel,
            "by_department": self.by_department,
            "by_day": self.by_day,
            "top_causes": self.top_causes,
        }


def _complaints(user: Any, department: Department | None) -> QuerySet[Ticket]:
    complaints = Ticket.objects.visible_to(user).filter(kind=TicketKind.COMPLAINT)
    if department is not None:
        subtree = Department.objects.descendants(department, include_self=True).values("pk")
        complaints = complaints.filter(department__in=subtree)
    return complaints


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


def _counted(rows: Any, key: str, labels: dict[str, str], empty: str) -> list[dict[str, Any]]:
    return [
        {
            "key": row[key] or "",
            "label": labels.get(row[key], row[key]) if row[key] else empty,
            "count": row["n"],
        }
        for row in rows
    ]


def complaint_report(user: Any, period: Period, department: Department | None = None) -> ComplaintReport:
    """The classification report of one week or month: about ten aggregate queries, no loops over tickets."""
    start, end = period.bounds()
    complaints = _complaints(user, department)
    received = complaints.filter(created_at__gte=start, created_at__lt=end)
    closed = complaints.filter(closed_at__gte=start, closed_at__lt=end)
    report = ComplaintReport(period=period, department=department)

    # Late: past the deadline when resolved, or flagged by the SLA check while still open.
    late = Q(sla_status=SlaStatus.BREACHED) | Q(resolved_at__gt=F("resolution_due_at"))
    counts = received.aggregate(
        received=Count("id"),
        still_open=Count("id", filter=Q(state__in=STILL_OPEN)),
        breached=Count("id", filter=late),
    )
    report.received, report.still_open, report.breached = (
        counts["received"],
        counts["still_open"],
        counts["breached"],
    )
    times = closed.aggregate(
        closed=Count("id"), measured=Count("resolution_minutes"), average=Avg("resolution_minutes")
    )
    report.closed, report.measured = times["closed"], times["measured"]
    report.average_hours = _hours(times["average"])
    if report.measured:
        # Nearest rank: the smallest time that at least 90 % of the measured complaints met.
        rank = math.ceil(0.9 * report.measured)
        p90 = (
            closed.filter(resolution_minutes__isnull=False)
            .order_by("resolution_minutes")
            .values_list("resolution_minutes", flat=True)[rank - 1 : rank]
        )
        report.p90_hours = _hours(next(iter(p90), None))

    report.by_category = [
        {
            "key": row["category_id"] or "",
            "label": row["category__name"] or _("Not classified yet"),
            "count": row["n"],
        }
        for row in received.values("category_id", "category__name")
        .annotate(n=Count("id"))
        .order_by("-n", "category__name")
    ]
    report.by_severity = _counted(
        received.values("severity").annotate(n=Count("id")).order_by("-n", "severity"),
        "severity",
        {value: str(label) for value, label in Severity.choices},
        _("Not set"),
    )
    report.by_channel = _counted(
        received.values("channel").annotate(n=Count("id")).order_by("-n", "channel"),
        "channel",
        {value: str(label) for value, label in Channel.choices},
        _("Not set"),
    )
    report.by_department = [
        {
            "key": row["department_id"] or "",
            "label": row["department__name"] or _("No department"),
            "count": row["n"],
        }
        for row in received.values("department_id", "department__name")
        .annotate(n=Count("id"))
        .order_by("-n", "department__name")
    ]
    days = {
        row["day"]: row["n"]
        for row in received.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    }
    report.by_day = [
        {
            "day": period.start + dt.timedelta(days=offset),
            "count": days.get(period.start + dt.timedelta(days=offset), 0),
        }
        for offset in range((period.end - period.start).days)
    ]
    report.top_causes = [
        {"cause": row["note"], "count": row["n"]}
        for row in ComplaintStepRecord.objects.filter(
            step=ComplaintStep.ANALYSE, ticket__in=received.values("pk")
        )
        .values("note")
        .annotate(n=Count("id"))
        .order_by("-n", "note")[:TOP_CAUSES]
    ]
    return report


def cause_analyses(user: Any) -> QuerySet[ComplaintCauseAnalysis]:
    return ComplaintCauseAnalysis.objects.visible_to(user).select_related(
        "department", "written_by", "follow_up_owner", "approved_by"
    )


def cause_analysis_for(
    user: Any, month: dt.date, department: Department | None
) -> ComplaintCauseAnalysis | None:
    """The month's analysis for the department (or the all-department one), if the user may see it."""
    return cause_analyses(user).filter(month=month.replace(day=1), department=department).first()


def cause_analysis_history(analysis: ComplaintCauseAnalysis) -> list[Any]:
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    kind = ContentType.objects.get_for_model(ComplaintCauseAnalysis)
    return list(
        LogEntry.objects.filter(content_type=kind, object_id=analysis.pk)
        .select_related("actor")
        .order_by("-timestamp")[:100]
    )
