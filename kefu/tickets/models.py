"""Tickets (工单): one case record for everything a customer raises, on any channel (SPEC §4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.models import EffectiveDatedPolicy, TimeStampedModel
from kefu.core.scoping import Scope, ScopedQuerySet


class TicketKind(models.TextChoices):
    INQUIRY = "inquiry", _("Inquiry")
    COMPLAINT = "complaint", _("Complaint")
    REPAIR = "repair", _("Repair request")
    AFTER_SALES = "after_sales", _("After-sales")
    SUGGESTION = "suggestion", _("Suggestion")


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("400 hotline")
    PHONE = "phone", _("Phone")
    COMPLAINT_HOTLINE = "complaint_hotline", _("Complaint hotline")
    VISITOR = "visitor", _("Visitor at the front desk")
    FIELD_VISIT = "field_visit", _("Field visit")
    QQ = "qq", _("QQ")
    WANGWANG = "wangwang", _("Wangwang")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    SUGGESTION_BOX = "suggestion_box", _("Suggestion box")
    WEB_FORM = "web_form", _("Web form")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Severity(models.TextChoices):
    """How serious a complaint is; a major one is reported to the manager at once (视情节轻重上报)."""

    MINOR = "minor", _("Minor")
    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")
    MAJOR = "major", _("Major")


class TicketState(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Waiting for the customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    ARCHIVED = "archived", _("Archived")


class SlaStatus(models.TextChoices):
    OK = "ok", _("On time")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


class ApprovalState(models.TextChoices):
    NONE = "", _("Not asked")
    REQUESTED = "requested", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ComplaintStep(models.IntegerChoices):
    """The nine steps of the complaint process (SPEC §4), done in order."""

    RECEIVE = 1, _("Receive and restate")
    INVESTIGATE = 2, _("Judge, investigate and verify")
    ANALYSE = 3, _("Analyse the cause")
    PROPOSE = 4, _("Propose a solution (supervisor's approval)")
    CARRY_OUT = 5, _("Carry out the solution")
    EVALUATE = 6, _("Summarise and evaluate")
    CLASSIFY = 7, _("Classify")
    IMPROVE = 8, _("Analyse and improve")
    ARCHIVE = 9, _("Archive")


class AssignMode(models.TextChoices):
    MANUAL = "manual", _("By hand")
    ROUND_ROBIN = "round_robin", _("Round robin")
    LEAST_LOAD = "least_load", _("Least open tickets")


class TicketGroup(TimeStampedModel):
    """A queue of people who take tickets together (客服中心, 客诉中心 …), with automatic assignment."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    department = models.ForeignKey(
        "accounts.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="ticket_groups"
    )
    assign_mode = models.CharField(
        _("automatic assignment"), max_length=20, choices=AssignMode.choices, default=AssignMode.MANUAL
    )
    # Round robin continues after the member who got the last ticket.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kinds = models.JSONField(_("ticket kinds taken"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("ticket group")
        verbose_name_plural = _("ticket groups")

    def __str__(self) -> str:
        return self.name


class ComplaintCategory(models.Model):
    """Classification of complaints for the weekly and monthly statistics (投诉分类统计)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("complaint category")
        verbose_name_plural = _("complaint categories")

    def __str__(self) -> str:
        return self.name


class SlaPolicy(EffectiveDatedPolicy):
    """Time limits in working time; the version in force when a ticket opens is the one it keeps."""

    at_risk_percent = models.PositiveSmallIntegerField(
        # xgettext:no-python-format
        _("at risk after (% of the limit used)"),
        default=80,
    )
    manager_after_minutes = models.PositiveIntegerField(
        _("escalate to the manager after a breach of (working minutes)"), default=120
    )

    # Read by every new ticket: kept per process with its targets (core.policy_cache).
    kept_in_process = True
    kept_parts = ("targets",)

    class Meta(EffectiveDatedPolicy.Meta):
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return f"SLA {self.effective_from:%Y-%m-%d}"


class SlaTarget(models.Model):
    """One row of a policy: empty kind/priority/tier match anything (see sla.limits_for for which row wins)."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(_("kind"), max_length=20, choices=TicketKind.choices, blank=True)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, blank=True)
    tier = models.CharField(_("customer tier"), max_length=1, blank=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (working minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (working minutes)"))

    class Meta:
        ordering = ["kind", "priority", "tier", "id"]
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "kind", "priority", "tier"], name="sla_target_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind or '*'}/{self.priority or '*'}/{self.tier or '*'}"

    def specificity(self) -> int:
        """How many of kind, priority and tier the row names."""
        return bool(self.kind) + bool(self.priority) + bool(self.tier)


class TicketQuerySet(ScopedQuerySet):
    def active(self) -> TicketQuerySet:
        return self.filter(state__in=[TicketState.OPEN, TicketState.PENDING])


class Ticket(TimeStampedModel):
    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=TicketKind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=TicketState.choices, default=TicketState.OPEN)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,  # ticket_customer_state leads with it
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    # What the caller gave, kept as given: a ticket may come before (or without) an archive entry.
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    contact_qq = models.CharField(_("QQ"), max_length=20, blank=True)
    contact_email = models.EmailField(_("email"), blank=True)
    occurred_at = models.DateTimeField(_("time of the event"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)

    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("handling department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,  # ticket_department_state leads with it
    )
    group = models.ForeignKey(
        TicketGroup,
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,  # ticket_group_state leads with it
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        db_index=False,  # ticket_assignee_state leads with it
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="created_tickets",
    )
    callback_due_at = models.DateTimeField(_("call back by"), null=True, blank=True)
    callback_done_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    answered_on_first_contact = models.BooleanField(_("answered at once"), default=False)
    resolution = models.TextField(_("resolution"), blank=True)

    # Time limits. The deadlines are computed once in working time when the ticket opens (and
    # moved on after a pause), so the periodic check is plain comparisons over indexed columns.
    sla_policy = models.ForeignKey(
        SlaPolicy,
        verbose_name=_("SLA policy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_at_risk_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_breach_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_manager_at = models.DateTimeField(null=True, blank=True, editable=False)
    sla_status = models.CharField(_("SLA"), max_length=10, choices=SlaStatus.choices, default=SlaStatus.OK)
    first_responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    paused_minutes = models.PositiveIntegerField(_("working minutes waited"), default=0)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)

    # Complaint process.
    complaint_step = models.PositiveSmallIntegerField(_("current step"), default=0)
    approval_state = models.CharField(
        _("approval"), max_length=10, choices=ApprovalState.choices, default=ApprovalState.NONE, blank=True
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    category = models.ForeignKey(
        ComplaintCategory,
        verbose_name=_("complaint category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )

    version = models.PositiveIntegerField(default=1, editable=False)
    # Working minutes from opening to resolution, less the time waited for the customer: kept when
    # the ticket is resolved so the reports average and rank it in SQL, not ticket by ticket.
    resolution_minutes = models.PositiveIntegerField(
        _("resolution time (working minutes)"), null=True, blank=True, editable=False
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        permissions = [
            ("assign_ticket", _("Can assign and transfer tickets to others")),
            ("approve_complaint", _("Can approve complaint solutions")),
            ("reopen_ticket", _("Can reopen closed tickets")),
            ("export_ticket", _("Can export tickets to Excel")),
            ("bulk_ticket", _("Can assign or close tickets in bulk")),
        ]
        indexes = [
            models.Index(fields=["assignee", "state", "id"], name="ticket_assignee_state"),
            models.Index(fields=["group", "state", "id"], name="ticket_group_state"),
            models.Index(fields=["department", "state", "id"], name="ticket_department_state"),
            models.Index(fields=["state", "sla_breach_at"], name="ticket_state_breach"),
            # The SLA job's three questions, each over only the open tickets it has not yet flagged
            # for that step: a re-run reads nothing, where state-led indexes made it read every
            # overdue ticket again (5.5 s on SQLite at 2 M tickets).
            models.Index(
                fields=["sla_at_risk_at"],
                condition=Q(state="open", sla_status="ok"),
                name="ticket_sla_at_risk_unflagged",
            ),
            models.Index(
                fields=["sla_breach_at"],
                condition=Q(state="open", escalation_level__lt=1),
                name="ticket_sla_breach_unflagged",
            ),
            models.Index(
                fields=["sla_manager_at"],
                condition=Q(state="open", escalation_level__lt=2),
                name="ticket_sla_manager_unflagged",
            ),
            models.Index(fields=["customer", "state"], name="ticket_customer_state"),
            # My queue newest first: (assignee, state, id) cannot give one id order over two states,
            # so PostgreSQL walked the primary key backwards through all tickets (bench/README.md).
            models.Index(
                fields=["assignee", "id"],
                condition=Q(state__in=["open", "pending"]),
                name="ticket_assignee_active",
            ),
            # A kind's open tickets by due time (open complaints) without walking every open ticket.
            models.Index(fields=["kind", "state", "sla_breach_at", "id"], name="ticket_kind_state_due"),
            # Kind, state and SLA status have no index of their own: the ones above lead with them.
            # An index on the SLA status made every flag the SLA job sets rewrite all the table's
            # indexes (and PostgreSQL's automatic text-pattern twins of these columns were unused).
            models.Index(fields=["contact_phone"], name="ticket_contact_phone"),
            # Only the call-backs still to make, and the complaints awaiting approval: walking every
            # past call-back or every open ticket to count them cost 0.1-0.4 s at 2 M tickets.
            models.Index(
                fields=["callback_due_at"],
                condition=Q(callback_done_at__isnull=True, callback_due_at__isnull=False),
                name="ticket_callback_pending",
            ),
            models.Index(
                fields=["id"], condition=Q(approval_state="requested"), name="ticket_approval_requested"
            ),
            # The weekly and monthly complaint reports read a period's complaints by opening and
            # by closing time. Partial (complaints only) and, on PostgreSQL, covering the columns
            # the report groups and scopes by, so each of its queries is an index-only range scan
            # (bench/README.md); PostgreSQL otherwise walked the created_at index over every kind.
            models.Index(
                fields=["created_at"],
                name="ticket_complaint_created",
                condition=Q(kind="complaint"),
                include=[
                    "id",
                    "state",
                    "severity",
                    "channel",
                    "category",
                    "department",
                    "sla_status",
                    "resolved_at",
                    "resolution_due_at",
                    "assignee",
                    "created_by",
                ],
            ),
            models.Index(
                fields=["closed_at"],
                name="ticket_complaint_closed",
                condition=Q(kind="complaint"),
                include=["id", "resolution_minutes", "department", "assignee", "created_by"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        """A group's tickets are its department's; everyone sees what they handle or opened."""
        mine = Q(assignee_id=scope.user_id) | Q(created_by_id=scope.user_id)
        if scope.department_ids:
            return Q(department_id__in=sorted(scope.department_ids)) | mine
        return mine

    @property
    def is_complaint(self) -> bool:
        return self.kind == TicketKind.COMPLAINT

    @property
    def is_active(self) -> bool:
        return self.state in (TicketState.OPEN, TicketState.PENDING)


class EventKind(models.TextChoices):
    CREATED = "created", _("Opened")
    REPLY = "reply", _("Reply to the customer")
    NOTE = "note", _("Internal note")
    CALL = "call", _("Call")
    ATTACHMENT = "attachment", _("Attachment")
    STATE = "state", _("State change")
    ASSIGNMENT = "assignment", _("Assignment")
    ESCALATION = "escalation", _("Escalation")
    STEP = "step", _("Complaint step")
    APPROVAL = "approval", _("Approval")
    SLA = "sla", _("Time limit")
    CUSTOMER = "customer", _("Message from the customer")
    CHANGE = "change", _("Details changed")


class TicketEventQuerySet(ScopedQuerySet):
    pass


def event_upload_to(instance: TicketEvent, filename: str) -> str:
    return f"tickets/{instance.ticket_id}/{filename}"


class TicketEvent(models.Model):
    """The ticket's timeline: every reply, note, call, attachment, change — who, when, what."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("at"), db_index=True)
    body = models.TextField(_("text"), blank=True)
    internal = models.BooleanField(_("internal"), default=False)
    data: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    attachment = models.FileField(_("attachment"), upload_to=event_upload_to, blank=True, max_length=300)
    attachment_name = models.CharField(_("file name"), max_length=200, blank=True)
    attachment_size = models.PositiveIntegerField(_("size"), default=0)

    objects = TicketEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticket_event_timeline")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        return Q(ticket__in=Ticket.objects.filter(Ticket.scope_q(scope)).values("pk"))


class ComplaintStepRecord(models.Model):
    """What was done in one step of a complaint, and by whom."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="steps")
    step = models.PositiveSmallIntegerField(_("step"), choices=ComplaintStep.choices)
    note = models.TextField(_("what was done"), blank=True)
    data: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), on_delete=models.PROTECT, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"))

    class Meta:
        ordering = ["step"]
        verbose_name = _("complaint step")
        verbose_name_plural = _("complaint steps")
        constraints = [models.UniqueConstraint(fields=["ticket", "step"], name="complaint_step_once")]

    def __str__(self) -> str:
        return f"{self.ticket_id} step {self.step}"


class AfterSalesType(models.TextChoices):
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")
    REFUND = "refund", _("Refund")
    NEGATIVE_REVIEW = "negative_review", _("Negative review")


class AfterSalesCase(TimeStampedModel):
    """E-commerce after-sales (SPEC §4, seed 002): who pays the shipping follows from the cause."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="after_sales")
    case_type = models.CharField(_("type"), max_length=20, choices=AfterSalesType.choices)
    order_number = models.CharField(_("order number"), max_length=64, blank=True)
    buyer_id = models.CharField(_("customer ID on the platform"), max_length=64, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    quality_problem = models.BooleanField(_("quality problem"), null=True, blank=True)
    product_intact = models.BooleanField(_("product intact and re-sellable"), null=True, blank=True)
    exchange_item = models.CharField(_("item wanted in exchange"), max_length=200, blank=True)
    return_tracking_number = models.CharField(_("return tracking number"), max_length=64, blank=True)
    customer_advanced_shipping = models.DecimalField(
        _("return shipping advanced by the customer"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
    )
    refund_amount = models.DecimalField(
        _("refund amount"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    order_remarks = models.TextField(_("order remarks"), blank=True)
    review_platform = models.CharField(_("platform"), max_length=50, blank=True)
    review_text = models.TextField(_("review"), blank=True)

    class Meta:
        verbose_name = _("after-sales case")
        verbose_name_plural = _("after-sales cases")

    @property
    def shop_pays_shipping(self) -> bool | None:
        """Quality problem → the shop pays both ways; otherwise the customer pays the return."""
        return self.quality_problem


class CannedReplyCategory(models.TextChoices):
    GREETING = "greeting", _("Greeting")
    WAITING = "waiting", _("Asking to wait")
    APOLOGY = "apology", _("Apology")
    CLOSING = "closing", _("Closing")
    ANGRY = "angry", _("Angry customer")
    DIALECT = "dialect", _("Dialect")
    BEYOND = "beyond", _("Question beyond one's knowledge")
    SILENT = "silent", _("Silent line")
    VISIT = "visit", _("Return visit")
    OTHER = "other", _("Other")


class CannedReply(TimeStampedModel):
    """A standard phrase (话术) agents insert into replies; {customer_name}, {agent_name}, {ticket_number}."""

    category = models.CharField(
        _("category"), max_length=20, choices=CannedReplyCategory.choices, default=CannedReplyCategory.OTHER
    )
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(_("text"))
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["category", "sort_order", "id"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


class MailDirection(models.TextChoices):
    IN = "in", _("Received")
    OUT = "out", _("Sent")


class MailStatus(models.TextChoices):
    """Where an outgoing reply is on its way to the customer; received mail has none."""

    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class TicketMail(models.Model):
    """One email of a ticket's thread, by its Message-ID.

    Replies find their ticket through In-Reply-To/References, and a message the mail server
    delivers twice is recognised by its Message-ID and filed only once.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="mails")
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="mails"
    )
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    direction = models.CharField(_("direction"), max_length=3, choices=MailDirection.choices)
    address = models.EmailField(_("address"), blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    status = models.CharField(_("delivery"), max_length=10, choices=MailStatus.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.CharField(_("delivery error"), max_length=500, blank=True)
    # Set when the error is one that trying again unchanged will not cure (address refused).
    permanent = models.BooleanField(_("refused for good"), default=False)
    status_at = models.DateTimeField(_("delivery status since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket email")
        verbose_name_plural = _("ticket emails")
        indexes = [models.Index(fields=["ticket", "direction", "created_at"], name="ticket_mail_thread")]

    def __str__(self) -> str:
        return self.message_id


class CauseAnalysisState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    APPROVED = "approved", _("Approved")


class CauseAnalysisQuerySet(ScopedQuerySet):
    pass


class ComplaintCauseAnalysis(TimeStampedModel):
    """The monthly cause analysis with proposals (SPEC §4), per department or for all of them.

    Written by the complaint specialist or a supervisor, approved by the manager.
    """

    month = models.DateField(_("month"), help_text=_("The first day of the month analysed."))
    department = models.ForeignKey(
        "accounts.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: all departments."),
    )
    causes = models.TextField(_("causes"))
    proposals = models.TextField(_("proposals"))
    follow_up_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("follow-up owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=CauseAnalysisState.choices, default=CauseAnalysisState.DRAFT
    )
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("written by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    decision_note = models.TextField(_("manager's note"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CauseAnalysisQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "department_id", "id"]
        verbose_name = _("complaint cause analysis")
        verbose_name_plural = _("complaint cause analyses")
        permissions = [
            ("view_complaint_report", _("Can see the complaint classification reports")),
            ("approve_complaintcauseanalysis", _("Can approve monthly cause analyses")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department"],
                condition=Q(department__isnull=False),
                name="cause_analysis_month_department",
            ),
            models.UniqueConstraint(
                fields=["month"], condition=Q(department__isnull=True), name="cause_analysis_month_all"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.department or ''}".strip()

    @staticmethod
    def scope_q(scope: Scope) -> Q:
        """A department's analysis is seen where its tickets are; the all-department one by all readers."""
        mine = (
            Q(written_by_id=scope.user_id) | Q(follow_up_owner_id=scope.user_id) | Q(department__isnull=True)
        )
        if scope.department_ids:
            return Q(department_id__in=sorted(scope.department_ids)) | mine
        return mine
