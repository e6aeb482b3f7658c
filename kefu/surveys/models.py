"""Satisfaction surveys (满意度调查, SPEC §5): templates, invitations, answers, the survey policy.

An invitation says who is asked (the customer), about what (a ticket, a return visit, a work
order — a generic relation, so this app imports none of them) and who served them. Statistics
group by month, department, staff member and customer tier; those columns are copied onto the
invitation, the response and each rating answer when they are written, so the monthly figures
are one indexed GROUP BY over one table however many millions of answers there are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.models import SATISFACTION_WORDS, EffectiveDatedPolicy, Satisfaction, TimeStampedModel
from kefu.core.scoping import Scope, ScopedQuerySet

# A rating question's options: the five levels of satisfaction (core.models.Satisfaction, the
# same scale as a return visit's) in the seeds' words, best first.
RATING_LEVELS: list[tuple[int, str]] = [(level, SATISFACTION_WORDS[level]) for level in Satisfaction.values]
RATING_LABELS = dict(RATING_LEVELS)
VERY_SATISFIED = Satisfaction.VERY_SATISFIED


class QuestionKind(models.TextChoices):
    RATING = "rating", _("Five-level rating")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TEXT = "text", _("Text")


class SurveyChannel(models.TextChoices):
    PHONE = "phone", _("By phone")
    VISIT = "visit", _("By visit")
    LETTER = "letter", _("By letter")
    SMS = "sms", _("SMS link")
    EMAIL = "email", _("Email link")
    WEB = "web", _("Web link")


# Channels where the customer answers on the public page; on the others staff enter the answers.
SELF_SERVICE_CHANNELS = {SurveyChannel.SMS, SurveyChannel.EMAIL, SurveyChannel.WEB}


class InvitationState(models.TextChoices):
    PENDING = "pending", _("Waiting for the answer")
    ANSWERED = "answered", _("Answered")
    CANCELLED = "cancelled", _("Cancelled")


class DeliveryState(models.TextChoices):
    NONE = "", _("Nothing to deliver")
    TO_SEND_SMS = "to_send_sms", _("To send by SMS")
    SMS_QUEUED = "sms_queued", _("Handed to member-care SMS")
    EMAILED = "emailed", _("Emailed")
    FAILED = "failed", _("Delivery failed")


class SurveyPolicy(EffectiveDatedPolicy):
    """The survey numbers a manager tunes: link validity, what counts as dissatisfied, nominations."""

    link_valid_days = models.PositiveSmallIntegerField(_("survey links valid for (days)"), default=14)
    dissatisfied_at_or_below = models.PositiveSmallIntegerField(
        _("a rating at or below this score opens a follow-up complaint"),
        default=2,
        help_text=_("5 very satisfied … 1 very dissatisfied; 2 means “dissatisfied” or worse."),
    )
    nomination_min_responses = models.PositiveSmallIntegerField(
        _("nomination: at least this many answered surveys in the month"), default=10
    )
    nomination_min_very_satisfied_percent = models.DecimalField(
        # xgettext:no-python-format
        _("nomination: share of “very satisfied” at least (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("90"),
    )
    nomination_top = models.PositiveSmallIntegerField(_("nomination: at most this many people"), default=5)

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("survey policy")
        verbose_name_plural = _("survey policies")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} {self.effective_from:%Y-%m-%d}"


class SurveyTemplate(TimeStampedModel):
    """A questionnaire. Once answers exist it is frozen: a change makes the next version instead,
    so every stored answer keeps the question it answered."""

    family = models.CharField(_("code"), max_length=50, db_index=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100)
    intro = models.TextField(_("introduction shown to the customer"), blank=True)
    active = models.BooleanField(_("in use"), default=True)
    # Sending after a ticket closes is a choice of the template (the complaint evaluation form).
    send_after_ticket_close = models.BooleanField(_("send after a ticket closes"), default=False)
    ticket_kinds = models.JSONField(_("for tickets of these kinds"), default=list, blank=True)
    auto_channel = models.CharField(
        _("send it by"), max_length=10, choices=SurveyChannel.choices, default=SurveyChannel.SMS
    )
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["family", "-version"]
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="survey_template_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def frozen(self) -> bool:
        return self.responses.exists()


class SurveyQuestion(models.Model):
    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("question"), max_length=300)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["template", "position", "id"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="survey_question_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text}"

    @property
    def options(self) -> list[tuple[str, str]]:
        """(value, label) pairs of the answer's options."""
        if self.kind == QuestionKind.RATING:
            return [(str(score), label) for score, label in RATING_LEVELS]
        return [(str(choice), str(choice)) for choice in self.choices]


class SurveySendState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Sending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class SurveySendQuerySet(ScopedQuerySet):
    pass


class SurveySend(TimeStampedModel):
    """One sending to a filtered customer list; a job creates the invitations and counts progress."""

    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="sends")
    channel = models.CharField(_("channel"), max_length=10, choices=SurveyChannel.choices)
    filters = models.JSONField(_("customer filters"), default=dict, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=SurveySendState.choices, default=SurveySendState.QUEUED
    )
    total = models.PositiveIntegerField(_("customers"), default=0)
    done = models.PositiveIntegerField(_("invited"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = SurveySendQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("survey sending")
        verbose_name_plural = _("survey sendings")
        permissions = [("bulk_send_survey", _("Can send surveys to a customer list"))]

    def __str__(self) -> str:
        return f"{self.template} → {self.total}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        mine = Q(sent_by_id=scope.user_id)
        if scope.department_ids:
            return Q(department_id__in=sorted(scope.department_ids)) | mine
        return mine

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)


class SurveyInvitationQuerySet(ScopedQuerySet):
    pass


def _served_scope_q(scope: Scope) -> Q:
    """Staff see the surveys of their departments, and those about their own service or sent by them."""
    mine = Q(served_by_id=scope.user_id) | Q(sent_by_id=scope.user_id)
    if scope.department_ids:
        return Q(department_id__in=sorted(scope.department_ids)) | mine
    return mine


class SurveyInvitation(TimeStampedModel):
    """One customer asked once. The link's token is the signed `key` (see kefu.surveys.tokens)."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    key = models.CharField(max_length=32, unique=True, editable=False)
    template = models.ForeignKey(
        SurveyTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="invitations"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=SurveyChannel.choices)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("phone"), max_length=30, blank=True)
    contact_email = models.EmailField(_("email"), blank=True)
    # What the survey is about: a ticket, a return visit, a work order … (any model, no import).
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    subject_label = models.CharField(_("about"), max_length=200, blank=True)
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("served by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    tier = models.CharField(_("customer tier"), max_length=1, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sending = models.ForeignKey(
        SurveySend, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    policy = models.ForeignKey(
        SurveyPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    month = models.DateField(_("month"), editable=False)  # first day of the (Shanghai) month sent
    expires_at = models.DateTimeField(_("link valid until"))
    state = models.CharField(
        _("state"), max_length=10, choices=InvitationState.choices, default=InvitationState.PENDING
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    delivery_state = models.CharField(
        _("delivery"), max_length=12, choices=DeliveryState.choices, default=DeliveryState.NONE, blank=True
    )
    delivery_text = models.TextField(_("message sent"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    objects = SurveyInvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        permissions = [("view_survey_statistics", _("Can see the satisfaction statistics and nominations"))]
        indexes = [
            # One covering index for the monthly statistics: every grouping (department, staff,
            # tier), the data scope's test (department or served by me) and the answered count
            # are read from the index, never from the table (bench/README.md, surveys).
            models.Index(
                fields=["month", "department", "served_by", "tier", "state"], name="survey_inv_statistics"
            ),
            models.Index(fields=["subject_type", "subject_id"], name="survey_inv_subject"),
            models.Index(fields=["customer", "-id"], name="survey_inv_customer"),
            models.Index(fields=["delivery_state", "id"], name="survey_inv_delivery"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.template.name}"

    scope_q = staticmethod(_served_scope_q)

    @property
    def self_service(self) -> bool:
        return self.channel in SELF_SERVICE_CHANNELS


class SurveyResponseQuerySet(ScopedQuerySet):
    pass


class SurveyResponse(models.Model):
    """The answers of one invitation: at most one (the one-to-one is what makes double submits harmless)."""

    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.PROTECT, related_name="response")
    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    served_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    tier = models.CharField(_("customer tier"), max_length=1, blank=True)
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    channel = models.CharField(_("channel"), max_length=10, choices=SurveyChannel.choices)
    answered_at = models.DateTimeField(_("answered at"))
    month = models.DateField(_("month"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    average_score = models.DecimalField(
        _("average rating"), max_digits=3, decimal_places=2, null=True, blank=True
    )
    lowest_score = models.PositiveSmallIntegerField(_("lowest rating"), null=True, blank=True)
    # The follow-up complaint a dissatisfied answer opened (the ticket is not changed for this).
    follow_up_ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("follow-up ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    policy = models.ForeignKey(
        SurveyPolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = SurveyResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["month", "department", "served_by", "tier"], name="survey_resp_statistics"),
        ]

    def __str__(self) -> str:
        return f"{self.invitation_id} {self.answered_at:%Y-%m-%d}"

    scope_q = staticmethod(_served_scope_q)

    @property
    def dissatisfied(self) -> bool:
        return self.follow_up_ticket_id is not None


class SurveyAnswer(models.Model):
    """One answer. Rating answers carry the grouping columns of their response (see the module)."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    month = models.DateField()
    department_key = models.BigIntegerField(null=True, blank=True)
    served_by_key = models.BigIntegerField(null=True, blank=True)
    tier = models.CharField(max_length=1, blank=True)

    class Meta:
        ordering = ["response", "question__position"]
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        indexes = [
            # The monthly statistics read this index only (see SurveyInvitation's).
            models.Index(
                fields=["month", "department_key", "served_by_key", "tier", "score"],
                condition=Q(score__isnull=False),
                name="survey_ans_statistics",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.score or self.text or self.choices}"

    @property
    def display(self) -> str:
        if self.score is not None:
            return RATING_LABELS.get(self.score, str(self.score))
        if self.choices:
            return "、".join(str(c) for c in self.choices)
        return self.text


def subject_of(instance: Any) -> tuple[ContentType | None, int | None, str]:
    if instance is None:
        return None, None, ""
    return ContentType.objects.get_for_model(instance), instance.pk, str(instance)[:200]
