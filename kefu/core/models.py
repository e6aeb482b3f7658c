"""Domain-free building blocks: base models, numbering, operation and access logs, policies."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Satisfaction(models.IntegerChoices):
    """The five levels of satisfaction of the seeds' forms, with their scores: return visits record
    one, a survey's rating question is answered with one."""

    VERY_SATISFIED = 5, _("Very satisfied")
    SATISFIED = 4, _("Satisfied")
    NEUTRAL = 3, _("Neutral")
    DISSATISFIED = 2, _("Dissatisfied")
    VERY_DISSATISFIED = 1, _("Very dissatisfied")


# The seeds' own words for the levels (很满意 … 很不满意), for text that is kept as a record (a
# survey's options, the follow-up complaint's description): the same whatever the reader's language.
SATISFACTION_WORDS: dict[int, str] = {
    Satisfaction.VERY_SATISFIED: "很满意",
    Satisfaction.SATISFIED: "满意",
    Satisfaction.NEUTRAL: "一般",
    Satisfaction.DISSATISFIED: "不满意",
    Satisfaction.VERY_DISSATISFIED: "很不满意",
}


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class EffectiveDatedPolicy(models.Model):
    """A policy version: the newest version whose effective date has come is the one in force.

    Results computed from a policy keep a foreign key to the version that produced them, so a
    later edit never rewrites history.
    """

    effective_from = models.DateField(_("effective from"), default=dt.date.today, db_index=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True
        ordering = ["-effective_from", "-id"]
        get_latest_by = ["effective_from", "id"]

    # Versions read on every request (working hours, time limits) are kept per process
    # (core.policy_cache); `kept_parts` names the related rows that belong to a version.
    kept_in_process: ClassVar[bool] = False
    kept_parts: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def in_force(cls, on: dt.date | None = None) -> Self:
        on = on or timezone.localdate()
        if cls.kept_in_process:
            from kefu.core import policy_cache

            return policy_cache.in_force(cls, on)
        return cls.read_in_force(on)

    @classmethod
    def read_in_force(cls, on: dt.date) -> Self:
        """The version in force on the day, from the database."""
        queryset = cls._default_manager.all()
        if cls.kept_parts:
            queryset = queryset.prefetch_related(*cls.kept_parts)
        policy = queryset.filter(effective_from__lte=on).order_by("-effective_from", "-id").first()
        if policy is None:
            # The defaults migration loads one version; if an admin removed them all, the SPEC
            # defaults still apply rather than a crash.
            policy = cls()
        return policy


class Sequence(models.Model):
    """Counters behind human numbers (KH2026-000123), unique under concurrency."""

    key = models.CharField(max_length=64, unique=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class OperationLog(models.Model):
    """Who did what, when, from where, with what result: every write and every sign-in."""

    class Result(models.TextChoices):
        OK = "ok", _("Succeeded")
        DENIED = "denied", _("Denied")
        INVALID = "invalid", _("Rejected input")
        ERROR = "error", _("Failed")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(_("user name"), max_length=150, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    method = models.CharField(_("method"), max_length=10, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    target = models.CharField(_("target"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices, default=Result.OK)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("operation log entry")
        verbose_name_plural = _("operation log")
        permissions = [("view_all_operationlog", _("Can view the whole operation log"))]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.result}"


class SensitiveAccess(models.Model):
    """Every time sensitive fields are shown unmasked (page, API or export), a line here."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("viewer"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    object_type = models.CharField(_("record type"), max_length=50)
    object_id = models.BigIntegerField(_("record id"), null=True, blank=True, db_index=True)
    object_label = models.CharField(_("record"), max_length=200, blank=True)
    fields = models.CharField(_("fields shown"), max_length=200)
    channel = models.CharField(_("where"), max_length=20)  # page / api / export
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    count = models.PositiveIntegerField(_("records"), default=1)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("sensitive data access")
        verbose_name_plural = _("sensitive data access log")

    def __str__(self) -> str:
        return f"{self.actor_id} {self.object_type}#{self.object_id} {self.fields}"


class CalendarYear(models.Model):
    """A year whose official schedule (holidays and 调休 working days) is in the calendar.

    A year without this row has no schedule: the calendar falls back to Monday–Friday and warns
    administrators until someone enters the State Council's notice for it.
    """

    class Source(models.TextChoices):
        SEEDED = "seeded", _("Loaded from chinesecalendar")
        MANUAL = "manual", _("Entered by an administrator")

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    note = models.CharField(_("note"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that breaks the Monday–Friday rule: a public holiday, or a weekend day worked (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        WORKDAY = "workday", _("Make-up working day")

    calendar_year = models.ForeignKey(CalendarYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("holiday"), max_length=50, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class WorkingHours(EffectiveDatedPolicy):
    """The department's working hours, used for every time limit measured in working time."""

    morning_start = models.TimeField(_("morning starts"), default=dt.time(9, 0))
    morning_end = models.TimeField(_("morning ends"), default=dt.time(12, 0))
    afternoon_start = models.TimeField(_("afternoon starts"), default=dt.time(13, 0))
    afternoon_end = models.TimeField(_("afternoon ends"), default=dt.time(18, 0))

    kept_in_process = True

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")

    def __str__(self) -> str:
        return (
            f"{self.morning_start:%H:%M}–{self.morning_end:%H:%M}, "
            f"{self.afternoon_start:%H:%M}–{self.afternoon_end:%H:%M} ({self.effective_from})"
        )

    @property
    def intervals(self) -> list[tuple[dt.time, dt.time]]:
        return [(self.morning_start, self.morning_end), (self.afternoon_start, self.afternoon_end)]

    @property
    def hours_per_day(self) -> dt.timedelta:
        day = dt.date(2000, 1, 3)
        return sum(
            (
                dt.datetime.combine(day, end) - dt.datetime.combine(day, start)
                for start, end in self.intervals
            ),
            dt.timedelta(),
        )


class Notification(models.Model):
    """A message in the app for one staff member (escalations, major complaints, assignments)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField(_("message"), max_length=300)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at", "id"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.message


class SavedFilter(models.Model):
    """A list's filters saved under a name by one staff member ("my overdue complaints")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    page = models.CharField(_("list"), max_length=50)
    name = models.CharField(_("name"), max_length=50)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["page", "name"]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [models.UniqueConstraint(fields=["user", "page", "name"], name="saved_filter_unique")]

    def __str__(self) -> str:
        return self.name


def model_label(instance: Any) -> str:
    return f"{instance._meta.verbose_name}: {instance}"
