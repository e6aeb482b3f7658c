"""API schemas of return visits."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from kefu.core.pagination import MAX_OFFSET
from kefu.customers.schemas import DepartmentRef, UserRef
from kefu.tickets.schemas import CustomerBrief, Day, Moment

MAX_LIMIT = 500
MAX_ID = 2**63 - 1

PurposeValue = Literal[
    "return_visit",
    "evaluation",
    "follow_up",
    "purchase",
    "win_back",
    "service",
    "briefing",
    "invitation",
    "news",
    "newsletter",
]
ActivityValue = Literal["briefing", "invitation", "news", "newsletter"]
SourceValue = Literal["cadence", "complaint", "purchase", "lost", "service", "manual", "bulk"]
CreateSourceValue = Literal["manual", "service"]
StateValue = Literal["planned", "scheduled", "callback", "done", "failed", "cancelled"]
OutcomeValue = Literal["reached", "no_answer", "busy", "wrong_number", "call_later"]
RoleValue = Literal["agent", "leader", "president", "complaint_specialist", "big_customer_specialist"]
QueueValue = Literal["due", "overdue", "callbacks", "mine", "unassigned", "done", "all"]
SortValue = Literal["due", "deadline", "newest", "customer", "tier"]
TierValue = Literal["A", "B", "C"]
TicketKindValue = Literal["inquiry", "complaint", "repair", "after_sales", "suggestion"]
ChannelValue = Literal["phone", "visit", "wechat", "email", "letter", "other"]
RowId = int


class VisitFilterIn(Schema):
    queue: QueueValue = "all"
    purpose: PurposeValue | None = None
    source: SourceValue | None = None
    state: StateValue | None = None
    tier: TierValue | None = None
    role: RoleValue | None = None
    assignee: int | None = Field(None, ge=1, le=MAX_ID)
    department: int | None = Field(None, ge=1, le=MAX_ID)
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    q: str = Field("", max_length=100, description="Customer name, archive number or reference")
    due_from: Day | None = None
    due_to: Day | None = None
    sort: SortValue = "due"
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class VisitPageIn(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class AnswerItem(Schema):
    question: str = Field("", max_length=300)
    answer: str = Field("", max_length=2000)


class VisitOut(Schema):
    id: int
    customer: CustomerBrief
    purpose: str
    source: str
    reference: str
    state: str
    role: str
    tier: str
    assignee: UserRef | None
    department: DepartmentRef | None
    due_on: dt.date
    deadline: dt.date
    next_attempt_at: dt.datetime | None
    attempts: int
    booked_at: dt.datetime | None
    satisfaction: int | None
    answers: list[AnswerItem]
    summary: str
    source_ticket_id: int | None
    issue_ticket_id: int | None
    cadence_rule: str
    period_start: dt.date | None
    cadence_policy_id: int | None
    retry_policy_id: int | None
    completed_at: dt.datetime | None
    cancel_reason: str
    created_at: dt.datetime
    version: int


class VisitPage(Schema):
    count: int
    items: list[VisitOut]


class VisitIn(Schema):
    customer_id: int = Field(..., ge=1, le=MAX_ID)
    purpose: PurposeValue = "return_visit"
    source: CreateSourceValue = "manual"
    reference: str = Field("", max_length=100, description="For a field service: its work order number")
    due_on: Day | None = None
    deadline: Day | None = None
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)
    role: RoleValue = "agent"
    note: str = Field("", max_length=2000)


class IssueIn(Schema):
    subject: str = Field(..., max_length=200)
    description: str = Field("", max_length=20000)
    kind: TicketKindValue = "inquiry"


class AttemptIn(Schema):
    outcome: OutcomeValue
    note: str = Field("", max_length=2000)
    booked_at: Moment | None = None
    answers: list[AnswerItem] = Field(default_factory=list, max_length=50)
    satisfaction: int | None = Field(None, ge=1, le=5, description="5 very satisfied … 1 very dissatisfied")
    summary: str = Field("", max_length=5000)
    issue: IssueIn | None = None
    channel: ChannelValue = "phone"
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The version read; a stale one is a 409"
    )


class ActivityIn(Schema):
    customer_id: int = Field(..., ge=1, le=MAX_ID)
    purpose: ActivityValue
    summary: str = Field(..., max_length=2000)
    channel: ChannelValue = "phone"
    happened_at: Moment | None = None


class VisitAssignIn(Schema):
    assignee_id: int = Field(..., ge=1, le=MAX_ID)
    note: str = Field("", max_length=300)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class VisitNoteIn(Schema):
    note: str = Field("", max_length=300)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class VisitBulkAssignIn(Schema):
    ids: list[int] = Field(..., min_length=1, max_length=1000)
    assignee_id: int = Field(..., ge=1, le=MAX_ID)
    note: str = Field("", max_length=300)


class VisitBulkFailure(Schema):
    id: int
    message: str


class VisitBulkOut(Schema):
    done: list[int]
    failed: list[VisitBulkFailure]


class BulkCreateIn(Schema):
    """The customers list's filters (the same as GET /customers) and the visit to plan for each."""

    q: str = Field("", max_length=100)
    tier: Literal["", "A", "B", "C", "none"] = ""
    lifecycle: Literal["", "potential", "opened", "purchasing", "closed", "lost"] = ""
    department: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    is_vip: bool | None = None
    province: str = Field("", max_length=20)
    purpose: PurposeValue = "return_visit"
    due_on: Day
    deadline: Day | None = None
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)
    note: str = Field("", max_length=100)
    preview: bool = Field(False, description="Only count the customers; plan nothing")


class BulkCreateOut(Schema):
    count: int
    created: int


class VisitEventOut(Schema):
    id: int
    kind: str
    outcome: str
    from_state: str
    to_state: str
    note: str
    data: dict
    actor: UserRef | None
    at: dt.datetime


class VisitEventPage(Schema):
    count: int
    items: list[VisitEventOut]


class VisitQueueCountsOut(Schema):
    due: int
    overdue: int
    callbacks: int
    mine: int
    unassigned: int


class RateOut(Schema):
    key: str
    label: str
    due: int
    done: int
    rate: float


class StatsOut(Schema):
    year: int
    month: int
    people: list[RateOut]
    tiers: list[RateOut]


class StatsIn(Schema):
    year: int = Field(..., ge=2000, le=2999)
    month: int = Field(..., ge=1, le=12)


class CadenceRuleIO(Schema):
    code: str = Field(..., min_length=1, max_length=30)
    role: RoleValue
    tiers: str = Field(..., min_length=1, max_length=3, description="Any of A, B and C")
    every_months: Literal[1, 2, 3, 4, 6, 12]


class CadencePolicyIn(Schema):
    effective_from: Day
    rules: list[CadenceRuleIO] = Field(..., min_length=1, max_length=20)
    follow_up_months: int = Field(1, ge=0, le=24)
    purchase_delay_days: int = Field(3, ge=0, le=365)
    win_back_delay_days: int = Field(0, ge=0, le=365)
    open_days: int = Field(7, ge=0, le=365)
    note: str = Field("", max_length=200)


class CadencePolicyOut(Schema):
    id: int | None
    effective_from: dt.date
    rules: list[CadenceRuleIO]
    follow_up_months: int
    purchase_delay_days: int
    win_back_delay_days: int
    open_days: int
    note: str


class RetryPolicyIn(Schema):
    effective_from: Day
    attempts_before_callback: int = Field(..., ge=1, le=20)
    retry_delay_minutes: int = Field(..., ge=1, le=7 * 24 * 60)
    callback_within_hours: int = Field(24, ge=1, le=24 * 30)
    note: str = Field("", max_length=200)


class RetryPolicyOut(Schema):
    id: int | None
    effective_from: dt.date
    attempts_before_callback: int
    retry_delay_minutes: int
    callback_within_hours: int
    note: str


class ScriptOut(Schema):
    id: int
    purpose: str
    greeting: str
    ask_time: str
    questions: list[str]
    closing: str
    silent_line: str
    second_call: str


class ScriptPatch(Schema):
    greeting: str | None = Field(None, max_length=2000)
    ask_time: str | None = Field(None, max_length=2000)
    questions: list[str] | None = Field(None, max_length=30)
    closing: str | None = Field(None, max_length=2000)
    silent_line: str | None = Field(None, max_length=2000)
    second_call: str | None = Field(None, max_length=2000)
