"""API schemas of the archive. Phone and ID numbers are masked here, by the same helper as pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import field_validator

from kefu.core.masking import can_view_sensitive, masked

Kind = Literal["company", "person"]
LifecycleValue = Literal["potential", "opened", "purchasing", "closed", "lost"]
TierValue = Literal["A", "B", "C", ""]
RatingValue = Literal["AAA", "AA", "A", "B", "C", ""]
GenderValue = Literal["m", "f", ""]

Text = Field(default=None, max_length=300)


def _reveal(context: Any) -> bool:
    request = (context or {}).get("request")
    return bool(request is not None and can_view_sensitive(request.user))


class UserRef(Schema):
    id: int
    username: str
    full_name: str


class DepartmentRef(Schema):
    id: int
    name: str


class CustomerBase(Schema):
    """Writable fields; all optional so PATCH can send only what changes."""

    kind: Kind | None = None
    short_name: str | None = Field(default=None, max_length=50)
    credit_code: str | None = Field(default=None, max_length=18)
    legal_representative: str | None = Field(default=None, max_length=50)
    registered_capital: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    licence_valid_until: dt.date | None = None
    tax_registration_number: str | None = Field(default=None, max_length=30)
    id_number: str | None = Field(default=None, max_length=18)
    gender: GenderValue | None = None
    birthday: dt.date | None = None
    member_number: str | None = Field(default=None, max_length=30)
    member_since: dt.date | None = None
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=254)
    province: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, max_length=10)
    website: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=50)
    source: str | None = Field(default=None, max_length=50)
    lifecycle: LifecycleValue | None = None
    lost_reason: str | None = Field(default=None, max_length=300)
    is_vip: bool | None = None
    brand_value: bool | None = None
    annual_tons: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    production_process: str | None = Field(default=None, max_length=5000)
    raw_materials: str | None = Field(default=None, max_length=5000)
    investment: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    production_notes: str | None = Field(default=None, max_length=5000)
    credit_status: str | None = Field(default=None, max_length=5000)
    credit_rating: RatingValue | None = None
    credit_limit: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    credit_checked_on: dt.date | None = None
    owner_id: int | None = Field(default=None, ge=1)
    department_id: int | None = Field(default=None, ge=1)
    sms_opt_out: bool | None = None
    notes: str | None = Field(default=None, max_length=5000)


class CustomerIn(CustomerBase):
    name: str = Field(min_length=1, max_length=200)


class CustomerPatch(CustomerBase):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1, description="The version you read; a stale one gets 409.")


class CustomerListOut(Schema):
    id: int
    archive_number: str
    kind: str
    name: str
    tier: str
    lifecycle: str
    phone: str
    city: str
    owner_id: int | None
    department_id: int | None
    last_contact_at: dt.datetime | None
    last_trade_at: dt.datetime | None

    @staticmethod
    def resolve_phone(obj: Any, context: Any) -> str:
        return masked(obj.phone, "phone", reveal=_reveal(context))


class CustomerOut(CustomerListOut):
    short_name: str
    credit_code: str | None
    legal_representative: str
    registered_capital: Decimal | None
    licence_valid_until: dt.date | None
    tax_registration_number: str
    id_number: str
    gender: str
    birthday: dt.date | None
    member_number: str | None
    member_since: dt.date | None
    email: str
    province: str
    address: str
    postcode: str
    website: str
    industry: str
    source: str
    lifecycle_changed_at: dt.datetime | None
    lost_reason: str
    is_vip: bool
    brand_value: bool
    annual_tons: Decimal | None
    production_process: str
    raw_materials: str
    investment: Decimal | None
    production_notes: str
    tier_source: str
    tier_reason: str
    tier_policy_id: int | None
    credit_status: str
    credit_rating: str
    credit_limit: Decimal | None
    credit_checked_on: dt.date | None
    owner: UserRef | None
    department: DepartmentRef | None
    sms_opt_out: bool
    notes: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_id_number(obj: Any, context: Any) -> str:
        return masked(obj.id_number, "id_number", reveal=_reveal(context))


class TierIn(Schema):
    tier: TierValue | None = Field(
        description="A, B, C, '' for none, or null to follow the tier policy again"
    )
    reason: str = Field(default="", max_length=300)


class AssignIn(Schema):
    ids: list[int] = Field(min_length=1, max_length=1000)
    owner_id: int | None = Field(default=None, ge=1)
    department_id: int | None = Field(default=None, ge=1)


class AssignOut(Schema):
    moved: int


class ContactIn(Schema):
    name: str = Field(min_length=1, max_length=50)
    title: str = Field(default="", max_length=50)
    is_primary: bool = False
    gender: GenderValue = ""
    mobile: str = Field(default="", max_length=30)
    telephone: str = Field(default="", max_length=30)
    qq: str = Field(default="", max_length=20)
    wechat: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=254)
    address: str = Field(default="", max_length=300)
    birthday: dt.date | None = None
    notes: str = Field(default="", max_length=500)


class ContactPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    title: str | None = Field(default=None, max_length=50)
    is_primary: bool | None = None
    gender: GenderValue | None = None
    mobile: str | None = Field(default=None, max_length=30)
    telephone: str | None = Field(default=None, max_length=30)
    qq: str | None = Field(default=None, max_length=20)
    wechat: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=300)
    birthday: dt.date | None = None
    notes: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1)


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    title: str
    is_primary: bool
    gender: str
    mobile: str
    telephone: str
    qq: str
    wechat: str
    email: str
    address: str
    birthday: dt.date | None
    notes: str
    version: int

    @staticmethod
    def resolve_mobile(obj: Any, context: Any) -> str:
        return masked(obj.mobile, "phone", reveal=_reveal(context))

    @staticmethod
    def resolve_telephone(obj: Any, context: Any) -> str:
        return masked(obj.telephone, "phone", reveal=_reveal(context))


class DocumentOut(Schema):
    id: int
    customer_id: int
    kind: str
    title: str
    original_name: str
    size: int
    content_type: str
    sha256: str
    important: bool
    notes: str
    uploaded_by_id: int | None
    created_at: dt.datetime


class TradeIn(Schema):
    traded_on: dt.date
    kind: Literal["purchase", "contract", "payment", "return", "other"] = "purchase"
    amount: Decimal = Field(max_digits=14, decimal_places=2, ge=-999999999999, le=999999999999)
    product: str = Field(default="", max_length=200)
    quantity_tons: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    reference: str = Field(default="", max_length=50)
    notes: str = Field(default="", max_length=500)


class TradeOut(Schema):
    id: int
    customer_id: int
    traded_on: dt.date
    kind: str
    product: str
    quantity_tons: Decimal | None
    amount: Decimal
    reference: str
    notes: str
    recorded_by_id: int | None
    created_at: dt.datetime


class ContactRecordIn(Schema):
    channel: Literal["phone", "visit", "wechat", "email", "letter", "other"] = "phone"
    summary: str = Field(min_length=1, max_length=500)
    happened_at: dt.datetime | None = None
    contact_id: int | None = Field(default=None, ge=1)

    @field_validator("happened_at")
    @classmethod
    def aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            from django.utils import timezone

            return timezone.make_aware(value)
        return value


class ContactRecordOut(Schema):
    id: int
    customer_id: int
    contact_id: int | None
    happened_at: dt.datetime
    channel: str
    summary: str
    recorded_by_id: int | None


class TierChangeOut(Schema):
    id: int
    at: dt.datetime
    from_tier: str
    to_tier: str
    source: str
    reason: str
    policy_id: int | None
    actor_id: int | None


class HistoryOut(Schema):
    id: int
    timestamp: dt.datetime
    action: str
    record_type: str
    object_id: str
    object_repr: str
    actor_id: int | None
    remote_addr: str | None
    changes: dict[str, Any]


class BirthdayOut(Schema):
    customer_id: int
    contact_id: int | None
    name: str
    birthday: dt.date
    next_birthday: dt.date
    days_until: int


class BorrowIn(Schema):
    document_id: int = Field(ge=1)
    purpose: str = Field(min_length=1, max_length=300)
    due_back_on: dt.date


class BorrowActionIn(Schema):
    note: str = Field(default="", max_length=300)
    check_passed: bool | None = None


class BorrowOut(Schema):
    id: int
    number: str
    document_id: int
    customer_id: int
    requester_id: int
    purpose: str
    due_back_on: dt.date
    state: str
    decided_by_id: int | None
    decided_at: dt.datetime | None
    decision_note: str
    returned_at: dt.datetime | None
    checked_by_id: int | None
    checked_at: dt.datetime | None
    check_passed: bool | None
    check_note: str
    created_at: dt.datetime


class TierPolicyIn(Schema):
    effective_from: dt.date
    a_min_tons: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    b_min_tons: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    brand_value_makes_a: bool = True
    scale_makes_vip: bool = True
    note: str = Field(default="", max_length=200)


class TierPolicyOut(Schema):
    id: int
    effective_from: dt.date
    a_min_tons: Decimal
    b_min_tons: Decimal
    brand_value_makes_a: bool
    scale_makes_vip: bool
    note: str
    created_by_id: int | None
    created_at: dt.datetime


class ChurnPolicyIn(Schema):
    effective_from: dt.date
    days_without_trade: int = Field(ge=1, le=3650)
    days_without_contact: int = Field(ge=1, le=3650)
    birthday_days_ahead: int = Field(ge=1, le=366)
    note: str = Field(default="", max_length=200)


class ChurnPolicyOut(Schema):
    id: int
    effective_from: dt.date
    days_without_trade: int
    days_without_contact: int
    birthday_days_ahead: int
    note: str
    created_by_id: int | None
    created_at: dt.datetime


class ImportOut(Schema):
    id: int
    original_name: str
    dry_run: bool
    source_id: int | None
    update_existing: bool
    status: str
    total_rows: int
    processed_rows: int
    percent: int
    created_count: int
    updated_count: int
    skipped_count: int
    error_count: int
    errors: list[dict[str, Any]]
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
