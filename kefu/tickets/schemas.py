"""API schemas of tickets. The contact phone is masked here, by the same helper as pages and customers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator

from kefu.core.masking import can_view_sensitive, masked
from kefu.core.pagination import MAX_OFFSET
from kefu.customers.schemas import DepartmentRef, UserRef
from kefu.tickets import sla
from kefu.tickets.models import AfterSalesCase, ApprovalState, ComplaintStep, EventKind, TicketKind
from kefu.tickets.workflow import after_sales_blockers, available_actions, complaint_blockers

MAX_LIMIT = 500
MAX_ID = 2**63 - 1

KindValue = Literal["inquiry", "complaint", "repair", "after_sales", "suggestion"]
ChannelValue = Literal[
    "hotline",
    "phone",
    "complaint_hotline",
    "visitor",
    "field_visit",
    "qq",
    "wangwang",
    "wechat",
    "email",
    "letter",
    "suggestion_box",
    "web_form",
]
PriorityValue = Literal["low", "normal", "high", "urgent"]
SeverityValue = Literal["minor", "general", "serious", "major"]
StateValue = Literal["open", "pending", "resolved", "closed", "archived"]
SlaStatusValue = Literal["ok", "at_risk", "breached"]
QueueValue = Literal["mine", "group", "unassigned", "due_today", "breached", "approval", "callbacks", "all"]
SortValue = Literal["newest", "oldest", "due", "priority", "updated"]
ActionValue = Literal["wait", "resume", "resolve", "reopen", "close"]
ReplyKind = Literal["reply", "note", "call"]
AfterSalesTypeValue = Literal["return", "exchange", "refund", "negative_review"]
AssignModeValue = Literal["manual", "round_robin", "least_load"]
CannedCategoryValue = Literal[
    "greeting", "waiting", "apology", "closing", "angry", "dialect", "beyond", "silent", "visit", "other"
]

# Far-off years are no real event and overflow the conversion to UTC at the edges of the calendar.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def _sane_moment(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(
            _("Give a time between the years %(first)d and %(last)d.")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
    if value.tzinfo is None:
        value = timezone.make_aware(value)
    return value


def _sane_day(value: dt.date | None) -> dt.date | None:
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(
            _("Give a date between the years %(first)d and %(last)d.")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
    return value


Moment = Annotated[dt.datetime, AfterValidator(_sane_moment)]
Day = Annotated[dt.date, AfterValidator(_sane_day)]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _reveal(context: Any) -> bool:
    request = (context or {}).get("request")
    return bool(request is not None and can_view_sensitive(request.user))


# --- reading tickets --------------------------------------------------------------------------


class TicketFilterIn(Schema):
    queue: QueueValue = "all"
    kind: KindValue | None = None
    channel: ChannelValue | None = None
    priority: PriorityValue | None = None
    severity: SeverityValue | None = None
    state: StateValue | None = None
    sla_status: SlaStatusValue | None = None
    assignee: int | None = Field(None, ge=1, le=MAX_ID)
    group: int | None = Field(None, ge=1, le=MAX_ID)
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    category: int | None = Field(None, ge=1, le=MAX_ID)
    department: int | None = Field(None, ge=1, le=MAX_ID)
    q: str = Field("", max_length=100, description="Ticket number, phone, subject or customer name")
    created_from: Day | None = None
    created_to: Day | None = None
    sort: SortValue = "newest"
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class PageIn(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CustomerBrief(Schema):
    id: int
    archive_number: str
    name: str
    tier: str


class TicketGroupRef(Schema):
    id: int
    name: str


class ComplaintCategoryOut(Schema):
    id: int
    name: str
    sort_order: int


class TicketListOut(Schema):
    id: int
    number: str
    kind: KindValue
    channel: ChannelValue
    priority: PriorityValue
    severity: str
    state: StateValue
    sla_status: SlaStatusValue
    subject: str
    customer: CustomerBrief | None
    contact_name: str
    contact_phone: str
    assignee: UserRef | None
    group: TicketGroupRef | None
    department_id: int | None
    category: ComplaintCategoryOut | None
    complaint_step: int
    approval_state: str
    escalation_level: int
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    callback_due_at: dt.datetime | None
    closed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_contact_phone(obj: Any, context: Any) -> str:
        return masked(obj.contact_phone, "phone", reveal=_reveal(context))


class TicketPage(Schema):
    count: int
    items: list[TicketListOut]


class SlaOut(Schema):
    policy_id: int | None
    status: SlaStatusValue
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    first_responded_at: dt.datetime | None
    next_deadline_at: dt.datetime | None
    remaining_minutes: int | None = Field(
        description="Working minutes to the next deadline; negative once breached; null when not running"
    )
    paused_at: dt.datetime | None
    escalation_level: int


class ComplaintStepOut(Schema):
    step: int
    label: str
    note: str
    done_by: UserRef | None
    done_at: dt.datetime


class ComplaintOut(Schema):
    step: int = Field(description="The step to record next (1–9)")
    step_label: str
    approval_state: str
    proposal: str = Field(description="The solution last proposed for the supervisor's approval")
    approved_by: UserRef | None
    approved_at: dt.datetime | None
    category: ComplaintCategoryOut | None
    steps: list[ComplaintStepOut]


class AfterSalesOut(Schema):
    case_type: AfterSalesTypeValue
    order_number: str
    buyer_id: str
    reason: str
    quality_problem: bool | None
    product_intact: bool | None
    exchange_item: str
    return_tracking_number: str
    customer_advanced_shipping: Decimal
    refund_amount: Decimal
    order_remarks: str
    review_platform: str
    review_text: str
    shop_pays_shipping: bool | None
    updated_at: dt.datetime


class ActionOut(Schema):
    action: str = Field(description="A transition (wait, resolve …) or claim / assign / decide")
    label: str
    needs_note: bool
    allowed: bool
    reason: str = Field(description="Why it cannot be done yet, when it cannot")


class TicketOut(TicketListOut):
    description: str
    contact_id: int | None
    contact_qq: str
    contact_email: str
    occurred_at: dt.datetime | None
    place: str
    created_by: UserRef | None
    callback_done_at: dt.datetime | None
    answered_on_first_contact: bool
    resolution: str
    resolved_at: dt.datetime | None
    sla: SlaOut
    complaint: ComplaintOut | None
    after_sales: AfterSalesOut | None
    actions: list[ActionOut]

    @staticmethod
    def resolve_sla(obj: Any) -> dict[str, Any]:
        left = sla.remaining(obj)
        return {
            "policy_id": obj.sla_policy_id,
            "status": obj.sla_status,
            "first_response_due_at": obj.first_response_due_at,
            "resolution_due_at": obj.resolution_due_at,
            "first_responded_at": obj.first_responded_at,
            "next_deadline_at": obj.sla_breach_at if obj.is_active else None,
            "remaining_minutes": None if left is None else int(left.total_seconds() // 60),
            "paused_at": obj.paused_at,
            "escalation_level": obj.escalation_level,
        }

    @staticmethod
    def resolve_complaint(obj: Any) -> dict[str, Any] | None:
        if not obj.is_complaint:
            return None
        request = None
        if obj.approval_state != ApprovalState.NONE:  # never asked: no request to read
            request = (
                obj.events.filter(kind=EventKind.APPROVAL, data__action="request")
                .order_by("-created_at", "-id")
                .first()
            )
        known = getattr(obj, "_prefetched_objects_cache", {}).get("steps")
        if known is not None:  # a new complaint carries its step 1 (see services.ticket_create)
            steps = sorted(known, key=lambda record: (record.step, record.pk))
        else:
            steps = obj.steps.select_related("done_by").order_by("step")
        return {
            "step": obj.complaint_step,
            "step_label": str(ComplaintStep(obj.complaint_step).label)
            if obj.complaint_step in ComplaintStep.values
            else "",
            "approval_state": obj.approval_state,
            "proposal": request.body if request else "",
            "approved_by": obj.approved_by,
            "approved_at": obj.approved_at,
            "category": obj.category,
            "steps": [
                {
                    "step": record.step,
                    "label": str(record.get_step_display()),
                    "note": record.note,
                    "done_by": record.done_by,
                    "done_at": record.done_at,
                }
                for record in steps
            ],
        }

    @staticmethod
    def resolve_after_sales(obj: Any) -> Any:
        if obj.kind != TicketKind.AFTER_SALES:
            return None
        return AfterSalesCase.objects.filter(ticket_id=obj.pk).first()

    @staticmethod
    def resolve_actions(obj: Any, context: Any) -> list[dict[str, Any]]:
        request = (context or {}).get("request")
        return ticket_actions(request.user, obj) if request is not None else []


def ticket_actions(user: Any, ticket: Any) -> list[dict[str, Any]]:
    """What the reader may do with the ticket now: the state table's actions plus claim, assign, decide.

    Only actions the reader holds the right for are listed; `allowed` false with a reason marks
    those the ticket itself does not allow yet (a complaint step missing, someone else has it).
    """
    actions: list[dict[str, Any]] = []

    def add(action: str, label: Any, *, needs_note: bool = False, reason: str = "") -> None:
        actions.append(
            {
                "action": action,
                "label": str(label),
                "needs_note": needs_note,
                "allowed": not reason,
                "reason": reason,
            }
        )

    if ticket.is_active and user.has_perm("tickets.change_ticket") and ticket.assignee_id != user.pk:
        taken = str(_("%(name)s has already taken this ticket.") % {"name": ticket.assignee})
        add("claim", _("Claim"), reason=taken if ticket.assignee_id else "")
    if ticket.is_active and user.has_perm("tickets.assign_ticket"):
        add("assign", _("Assign or transfer"))
    for action, transition in available_actions(ticket):
        if not user.has_perm(transition.permission):
            continue
        blocker = complaint_blockers(ticket, action) or after_sales_blockers(ticket, action) or ""
        add(action, transition.label, needs_note=transition.needs_note, reason=blocker)
    if ticket.approval_state == ApprovalState.REQUESTED and user.has_perm("tickets.approve_complaint"):
        add("decide", _("Approve or reject the solution"), needs_note=True)
    return actions


class EventOut(Schema):
    id: int
    kind: str
    actor: UserRef | None
    created_at: dt.datetime
    body: str
    internal: bool
    data: dict[str, Any]
    attachment_name: str
    attachment_size: int


class MailOut(Schema):
    id: int
    event_id: int | None
    direction: str = Field(description="in: from the customer; out: a reply we sent")
    message_id: str
    address: str
    created_at: dt.datetime
    status: str = Field(description="Replies: queued, sending, sent or failed; empty for received mail")
    attempts: int
    error: str
    permanent: bool = Field(description="The server refused for good; fix the address before retrying")
    sent_at: dt.datetime | None


class EventPage(Schema):
    count: int
    items: list[EventOut]


class QueueCountsOut(Schema):
    mine: int
    group: int
    unassigned: int
    due_today: int
    breached: int
    approval: int
    callbacks: int
    capped: list[str] = Field(
        description="Queues holding more than `cap` items: their number above is the cap, not the total"
    )
    cap: int


# --- writing tickets --------------------------------------------------------------------------


class AfterSalesFields(Schema):
    order_number: str | None = Field(default=None, max_length=64)
    buyer_id: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=5000)
    quality_problem: bool | None = None
    product_intact: bool | None = None
    exchange_item: str | None = Field(default=None, max_length=200)
    return_tracking_number: str | None = Field(default=None, max_length=64)
    customer_advanced_shipping: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    refund_amount: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    review_platform: str | None = Field(default=None, max_length=50)
    review_text: str | None = Field(default=None, max_length=5000)


class AfterSalesIn(AfterSalesFields):
    case_type: AfterSalesTypeValue


class AfterSalesPatch(AfterSalesFields):
    case_type: AfterSalesTypeValue | None = None


class TicketIn(Schema):
    kind: KindValue
    channel: ChannelValue
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)
    priority: PriorityValue = "normal"
    severity: SeverityValue | Literal[""] = Field(default="", description="Complaints only")
    customer_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str = Field(default="", max_length=40)
    contact_qq: str = Field(default="", max_length=20)
    contact_email: str = Field(default="", max_length=254)
    occurred_at: Moment | None = None
    place: str = Field(default="", max_length=200)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    callback_due_at: Moment | None = None
    answer: str = Field(
        default="", max_length=20000, description="The answer given on the call: closes the ticket at once"
    )
    apologised: bool = Field(default=False, description="Complaints: the apology was made at intake")
    after_sales: AfterSalesIn | None = Field(default=None, description="Required for kind after_sales")


class TicketPatch(Schema):
    priority: PriorityValue | None = None
    severity: SeverityValue | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_qq: str | None = Field(default=None, max_length=20)
    contact_email: str | None = Field(default=None, max_length=254)
    place: str | None = Field(default=None, max_length=200)
    occurred_at: Moment | None = Field(default=None, description="null clears the time of the event")
    category_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Complaints: the classification (step 7)"
    )
    callback_due_at: Moment | None = Field(default=None, description="null clears the call-back")
    version: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The version you read; a stale one gets 409."
    )


class ReplyIn(Schema):
    kind: ReplyKind = "reply"
    body: str = Field(min_length=1, max_length=20000)


class TicketAssignIn(Schema):
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    reason: str = Field(default="", max_length=300, description="Required when taking it from someone")
    version: int | None = Field(default=None, ge=1, le=MAX_ID)


class TransitionIn(Schema):
    action: ActionValue
    note: str = Field(default="", max_length=20000)
    version: int | None = Field(default=None, ge=1, le=MAX_ID)


class NoteIn(Schema):
    note: str = Field(min_length=1, max_length=20000)


class ComplaintStepIn(Schema):
    step: int = Field(ge=1, le=9)
    note: str = Field(min_length=1, max_length=20000)
    category_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Step 7: the category")


class ApprovalRequestIn(Schema):
    proposal: str = Field(min_length=1, max_length=20000)


class DecisionIn(Schema):
    approve: bool
    note: str = Field(default="", max_length=20000, description="Required when rejecting")


class RemarkIn(Schema):
    change: str = Field(min_length=1, max_length=200, description="What the customer asked to change")


class BulkAssignIn(Schema):
    ids: list[RowId] = Field(min_length=1, max_length=500)
    assignee_id: int = Field(ge=1, le=MAX_ID)
    reason: str = Field(default="", max_length=300)


class BulkCloseIn(Schema):
    ids: list[RowId] = Field(min_length=1, max_length=500)
    note: str = Field(default="", max_length=20000)


class BulkFailure(Schema):
    id: int
    message: str


class BulkOut(Schema):
    done: list[int]
    failed: list[BulkFailure]


# --- canned replies, categories, groups, SLA -----------------------------------------------------


class CannedReplyIn(Schema):
    category: CannedCategoryValue = "other"
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=5000)
    sort_order: int = Field(default=0, ge=0, le=1_000_000)
    active: bool = True


class CannedReplyPatch(Schema):
    category: CannedCategoryValue | None = None
    title: str | None = Field(default=None, min_length=1, max_length=100)
    body: str | None = Field(default=None, min_length=1, max_length=5000)
    sort_order: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = None


class CannedReplyOut(Schema):
    id: int
    category: CannedCategoryValue
    title: str
    body: str
    sort_order: int
    active: bool
    updated_at: dt.datetime


class RenderedOut(Schema):
    text: str


class TicketGroupIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    department_id: int = Field(ge=1, le=MAX_ID)
    assign_mode: AssignModeValue = "manual"
    active: bool = True
    member_ids: list[RowId] = Field(default_factory=list, max_length=500)


class TicketGroupPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    assign_mode: AssignModeValue | None = None
    active: bool | None = None
    member_ids: list[RowId] | None = Field(default=None, max_length=500)


class TicketGroupOut(Schema):
    id: int
    name: str
    department: DepartmentRef
    assign_mode: AssignModeValue
    active: bool
    kinds: list[str]
    members: list[UserRef]

    @staticmethod
    def resolve_members(obj: Any) -> list[Any]:
        return list(obj.members.all())

    @staticmethod
    def resolve_kinds(obj: Any) -> list[str]:
        return [str(kind) for kind in obj.kinds or []] if isinstance(obj.kinds, list) else []


class SlaTargetIn(Schema):
    kind: KindValue | Literal[""] = ""
    priority: PriorityValue | Literal[""] = ""
    tier: Literal["A", "B", "C", ""] = ""
    first_response_minutes: int = Field(ge=1, le=60 * 24 * 365)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365)


class SlaPolicyIn(Schema):
    effective_from: Day
    at_risk_percent: int = Field(default=80, ge=1, le=99)
    manager_after_minutes: int = Field(default=120, ge=0, le=60 * 24 * 30)
    targets: list[SlaTargetIn] = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=200)


class SlaTargetOut(Schema):
    kind: str
    priority: str
    tier: str
    first_response_minutes: int
    resolution_minutes: int


class SlaPolicyOut(Schema):
    id: int
    effective_from: dt.date
    at_risk_percent: int
    manager_after_minutes: int
    note: str
    created_by_id: int | None
    created_at: dt.datetime
    targets: list[SlaTargetOut]

    @staticmethod
    def resolve_targets(obj: Any) -> list[Any]:
        return list(obj.targets.all())


# --- notifications --------------------------------------------------------------------------------


class NotificationOut(Schema):
    id: int
    message: str
    url: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Schema):
    count: int
    unread: int
    items: list[NotificationOut]


class NotificationsReadIn(Schema):
    ids: list[RowId] | None = Field(default=None, max_length=1000, description="null: mark all read")


class MarkedOut(Schema):
    marked: int


# --- complaint reports ------------------------------------------------------------------------


class ReportFilterIn(Schema):
    period: Literal["week", "month"] = "month"
    month: str = Field(default="", max_length=7, description="2026-11; empty: this month")
    week: str = Field(default="", max_length=8, description="2026-W47 (ISO week); empty: this week")
    department_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A department of your data scope (with those below it)"
    )


class ReportPeriodOut(Schema):
    kind: str
    key: str
    label: str
    start: dt.date
    end: dt.date = Field(description="The period's last day")


class CountOut(Schema):
    key: str | int
    label: str
    count: int


class DayCountOut(Schema):
    day: dt.date
    count: int


class CauseCountOut(Schema):
    cause: str
    count: int


class ComplaintReportOut(Schema):
    period: ReportPeriodOut
    department_id: int | None
    received: int
    closed: int
    still_open: int = Field(description="Received in the period and not closed yet")
    breached: int = Field(description="Received in the period and past their time limit")
    measured: int = Field(description="Closed complaints with a measured resolution time")
    average_hours: float | None = Field(description="Average resolution, working hours")
    p90_hours: float | None = Field(description="90 % were resolved within this many working hours")
    by_category: list[CountOut]
    by_severity: list[CountOut]
    by_channel: list[CountOut]
    by_department: list[CountOut]
    by_day: list[DayCountOut]
    top_causes: list[CauseCountOut]


class CauseAnalysisOut(Schema):
    id: int
    month: dt.date
    department: DepartmentRef | None
    causes: str
    proposals: str
    follow_up_owner: UserRef | None
    state: str
    written_by: UserRef
    submitted_at: dt.datetime | None
    approved_by: UserRef | None
    approved_at: dt.datetime | None
    decision_note: str
    version: int


class CauseAnalysisFilterIn(Schema):
    month: str = Field(default="", max_length=7, description="2026-11")
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CauseAnalysisIn(Schema):
    month: dt.date = Field(description="Any day of the month analysed")
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Empty: all departments")
    causes: str = Field(max_length=20000)
    proposals: str = Field(max_length=20000)
    follow_up_owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CauseAnalysisPatch(Schema):
    causes: str | None = Field(default=None, max_length=20000)
    proposals: str | None = Field(default=None, max_length=20000)
    follow_up_owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    version: int | None = Field(default=None, ge=1, le=MAX_ID)


class CauseTransitionIn(Schema):
    action: Literal["submit", "approve", "return"]
    note: str = Field(default="", max_length=5000)
    version: int | None = Field(default=None, ge=1, le=MAX_ID)
