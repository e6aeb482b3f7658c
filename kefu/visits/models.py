"""Return visits (回访): SPEC §3 cadence by tier and §5 visits with a script, outcomes and scores."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.models import EffectiveDatedPolicy, Satisfaction, TimeStampedModel
from kefu.core.scoping import Scope, ScopedQuerySet, scope_of


class VisitPurpose(models.TextChoices):
    RETURN_VISIT = "return_visit", _("Routine return visit")
    EVALUATION = "evaluation", _("Complaint evaluation")
    FOLLOW_UP = "follow_up", _("Complaint follow-up")
    PURCHASE = "purchase", _("After-purchase visit")
    WIN_BACK = "win_back", _("Lost-customer visit")
    SERVICE = "service", _("After-service visit")
    BRIEFING = "briefing", _("Policy briefing")
    INVITATION = "invitation", _("Invitation (lecture, inspection, gathering)")
    NEWS = "news", _("Company news")
    NEWSLETTER = "newsletter", _("Printed newsletter")


# Purposes that inform or invite rather than ask: recorded as activities on the customer's file.
ACTIVITY_PURPOSES = (
    VisitPurpose.BRIEFING,
    VisitPurpose.INVITATION,
    VisitPurpose.NEWS,
    VisitPurpose.NEWSLETTER,
)


class VisitSource(models.TextChoices):
    CADENCE = "cadence", _("Tier cadence")
    COMPLAINT = "complaint", _("Closed complaint")
    PURCHASE = "purchase", _("Purchase")
    LOST = "lost", _("Customer lost")
    SERVICE = "service", _("Field service")
    MANUAL = "manual", _("By hand")
    BULK = "bulk", _("In bulk from a customer list")


class VisitState(models.TextChoices):
    PLANNED = "planned", _("To visit")
    SCHEDULED = "scheduled", _("Time booked")
    CALLBACK = "callback", _("Call back")
    DONE = "done", _("Done")
    FAILED = "failed", _("Could not reach")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATES = (VisitState.PLANNED, VisitState.SCHEDULED, VisitState.CALLBACK)


class Outcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    CALL_LATER = "call_later", _("Call me at…")


class VisitRole(models.TextChoices):
    """Who a cadence rule sends: role codes of kefu.accounts.roles."""

    AGENT = "agent", _("Customer-service centre (agent)")
    LEADER = "leader", _("Leader in charge")
    PRESIDENT = "president", _("President")
    COMPLAINT_SPECIALIST = "complaint_specialist", _("Complaint specialist")
    BIG_CUSTOMER_SPECIALIST = "big_customer_specialist", _("Big-customer specialist")


class CadencePolicy(EffectiveDatedPolicy):
    """Who visits which tiers how often (SPEC §3), and when the other sources fall due (SPEC §4, §5)."""

    follow_up_months = models.PositiveSmallIntegerField(_("complaint follow-up after (months)"), default=1)
    purchase_delay_days = models.PositiveSmallIntegerField(_("after-purchase visit after (days)"), default=3)
    win_back_delay_days = models.PositiveSmallIntegerField(_("lost-customer visit after (days)"), default=0)
    open_days = models.PositiveSmallIntegerField(_("days to finish a visit of another source"), default=7)

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("visit cadence policy")
        verbose_name_plural = _("visit cadence policies")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.effective_from}"

    def rule_list(self) -> list[CadenceRule]:
        if self.pk is None:
            # No version stored (an admin removed them all): the SPEC defaults still apply.
            return [CadenceRule(policy=self, **rule) for rule in DEFAULT_RULES]
        return list(self.rules.all())


DEFAULT_RULES: list[dict[str, Any]] = [
    {"code": "centre", "role": VisitRole.AGENT, "tiers": "ABC", "every_months": 1, "sort_order": 1},
    {"code": "leader", "role": VisitRole.LEADER, "tiers": "AB", "every_months": 3, "sort_order": 2},
    {"code": "president", "role": VisitRole.PRESIDENT, "tiers": "A", "every_months": 12, "sort_order": 3},
]


class CadenceRule(models.Model):
    """One line of a cadence policy: `role` visits customers of `tiers` once every `every_months`.

    `code` names the rule across policy versions, so a new version does not plan a second visit
    for a period an earlier version already planned.
    """

    policy = models.ForeignKey(CadencePolicy, on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(_("code"), max_length=30)
    role = models.CharField(_("who visits"), max_length=30, choices=VisitRole.choices)
    tiers = models.CharField(_("tiers"), max_length=3, help_text=_("Any of A, B and C, e.g. AB"))
    every_months = models.PositiveSmallIntegerField(_("once every (months)"))
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("cadence rule")
        verbose_name_plural = _("cadence rules")
        constraints = [models.UniqueConstraint(fields=["policy", "code"], name="cadence_rule_code_unique")]

    def __str__(self) -> str:
        return f"{self.code}: {self.role} {self.tiers} /{self.every_months}"

    def period_of(self, day: dt.date) -> tuple[dt.date, dt.date]:
        """The period containing `day`: periods start with the year, so none straddles two years."""
        every = max(1, min(12, self.every_months))
        first_month = ((day.month - 1) // every) * every + 1
        start = dt.date(day.year, first_month, 1)
        end_month = first_month + every
        end = (
            dt.date(day.year + 1, 1, 1) if end_month > 12 else dt.date(day.year, end_month, 1)
        ) - dt.timedelta(days=1)
        return start, end

    def key(self, period_start: dt.date, customer_id: int) -> str:
        return f"{self.code}:{period_start:%Y%m}:{customer_id}"

    def key_prefix(self, period_start: dt.date) -> str:
        return f"{self.code}:{period_start:%Y%m}:"


class RetryPolicy(EffectiveDatedPolicy):
    """How often an unanswered visit is tried again before it becomes a call-back task."""

    attempts_before_callback = models.PositiveSmallIntegerField(
        _("unanswered attempts before a call-back task"), default=2
    )
    retry_delay_minutes = models.PositiveIntegerField(_("try again after (minutes)"), default=60)
    callback_within_hours = models.PositiveIntegerField(_("call back within (hours)"), default=24)

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("visit retry policy")
        verbose_name_plural = _("visit retry policies")

    def __str__(self) -> str:
        return f"{self.attempts_before_callback}×/{self.retry_delay_minutes}min ({self.effective_from})"


class VisitScript(TimeStampedModel):
    """The script of one visit purpose (seeds 000 附件一, 003 第四篇): greet → time? → questions → close."""

    purpose = models.CharField(_("purpose"), max_length=20, choices=VisitPurpose.choices, unique=True)
    greeting = models.TextField(_("greeting"))
    ask_time = models.TextField(_("if the customer has no time"))
    questions = models.JSONField(_("questions"), default=list, blank=True)
    closing = models.TextField(_("closing"))
    silent_line = models.TextField(_("silent line / cannot hear"), blank=True)
    second_call = models.TextField(_("calling a second time"), blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["purpose"]
        verbose_name = _("visit script")
        verbose_name_plural = _("visit scripts")

    def __str__(self) -> str:
        return self.get_purpose_display()


class VisitQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any) -> Self:
        """Staff who work visits of their scope see it; the others (leader, president) their own."""
        scope = scope_of(user)
        if scope.user_id is None:
            return self.none()
        if not user.has_perm("visits.view_scope_visits"):
            return self.filter(assignee_id=scope.user_id)
        return super().visible_to(user)

    def open(self) -> Self:
        return self.filter(state__in=OPEN_STATES)


class Visit(TimeStampedModel):
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="visits"
    )
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=VisitPurpose.choices, default=VisitPurpose.RETURN_VISIT
    )
    source = models.CharField(_("source"), max_length=10, choices=VisitSource.choices, db_index=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # The complaint a visit evaluates or follows up.
    source_ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("complaint"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Unique per thing that planned it (rule × period × customer, complaint, trade …): a re-run of
    # the job, a second app server or a signal sent twice never plans the same visit twice.
    dedupe_key = models.CharField(max_length=80, null=True, blank=True, unique=True, editable=False)
    cadence_rule = models.CharField(_("cadence rule"), max_length=30, blank=True)
    period_start = models.DateField(_("period from"), null=True, blank=True)
    cadence_policy = models.ForeignKey(
        CadencePolicy,
        verbose_name=_("cadence policy version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    retry_policy = models.ForeignKey(
        RetryPolicy,
        verbose_name=_("retry policy version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    tier = models.CharField(_("tier when planned"), max_length=1, blank=True)
    role = models.CharField(
        _("who visits"), max_length=30, choices=VisitRole.choices, default=VisitRole.AGENT
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("visitor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=VisitState.choices, default=VisitState.PLANNED, db_index=True
    )
    due_on = models.DateField(_("due from"), db_index=True)
    deadline = models.DateField(_("to be done by"), db_index=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("unanswered attempts"), default=0)
    booked_at = models.DateTimeField(_("time booked by the customer"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"), choices=Satisfaction.choices, null=True, blank=True
    )
    answers = models.JSONField(_("answers"), default=list, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    issue_ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("ticket raised"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("done at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancel_reason = models.CharField(_("reason cancelled"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")
        permissions = [
            ("view_scope_visits", _("Can see and work the visits of one's data scope")),
            ("assign_visit", _("Can plan, assign and cancel visits")),
            ("bulk_visit", _("Can create and reassign visits in bulk")),
            ("export_visit", _("Can export visits to Excel")),
            ("view_visit_stats", _("Can see visit completion statistics")),
        ]
        indexes = [
            models.Index(fields=["state", "due_on"], name="visit_state_due"),
            models.Index(fields=["assignee", "state", "due_on"], name="visit_assignee_state"),
            models.Index(fields=["department", "state", "due_on"], name="visit_dept_state"),
            models.Index(fields=["customer", "-due_on"], name="visit_customer"),
            models.Index(fields=["cadence_rule", "period_start", "state"], name="visit_rule_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} · {self.customer_id} · {self.due_on}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        mine = Q(assignee_id=scope.user_id)
        if scope.department_ids:
            return Q(department_id__in=sorted(scope.department_ids)) | mine
        return mine

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_activity(self) -> bool:
        return self.purpose in ACTIVITY_PURPOSES


class EventKind(models.TextChoices):
    CREATED = "created", _("Planned")
    ATTEMPT = "attempt", _("Attempt")
    ASSIGNED = "assigned", _("Assigned")
    CANCELLED = "cancelled", _("Cancelled")
    REOPENED = "reopened", _("Reopened")
    CALLBACK = "callback", _("Became a call-back task")


class VisitEvent(models.Model):
    """The visit's timeline: every attempt (with its outcome) and every change of hands or state."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=10, choices=EventKind.choices)
    outcome = models.CharField(_("outcome"), max_length=15, choices=Outcome.choices, blank=True)
    from_state = models.CharField(_("from"), max_length=10, blank=True)
    to_state = models.CharField(_("to"), max_length=10, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("visit event")
        verbose_name_plural = _("visit events")

    def __str__(self) -> str:
        return f"{self.visit_id} {self.kind} {self.outcome}"
