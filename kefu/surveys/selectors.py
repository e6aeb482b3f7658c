"""Reads of the surveys: lists from `visible_to(user)`, and the monthly statistics.

Statistics definitions (one place, used by the pages, the API, the export and the tests):
- invitations: invitations sent in the month;
- responses: surveys answered in the month;
- response rate: of the invitations sent in the month, the share answered (so far);
- ratings: the five-level rating answers given in the month (a survey may have several);
- very satisfied share: ratings of 很满意 (5) among those ratings; average score: their mean.
Grouped by the department that served the customer, the staff member who served them, or the
customer's tier when the survey was sent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Department, User
from kefu.core.scoping import Scope, scope_of
from kefu.customers.models import Customer, Tier
from kefu.surveys.models import (
    VERY_SATISFIED,
    InvitationState,
    SurveyAnswer,
    SurveyInvitation,
    SurveyPolicy,
    SurveyResponse,
    SurveySend,
    SurveyTemplate,
)

DIMENSIONS = ("department", "staff", "tier", "total")
INVITATION_NUMBER = re.compile(r"^MY\d{4}-\d{1,6}$", re.IGNORECASE)

# Grouping column per table and dimension.
_COLUMNS = {
    "department": ("department_id", "department_id", "department_key"),
    "staff": ("served_by_id", "served_by_id", "served_by_key"),
    "tier": ("tier", "tier", "tier"),
    "total": (None, None, None),
}


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def this_month() -> dt.date:
    return month_start(timezone.localdate())


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Figures:
    """One group's figures for one month (or a whole period)."""

    key: Any
    label: str
    month: dt.date | None = None
    invitations: int = 0
    answered_of_sent: int = 0
    responses: int = 0
    ratings: int = 0
    very_satisfied: int = 0
    score_total: int = 0

    @property
    def response_rate(self) -> Decimal | None:
        return _percent(self.answered_of_sent, self.invitations)

    @property
    def very_satisfied_share(self) -> Decimal | None:
        return _percent(self.very_satisfied, self.ratings)

    @property
    def average_score(self) -> Decimal | None:
        if not self.ratings:
            return None
        return (Decimal(self.score_total) / self.ratings).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def add(self, other: Figures) -> None:
        for name in (
            "invitations",
            "answered_of_sent",
            "responses",
            "ratings",
            "very_satisfied",
            "score_total",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _scope_q(scope: Scope, department: str, staff: str) -> Q | None:
    """Statistics cover the departments of the data scope and one's own service."""
    if scope.everything:
        return None
    mine = Q(**{staff: scope.user_id})
    if scope.department_ids:
        return Q(**{f"{department}__in": sorted(scope.department_ids)}) | mine
    return mine


def _scoped(queryset: QuerySet, scope: Scope, department: str, staff: str) -> QuerySet:
    if scope.user_id is None:
        return queryset.none()
    condition = _scope_q(scope, department, staff)
    return queryset if condition is None else queryset.filter(condition)


def _labels(dimension: str, keys: set[Any]) -> dict[Any, str]:
    if dimension == "department":
        names = dict(Department.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name"))
        return {k: names.get(k, _("No department")) for k in keys}
    if dimension == "staff":
        users = {u.pk: str(u) for u in User.objects.filter(pk__in=[k for k in keys if k])}
        return {k: users.get(k, _("Nobody named")) for k in keys}
    if dimension == "tier":
        tiers = dict(Tier.choices)
        return {k: str(tiers.get(k, k)) for k in keys}
    return {k: _("All") for k in keys}


def survey_statistics(
    user: Any, *, dimension: str = "department", first_month: dt.date, last_month: dt.date
) -> list[Figures]:
    """Figures per (month, group) from first_month to last_month inclusive; three GROUP BYs."""
    if dimension not in DIMENSIONS:
        dimension = "department"
    scope = scope_of(user)
    first, end = month_start(first_month), add_months(month_start(last_month), 1)
    columns = _COLUMNS[dimension]
    rows: dict[tuple[dt.date, Any], Figures] = {}

    def row(month: dt.date, key: Any) -> Figures:
        return rows.setdefault((month, key), Figures(key=key, label="", month=month))

    def grouped(queryset: QuerySet, column: str | None, **aggregates: Any) -> Any:
        names = ["month", column] if column else ["month"]
        return queryset.values(*names).order_by().annotate(**aggregates)

    invitations = _scoped(
        SurveyInvitation.objects.filter(month__gte=first, month__lt=end),
        scope,
        "department_id",
        "served_by_id",
    )
    for r in grouped(
        invitations, columns[0], n=Count("id"), answered=Count("id", filter=Q(state=InvitationState.ANSWERED))
    ):
        figures = row(r["month"], r.get(columns[0]) if columns[0] else None)
        figures.invitations, figures.answered_of_sent = r["n"], r["answered"]
    responses = _scoped(
        SurveyResponse.objects.filter(month__gte=first, month__lt=end), scope, "department_id", "served_by_id"
    )
    for r in grouped(responses, columns[1], n=Count("id")):
        row(r["month"], r.get(columns[1]) if columns[1] else None).responses = r["n"]
    answers = _scoped(
        SurveyAnswer.objects.filter(month__gte=first, month__lt=end, score__isnull=False),
        scope,
        "department_key",
        "served_by_key",
    )
    for r in grouped(
        answers,
        columns[2],
        n=Count("score"),
        very=Count("score", filter=Q(score=VERY_SATISFIED)),
        total=Sum("score"),
    ):
        figures = row(r["month"], r.get(columns[2]) if columns[2] else None)
        figures.ratings, figures.very_satisfied, figures.score_total = r["n"], r["very"], r["total"] or 0
    labels = _labels(dimension, {key for _month, key in rows})
    for (_month, key), figures in rows.items():
        figures.label = labels.get(key, str(key))
    return sorted(rows.values(), key=lambda f: (f.month, f.label))


def statistics_for_month(user: Any, *, dimension: str, month: dt.date) -> list[Figures]:
    """One month's groups, the best "very satisfied" share first."""
    rows = survey_statistics(user, dimension=dimension, first_month=month, last_month=month)
    return sorted(rows, key=lambda f: (-(f.very_satisfied_share or -1), -f.ratings, f.label))


def statistics_trend(user: Any, *, last_month: dt.date, months: int = 12) -> list[Figures]:
    """The whole scope's figures for each of the last `months` months (empty months included)."""
    first = add_months(month_start(last_month), -(months - 1))
    found = {
        f.month: f
        for f in survey_statistics(user, dimension="total", first_month=first, last_month=last_month)
    }
    return [
        found.get(add_months(first, i), Figures(key=None, label="", month=add_months(first, i)))
        for i in range(months)
    ]


@dataclass
class StaffSatisfaction:
    staff_id: int
    ratings: int
    very_satisfied: int
    responses: int = 0

    @property
    def share(self) -> Decimal | None:
        """Percent of 很满意 among the staff member's ratings, one decimal."""
        return _percent(self.very_satisfied, self.ratings)


def staff_very_satisfied_share(
    *, month: dt.date, staff_ids: list[int] | None = None
) -> dict[int, StaffSatisfaction]:
    """The share of “very satisfied” (很满意) per staff member served in a month.

    This is what the technicians' rewards and fines (SPEC §8: top 2 with ≥ 95 %, a fine below
    80 %) read. No data scope: it is called by the monthly scorecard job, not shown to a user.
    """
    month = month_start(month)
    answers = SurveyAnswer.objects.filter(month=month, score__isnull=False, served_by_key__isnull=False)
    responses = SurveyResponse.objects.filter(month=month, served_by__isnull=False)
    if staff_ids is not None:
        answers = answers.filter(served_by_key__in=staff_ids)
        responses = responses.filter(served_by_id__in=staff_ids)
    result = {
        r["served_by_key"]: StaffSatisfaction(r["served_by_key"], r["n"], r["very"])
        for r in answers.values("served_by_key")
        .order_by()
        .annotate(n=Count("score"), very=Count("score", filter=Q(score=VERY_SATISFIED)))
    }
    for staff_id, count in responses.values_list("served_by_id").order_by().annotate(n=Count("id")):
        result.setdefault(staff_id, StaffSatisfaction(staff_id, 0, 0)).responses = count
    return result


@dataclass
class Nomination:
    rank: int
    staff: User
    responses: int
    ratings: int
    very_satisfied_share: Decimal
    average_score: Decimal | None


@dataclass
class NominationList:
    month: dt.date
    policy: SurveyPolicy
    nominees: list[Nomination] = field(default_factory=list)


def excellent_staff_nominations(user: Any, *, month: dt.date) -> NominationList:
    """Staff with enough answered surveys and a high enough 很满意 share, best first, top N, under
    the policy in force at the month's end (the list says which version)."""
    month = month_start(month)
    month_end = add_months(month, 1) - dt.timedelta(days=1)
    policy = SurveyPolicy.in_force(min(month_end, timezone.localdate()))
    figures = {f.key: f for f in statistics_for_month(user, dimension="staff", month=month) if f.key}
    candidates = []
    for staff_id, f in figures.items():
        share = f.very_satisfied_share
        if f.responses < policy.nomination_min_responses or share is None:
            continue
        if share < policy.nomination_min_very_satisfied_percent:
            continue
        candidates.append((staff_id, f))
    candidates.sort(key=lambda item: (-item[1].very_satisfied_share, -item[1].responses, item[0]))
    candidates = candidates[: policy.nomination_top]
    staff = User.objects.in_bulk([staff_id for staff_id, _f in candidates])
    result = NominationList(month=month, policy=policy)
    for rank, (staff_id, f) in enumerate(candidates, start=1):
        result.nominees.append(
            Nomination(
                rank=rank,
                staff=staff[staff_id],
                responses=f.responses,
                ratings=f.ratings,
                very_satisfied_share=f.very_satisfied_share,
                average_score=f.average_score,
            )
        )
    return result


# --- lists ---------------------------------------------------------------------------------------


def invitation_filter(user: Any, params: Mapping[str, Any]) -> QuerySet[SurveyInvitation]:
    qs = SurveyInvitation.objects.visible_to(user)
    for name in ("state", "channel", "tier", "delivery_state"):
        value = params.get(name)
        if value not in (None, ""):
            qs = qs.filter(**{name: value})
    for name in ("template", "served_by", "customer", "department"):
        value = params.get(name)
        if value not in (None, ""):
            try:
                qs = qs.filter(**{f"{name}_id": int(value)})
            except (TypeError, ValueError):
                qs = qs.none()
    month = params.get("month")
    if isinstance(month, dt.date):
        qs = qs.filter(month=month_start(month))
    if params.get("dissatisfied"):
        qs = qs.filter(response__follow_up_ticket__isnull=False)
    text = str(params.get("q") or "").strip()
    if text:
        if INVITATION_NUMBER.match(text):
            prefix, _sep, number = text.upper().partition("-")
            qs = qs.filter(number=f"{prefix}-{int(number):06d}")
        else:
            qs = qs.filter(
                Q(customer__name__contains=text) | Q(contact_name=text) | Q(subject_label__contains=text)
            )
    order = "id" if params.get("sort") == "oldest" else "-id"
    return qs.select_related("template", "customer", "served_by", "response").order_by(order)


def invitation_get(user: Any, pk: int) -> SurveyInvitation | None:
    return (
        SurveyInvitation.objects.visible_to(user)
        .select_related("template", "customer", "served_by", "sent_by", "department", "subject_type")
        .filter(pk=pk)
        .first()
    )


def response_answers(response: SurveyResponse) -> QuerySet[SurveyAnswer]:
    return response.answers.select_related("question").order_by("question__position", "id")


def templates(*, active_only: bool = False) -> QuerySet[SurveyTemplate]:
    qs = SurveyTemplate.objects.annotate(question_count=Count("questions")).order_by("family", "-version")
    return qs.filter(active=True) if active_only else qs


def subject_invitations(user: Any, subject: Any) -> QuerySet[SurveyInvitation]:
    """The surveys about one ticket, visit or work order (for those apps' pages)."""
    from django.contrib.contenttypes.models import ContentType

    return invitation_filter(user, {}).filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )


def send_recipients(user: Any, filters: Mapping[str, Any]) -> QuerySet[Customer]:
    """The customers a sending with these filters reaches: the sender's visible customers."""
    from kefu.customers.selectors import CustomerFilters, customer_list

    department = filters.get("department")
    try:
        department = int(department) if department not in (None, "") else None
    except (TypeError, ValueError):
        return Customer.objects.none()
    is_vip = filters.get("is_vip")
    customer_filters = CustomerFilters(
        q=str(filters.get("q") or "")[:100],
        kind=str(filters.get("kind") or ""),
        tier=str(filters.get("tier") or ""),
        lifecycle=str(filters.get("lifecycle") or ""),
        department=department,
        is_vip=None if is_vip in (None, "") else bool(is_vip),
        province=str(filters.get("province") or "")[:20],
    )
    return customer_list(user=user, filters=customer_filters).select_related(None).order_by("id")


def sendings(user: Any) -> QuerySet[SurveySend]:
    return SurveySend.objects.visible_to(user).select_related("template", "sent_by")
