"""API schemas of the surveys. Phones are masked here by the same helper as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Schema

from kefu.core.masking import masked
from kefu.core.pagination import MAX_OFFSET
from kefu.customers.schemas import UserRef
from kefu.tickets.schemas import MAX_ID, MAX_LIMIT, Day, KindValue, _reveal

ChannelValue = Literal["phone", "visit", "letter", "sms", "email", "web"]
QuestionKindValue = Literal["rating", "single", "multiple", "text"]
StateValue = Literal["pending", "answered", "cancelled"]
DimensionValue = Literal["department", "staff", "tier", "total"]
RowId = int


class QuestionIn(Schema):
    kind: QuestionKindValue
    text: str = Field(..., max_length=300)
    choices: list[str] = Field(default_factory=list, max_length=50)
    required: bool = True


class TemplateIn(Schema):
    name: str = Field(..., max_length=100)
    family: str = Field("", max_length=50, description="A code for the survey; versions share it")
    intro: str = Field("", max_length=5000)
    active: bool = True
    send_after_ticket_close: bool = False
    ticket_kinds: list[KindValue] = Field(default_factory=list, max_length=5)
    auto_channel: ChannelValue = "sms"
    questions: list[QuestionIn] = Field(..., max_length=50)


class QuestionOut(Schema):
    id: int
    position: int
    kind: QuestionKindValue
    text: str
    choices: list[str]
    required: bool


class TemplateOut(Schema):
    id: int
    family: str
    version: int
    name: str
    intro: str
    active: bool
    send_after_ticket_close: bool
    ticket_kinds: list[str]
    auto_channel: ChannelValue
    questions: list[QuestionOut]

    @staticmethod
    def resolve_questions(obj: Any) -> list[Any]:
        return list(obj.questions.all())


class TemplatePage(Schema):
    count: int
    items: list[TemplateOut]


class SubjectIn(Schema):
    type: str = Field(..., max_length=100, description="app_label.model, e.g. tickets.ticket")
    id: int = Field(..., ge=1, le=MAX_ID)


class InvitationIn(Schema):
    template_id: int = Field(..., ge=1, le=MAX_ID)
    customer_id: int = Field(..., ge=1, le=MAX_ID)
    channel: ChannelValue
    served_by_id: int | None = Field(None, ge=1, le=MAX_ID)
    subject: SubjectIn | None = None
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=40)
    contact_email: str = Field("", max_length=254)


class InvitationFilterIn(Schema):
    state: StateValue | None = None
    channel: ChannelValue | None = None
    template: int | None = Field(None, ge=1, le=MAX_ID)
    served_by: int | None = Field(None, ge=1, le=MAX_ID)
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    month: Day | None = Field(None, description="Any day of the month the surveys were sent")
    dissatisfied: bool = False
    q: str = Field("", max_length=100, description="Survey number, customer name or subject")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CustomerRef(Schema):
    id: int
    name: str


class InvitationOut(Schema):
    id: int
    number: str
    template_id: int
    template_name: str = Field(..., alias="template.name")
    channel: ChannelValue
    customer: CustomerRef
    contact_name: str
    contact_phone: str
    subject_type: str | None
    subject_id: int | None
    subject_label: str
    served_by: UserRef | None
    department_id: int | None
    tier: str
    state: StateValue
    created_at: dt.datetime
    expires_at: dt.datetime
    answered_at: dt.datetime | None
    delivery_state: str
    link: str

    @staticmethod
    def resolve_contact_phone(obj: Any, context: Any) -> str:
        return masked(obj.contact_phone, "phone", reveal=_reveal(context))

    @staticmethod
    def resolve_subject_type(obj: Any) -> str | None:
        if obj.subject_type_id is None:
            return None
        return f"{obj.subject_type.app_label}.{obj.subject_type.model}"

    @staticmethod
    def resolve_link(obj: Any) -> str:
        from kefu.surveys.services import survey_link

        return "" if obj.channel == "phone" else survey_link(obj)


class InvitationPage(Schema):
    count: int
    items: list[InvitationOut]


class ResponseIn(Schema):
    answers: dict[str, Any] = Field(
        ...,
        description="Question id → answer: 1–5 for a rating, the choice for single choice, "
        "a list of choices for multiple choice, text for text",
    )


class AnswerOut(Schema):
    question_id: int
    question: str = Field(..., alias="question.text")
    score: int | None
    choices: list[str]
    text: str


class ResponseOut(Schema):
    id: int
    invitation_id: int
    customer_id: int
    served_by_id: int | None
    channel: ChannelValue
    answered_at: dt.datetime
    entered_by_id: int | None
    average_score: Decimal | None
    lowest_score: int | None
    follow_up_ticket_id: int | None
    answers: list[AnswerOut]

    @staticmethod
    def resolve_answers(obj: Any) -> list[Any]:
        return list(obj.answers.select_related("question").order_by("question__position", "id"))


class RecipientFilterIn(Schema):
    q: str = Field("", max_length=100)
    kind: Literal["", "company", "person"] = ""
    tier: Literal["", "A", "B", "C", "none"] = ""
    lifecycle: Literal["", "potential", "opened", "purchasing", "closed", "lost"] = ""
    department: int | None = Field(None, ge=1, le=MAX_ID)


class SurveyCountOut(Schema):
    count: int


class SendIn(Schema):
    template_id: int = Field(..., ge=1, le=MAX_ID)
    channel: ChannelValue
    filters: RecipientFilterIn = Field(default_factory=RecipientFilterIn)


class SendOut(Schema):
    id: int
    template_id: int
    channel: ChannelValue
    filters: dict[str, Any]
    state: Literal["queued", "running", "done", "failed"]
    total: int
    done: int
    skipped: int
    percent: int
    created_at: dt.datetime
    finished_at: dt.datetime | None


class StatisticsIn(Schema):
    by: DimensionValue = "department"
    first_month: Day | None = Field(None, description="Any day of the first month (default: 11 months back)")
    last_month: Day | None = Field(None, description="Any day of the last month (default: this month)")


class FiguresOut(Schema):
    month: dt.date
    key: str | None
    label: str
    invitations: int
    answered_of_sent: int
    responses: int
    response_rate: Decimal | None
    ratings: int
    very_satisfied: int
    very_satisfied_share: Decimal | None
    average_score: Decimal | None

    @staticmethod
    def resolve_key(obj: Any) -> str | None:
        return None if obj.key is None else str(obj.key)


class NominationOut(Schema):
    rank: int
    staff: UserRef
    responses: int
    ratings: int
    very_satisfied_share: Decimal
    average_score: Decimal | None


class PolicyOut(Schema):
    id: int
    effective_from: dt.date
    link_valid_days: int
    dissatisfied_at_or_below: int
    nomination_min_responses: int
    nomination_min_very_satisfied_percent: Decimal
    nomination_top: int
    note: str


class NominationsOut(Schema):
    month: dt.date
    policy: PolicyOut | None
    nominees: list[NominationOut]

    @staticmethod
    def resolve_policy(obj: Any) -> Any:
        return obj.policy if obj.policy.pk else None


class PolicyIn(Schema):
    effective_from: Day
    link_valid_days: int = Field(14, ge=1, le=365)
    dissatisfied_at_or_below: int = Field(2, ge=1, le=4)
    nomination_min_responses: int = Field(10, ge=0, le=100000)
    nomination_min_very_satisfied_percent: Decimal = Field(Decimal("90"), ge=0, le=100, decimal_places=2)
    nomination_top: int = Field(5, ge=1, le=100)
    note: str = Field("", max_length=200)


class MonthIn(Schema):
    month: Day | None = Field(None, description="Any day of the month (default: last month)")
