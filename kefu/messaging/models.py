"""Member care messaging (短信群发, SPEC §2): templates, campaigns, the send log, opt-outs, care policies."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.models import EffectiveDatedPolicy, TimeStampedModel
from kefu.core.scoping import Scope, ScopedQuerySet, department_or_owner_q

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class Purpose(models.TextChoices):
    CARE = "care", _("Care (birthday, holiday greetings)")
    NOTICE = "notice", _("Member-service notice")
    MARKETING = "marketing", _("Promotion (marketing)")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SkipReason(models.TextChoices):
    NONE = "", _("—")
    OPTED_OUT = "opted_out", _("Opted out")
    NO_ADDRESS = "no_address", _("No mobile / email")
    DUPLICATE = "duplicate", _("Duplicate number")
    CANCELLED = "cancelled", _("Campaign cancelled")


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    APPROVED = "approved", _("Ready to send")
    REJECTED = "rejected", _("Rejected")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Finished")
    CANCELLED = "cancelled", _("Cancelled")


class CampaignKind(models.TextChoices):
    MANUAL = "manual", _("Sent by hand")
    HOLIDAY = "holiday", _("Holiday greeting (daily job)")


class OptOutSource(models.TextChoices):
    PAGE = "page", _("Entered on the page")
    API = "api", _("Through the API")
    REPLY = "reply", _("Customer replied R/TD/退订")


def placeholders(text: str) -> list[str]:
    """The ${param} names of a text, in order of first appearance (Tencent's parameters are ordered)."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text or "")))


def render_text(text: str, params: dict[str, str]) -> str:
    """Fill ${param}; an unknown one stays as written, so a typo shows in the preview."""
    return PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), m.group(0))), text or "")


class MessagingPolicy(EffectiveDatedPolicy):
    """Sending rules: rate limits, the opt-out words a promotion must carry, when a campaign needs approval."""

    per_second = models.PositiveIntegerField(_("messages per second at most"), default=10)
    per_minute = models.PositiveIntegerField(_("messages per minute at most"), default=300)
    opt_out_words = models.CharField(
        _("opt-out words a promotion must carry (one of, separated by |)"),
        max_length=200,
        default="拒收请回复R|回T退订|退订回T|回TD退订",
    )
    approval_from_recipients = models.PositiveIntegerField(
        _("campaigns to this many recipients or more need a manager's approval"), default=500
    )
    marketing_needs_approval = models.BooleanField(
        _("every promotion needs a manager's approval"), default=True
    )

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("messaging policy")
        verbose_name_plural = _("messaging policies")

    def __str__(self) -> str:
        return f"{self.per_second}/s {self.per_minute}/min ({self.effective_from})"

    @property
    def opt_out_choices(self) -> list[str]:
        return [word.strip() for word in self.opt_out_words.split("|") if word.strip()]

    def carries_opt_out(self, text: str) -> bool:
        return any(word in (text or "") for word in self.opt_out_choices)


class MessageTemplate(TimeStampedModel):
    """A text the provider has approved (SMS: template code + signature) or an email subject and body."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.SMS)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices, default=Purpose.NOTICE)
    provider_code = models.CharField(_("provider template code"), max_length=50, blank=True)
    signature = models.CharField(_("signature (签名)"), max_length=30, blank=True)
    subject = models.CharField(_("email subject"), max_length=200, blank=True)
    body = models.TextField(_("text (${param} placeholders)"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["channel", "purpose", "name"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self) -> str:
        return self.name

    @property
    def params(self) -> list[str]:
        return placeholders(self.subject + "\n" + self.body)


class CarePolicy(EffectiveDatedPolicy):
    """The daily member-care job: when it sends, to whom, with which templates."""

    send_time = models.TimeField(_("send at (Beijing time)"), default=dt.time(9, 0))
    birthday_enabled = models.BooleanField(_("send birthday greetings"), default=True)
    birthday_template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("birthday template"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    birthday_contacts = models.BooleanField(_("also greet contacts on their birthday"), default=True)
    gift_note = models.CharField(
        _("gift-pickup note (${gift})"), max_length=200, default="凭此短信7日内到任一门店领取生日礼品一份"
    )
    holiday_enabled = models.BooleanField(_("send holiday greetings"), default=True)
    holiday_days_before = models.PositiveSmallIntegerField(
        _("holiday greeting: days before the holiday"), default=0
    )
    tiers = models.CharField(
        _("customer tiers greeted (A,B,C,none; empty = all)"), max_length=20, blank=True, default=""
    )
    members_only = models.BooleanField(_("greet members (persons) only"), default=False)

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("member care policy")
        verbose_name_plural = _("member care policies")

    def __str__(self) -> str:
        return f"{self.send_time:%H:%M} ({self.effective_from})"

    @property
    def tier_list(self) -> list[str]:
        return [t.strip() for t in self.tiers.split(",") if t.strip() in ("A", "B", "C", "none")]


class HolidayGreeting(TimeStampedModel):
    """Which template greets customers for a holiday of the calendar (春节, 国庆节 …)."""

    holiday_name = models.CharField(_("holiday (as in the calendar)"), max_length=50, unique=True)
    template = models.ForeignKey(MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["holiday_name"]
        verbose_name = _("holiday greeting")
        verbose_name_plural = _("holiday greetings")

    def __str__(self) -> str:
        return self.holiday_name


class CampaignQuerySet(ScopedQuerySet):
    pass


class Campaign(TimeStampedModel):
    """One bulk send to a filtered customer list; its recipients are Message rows."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CampaignKind.choices, default=CampaignKind.MANUAL
    )
    # The daily job's campaigns are keyed by what they greet ("holiday:2026-10-01"), so a re-run finds them.
    source_key = models.CharField(max_length=60, null=True, blank=True, unique=True, editable=False)
    template = models.ForeignKey(MessageTemplate, verbose_name=_("template"), on_delete=models.PROTECT)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    filters = models.JSONField(_("customer filters"), default=dict, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=CampaignState.choices, default=CampaignState.DRAFT, db_index=True
    )
    policy = models.ForeignKey(
        MessagingPolicy,
        verbose_name=_("policy version"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    total_count = models.PositiveIntegerField(_("recipients"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    sent_count = models.PositiveIntegerField(_("sent"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    estimated_count = models.PositiveIntegerField(_("customers matched at preview"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        permissions = [
            ("approve_campaign", _("Can approve campaigns")),
            ("send_message", _("Can send a single message to a customer")),
            ("export_message", _("Can export the send log")),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, owner="created_by")

    @property
    def queued_count(self) -> int:
        return max(0, self.total_count - self.skipped_count - self.sent_count - self.failed_count)

    @property
    def percent(self) -> int:
        deliverable = self.total_count - self.skipped_count
        if deliverable <= 0:
            return 100 if self.state == CampaignState.DONE else 0
        return min(100, int((self.sent_count + self.failed_count) * 100 / deliverable))


class CampaignEvent(models.Model):
    """The campaign's timeline: every transition with who, when, from, to and a note."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        default_permissions = ()
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")

    def __str__(self) -> str:
        return f"{self.action} {self.from_state}→{self.to_state}"


class MessageQuerySet(ScopedQuerySet):
    pass


class Message(models.Model):
    """The send log: one row per recipient and message, written before anything is sent."""

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    # Each row is written once for every recipient of a campaign, so indexes are few: the customer
    # and campaign columns lead the composite indexes below instead of having their own.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,
    )
    # Templates and staff are hardly ever deleted; an index for that rare delete would be kept
    # up to date on every recipient row.
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    source = models.CharField(_("source"), max_length=60, blank=True)
    # A sender's own key for "this message once" (the birthday job's "birthday:2026:contact:12").
    dedupe_key = models.CharField(max_length=80, null=True, blank=True, unique=True, editable=False)
    address = models.CharField(_("mobile / email"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    skip_reason = models.CharField(
        _("skipped because"), max_length=12, choices=SkipReason.choices, blank=True
    )
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_message_id = models.CharField(_("provider's id"), max_length=100, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("message")
        verbose_name_plural = _("send log")
        constraints = [
            # No customer gets the same campaign twice, whatever crashes in between.
            models.UniqueConstraint(fields=["campaign", "customer"], name="message_once_per_campaign"),
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "id"], name="message_campaign_status"),
            models.Index(fields=["customer", "-id"], name="message_customer"),
            models.Index(fields=["status", "-id"], name="message_status"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address} {self.status}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner") | Q(
            created_by_id=scope.user_id
        )


class OptOutQuerySet(ScopedQuerySet):
    pass


class OptOut(TimeStampedModel):
    """A customer who asked to receive nothing more on a channel; honoured by every send."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="opt_outs"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    active = models.BooleanField(_("in force"), default=True)
    source = models.CharField(
        _("how"), max_length=10, choices=OptOutSource.choices, default=OptOutSource.PAGE
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    address = models.CharField(_("from number / address"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = OptOutQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel"], name="opt_out_once_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return department_or_owner_q(scope, department="customer__department", owner="customer__owner")
