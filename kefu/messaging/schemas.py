"""API schemas of member care messaging. Mobiles and emails are masked by the one masking helper."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from kefu.core.masking import can_view_sensitive, masked
from kefu.core.pagination import MAX_OFFSET
from kefu.customers.schemas import UserRef
from kefu.tickets.schemas import Day

MAX_LIMIT = 500
MAX_ID = 2**63 - 1

ChannelValue = Literal["sms", "email"]
PurposeValue = Literal["care", "notice", "marketing"]
StatusValue = Literal["queued", "sending", "sent", "failed", "skipped"]
StateValue = Literal[
    "draft", "awaiting_approval", "approved", "rejected", "sending", "paused", "done", "cancelled"
]
ActionValue = Literal["submit", "approve", "reject", "start", "pause", "resume", "cancel"]


def _reveal(context: Any) -> bool:
    request = (context or {}).get("request")
    return bool(request is not None and can_view_sensitive(request.user))


class MessagingPageIn(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


# --- templates ----------------------------------------------------------------------------------


class MessageTemplateIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    channel: ChannelValue = "sms"
    purpose: PurposeValue = "notice"
    provider_code: str = Field("", max_length=50)
    signature: str = Field("", max_length=30)
    subject: str = Field("", max_length=200)
    body: str = Field(..., min_length=1, max_length=2000)
    active: bool = True


class TemplatePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    purpose: PurposeValue | None = None
    provider_code: str | None = Field(None, max_length=50)
    signature: str | None = Field(None, max_length=30)
    subject: str | None = Field(None, max_length=200)
    body: str | None = Field(None, min_length=1, max_length=2000)
    active: bool | None = None


class MessageTemplateOut(Schema):
    id: int
    name: str
    channel: str
    purpose: str
    provider_code: str
    signature: str
    subject: str
    body: str
    params: list[str]
    active: bool


# --- campaigns ----------------------------------------------------------------------------------


class CampaignFilterIn(Schema):
    """The customer list's filters (see GET /customers)."""

    q: str = Field("", max_length=100)
    kind: Literal["company", "person"] | None = None
    tier: Literal["A", "B", "C", "none"] | None = None
    lifecycle: Literal["potential", "opened", "purchasing", "closed", "lost"] | None = None
    department: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    is_vip: bool | None = None
    province: str = Field("", max_length=20)


class PreviewIn(Schema):
    template_id: int = Field(..., ge=1, le=MAX_ID)
    filters: CampaignFilterIn = Field(default_factory=CampaignFilterIn)
    params: dict[str, str] = Field(default_factory=dict)


class PreviewOut(Schema):
    count: int
    text: str
    subject: str
    characters: int
    segments: int
    needs_approval: bool


class CampaignIn(PreviewIn):
    name: str = Field(..., min_length=1, max_length=100)


class CampaignOut(Schema):
    id: int
    number: str
    name: str
    kind: str
    state: str
    channel: str
    purpose: str
    template_id: int
    filters: dict[str, Any]
    params: dict[str, Any]
    estimated_count: int
    total_count: int
    skipped_count: int
    sent_count: int
    failed_count: int
    queued_count: int
    percent: int
    created_by: UserRef
    approved_by: UserRef | None = None
    approved_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    created_at: dt.datetime
    version: int


class CampaignPage(Schema):
    count: int
    items: list[CampaignOut]


class CampaignFilterIn(MessagingPageIn):
    state: StateValue | None = None
    purpose: PurposeValue | None = None
    q: str = Field("", max_length=100)


class CampaignTransitionIn(Schema):
    action: ActionValue
    note: str = Field("", max_length=300)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


# --- send log -----------------------------------------------------------------------------------


class MessageOut(Schema):
    id: int
    channel: str
    purpose: str
    status: str
    skip_reason: str
    customer_id: int
    customer_name: str
    contact_id: int | None = None
    campaign_id: int | None = None
    template_id: int | None = None
    source: str
    address: str
    subject: str
    body: str
    provider: str
    provider_message_id: str
    error: str
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None = None

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_address(obj: Any, context: Any) -> str:
        kind = "email" if obj.channel == "email" else "phone"
        return masked(obj.address, kind, reveal=_reveal(context))


class MessagePage(Schema):
    count: int
    items: list[MessageOut]


class MessageFilterIn(MessagingPageIn):
    status: StatusValue | None = None
    channel: ChannelValue | None = None
    purpose: PurposeValue | None = None
    campaign: int | None = Field(None, ge=1, le=MAX_ID)
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    q: str = Field("", max_length=100, description="Mobile, email or customer name")
    created_from: Day | None = None
    created_to: Day | None = None


class MessageIn(Schema):
    customer_id: int = Field(..., ge=1, le=MAX_ID)
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    channel: ChannelValue = "sms"
    template_id: int = Field(..., ge=1, le=MAX_ID)
    params: dict[str, str] = Field(default_factory=dict)
    purpose: PurposeValue | None = None
    source: str = Field("", max_length=60)


# --- opt-outs -----------------------------------------------------------------------------------


class OptOutIn(Schema):
    customer_id: int = Field(..., ge=1, le=MAX_ID)
    channel: ChannelValue = "sms"
    note: str = Field("", max_length=300)


class WithdrawIn(Schema):
    note: str = Field("", max_length=300)


class OptOutOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    channel: str
    active: bool
    source: str
    note: str
    created_at: dt.datetime
    created_by: UserRef | None = None
    withdrawn_at: dt.datetime | None = None
    withdrawn_by: UserRef | None = None

    @staticmethod
    def resolve_customer_name(obj: Any) -> str:
        return obj.customer.name


class OptOutPage(Schema):
    count: int
    items: list[OptOutOut]


class OptOutFilterIn(MessagingPageIn):
    channel: ChannelValue | None = None
    active: bool | None = None
    customer: int | None = Field(None, ge=1, le=MAX_ID)


class InboundIn(Schema):
    phone: str = Field(..., min_length=1, max_length=30, description="The number the reply came from")
    text: str = Field(..., max_length=500, description="The reply, e.g. R, TD or 退订")


class InboundOut(Schema):
    opted_out: int


# --- policies -----------------------------------------------------------------------------------


class MessagingPolicyIn(Schema):
    effective_from: Day | None = None
    per_second: int = Field(10, ge=1, le=1_000_000)
    per_minute: int = Field(300, ge=1, le=1_000_000)
    opt_out_words: str = Field("拒收请回复R|回T退订|退订回T|回TD退订", min_length=1, max_length=200)
    approval_from_recipients: int = Field(500, ge=1, le=1_000_000)
    marketing_needs_approval: bool = True
    note: str = Field("", max_length=200)


class MessagingPolicyOut(Schema):
    id: int | None = None
    effective_from: dt.date
    per_second: int
    per_minute: int
    opt_out_words: str
    approval_from_recipients: int
    marketing_needs_approval: bool
    note: str


class CarePolicyIn(Schema):
    effective_from: Day | None = None
    send_time: str = Field(
        "09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", description="HH:MM, Beijing time"
    )
    birthday_enabled: bool = True
    birthday_template_id: int | None = Field(None, ge=1, le=MAX_ID)
    birthday_contacts: bool = True
    gift_note: str = Field("凭此短信7日内到任一门店领取生日礼品一份", max_length=200)
    holiday_enabled: bool = True
    holiday_days_before: int = Field(0, ge=0, le=7)
    tiers: str = Field("", max_length=20, description="A,B,C,none separated by commas; empty = all")
    members_only: bool = False
    note: str = Field("", max_length=200)


class CarePolicyOut(Schema):
    id: int | None = None
    effective_from: dt.date
    send_time: str = Field(..., description="HH:MM, Beijing time")
    birthday_enabled: bool
    birthday_template_id: int | None = None
    birthday_contacts: bool
    gift_note: str
    holiday_enabled: bool
    holiday_days_before: int
    tiers: str
    members_only: bool
    note: str


class PoliciesOut(Schema):
    messaging: MessagingPolicyOut
    care: CarePolicyOut
