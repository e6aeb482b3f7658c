"""Writes of the satisfaction surveys. Pages, the API, the public page and the jobs come through here."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from kefu.core.history import acting
from kefu.core.notifications import notify
from kefu.core.numbering import next_number
from kefu.core.permissions import require_perm, require_visible
from kefu.core.phones import normalize_phone
from kefu.customers.models import Customer
from kefu.surveys import tokens
from kefu.surveys.models import (
    RATING_LABELS,
    DeliveryState,
    InvitationState,
    QuestionKind,
    SurveyAnswer,
    SurveyChannel,
    SurveyInvitation,
    SurveyPolicy,
    SurveyQuestion,
    SurveyResponse,
    SurveySend,
    SurveySendState,
    SurveyTemplate,
    subject_of,
)

log = logging.getLogger(__name__)

MAX_QUESTIONS = 50
MAX_TEXT_ANSWER = 2000
SEND_CHUNK = 500

# The ticket channel a follow-up complaint records, by the survey's channel.
FOLLOW_UP_CHANNEL = {
    SurveyChannel.PHONE: "phone",
    SurveyChannel.VISIT: "field_visit",
    SurveyChannel.LETTER: "letter",
    SurveyChannel.SMS: "web_form",
    SurveyChannel.EMAIL: "email",
    SurveyChannel.WEB: "web_form",
}


def month_of(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date().replace(day=1)


def survey_link(invitation: SurveyInvitation) -> str:
    """The full address of the public page, for SMS, email, the letter and copying."""
    path = reverse("survey_public", args=[tokens.make_token(invitation)])
    return settings.KEFU_PUBLIC_BASE_URL.rstrip("/") + path


def _invalid(field_name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, detail={field_name: [message]})


# --- templates -----------------------------------------------------------------------------------


@dataclass
class QuestionInput:
    kind: str
    text: str
    choices: list[str] = field(default_factory=list)
    required: bool = True


@dataclass
class TemplateInput:
    name: str
    family: str = ""
    intro: str = ""
    active: bool = True
    send_after_ticket_close: bool = False
    ticket_kinds: list[str] = field(default_factory=list)
    auto_channel: str = SurveyChannel.SMS
    questions: list[QuestionInput] = field(default_factory=list)


def _clean_template(data: TemplateInput) -> None:
    from kefu.tickets.models import TicketKind

    errors: dict[str, list[str]] = {}
    data.name = str(data.name or "").strip()[:100]
    data.family = str(data.family or "").strip()[:50]
    data.intro = str(data.intro or "").strip()[:5000]
    if not data.name:
        errors["name"] = [_("Give the survey a name.")]
    if data.auto_channel not in SurveyChannel.values:
        errors["auto_channel"] = [_("Choose one of the listed values.")]
    kinds = [str(kind) for kind in data.ticket_kinds or []]
    if any(kind not in TicketKind.values for kind in kinds):
        errors["ticket_kinds"] = [_("Choose one of the listed values.")]
    data.ticket_kinds = sorted(set(kinds))
    if not data.questions:
        errors["questions"] = [_("A survey needs at least one question.")]
    elif len(data.questions) > MAX_QUESTIONS:
        errors["questions"] = [_("At most %(count)d questions.") % {"count": MAX_QUESTIONS}]
    for index, question in enumerate(data.questions or [], start=1):
        question.text = str(question.text or "").strip()[:300]
        question.choices = [str(c).strip()[:100] for c in question.choices or [] if str(c).strip()]
        if question.kind not in QuestionKind.values:
            errors[f"questions.{index}.kind"] = [_("Choose one of the listed values.")]
        if not question.text:
            errors[f"questions.{index}.text"] = [_("Question %(n)d has no text.") % {"n": index}]
        if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            if len(question.choices) < 2:
                errors[f"questions.{index}.choices"] = [
                    _("Question %(n)d needs at least two choices.") % {"n": index}
                ]
            elif len(set(question.choices)) != len(question.choices):
                errors[f"questions.{index}.choices"] = [
                    _("Question %(n)d lists a choice twice.") % {"n": index}
                ]
        else:
            question.choices = []
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)


def _write_questions(template: SurveyTemplate, questions: Sequence[QuestionInput]) -> None:
    SurveyQuestion.objects.bulk_create(
        [
            SurveyQuestion(
                template=template,
                position=position,
                kind=q.kind,
                text=q.text,
                choices=q.choices,
                required=bool(q.required),
            )
            for position, q in enumerate(questions, start=1)
        ]
    )


@transaction.atomic
def survey_template_save(
    *, actor: User | None, data: TemplateInput, template: SurveyTemplate | None = None
) -> SurveyTemplate:
    """Create a template, or change one. A template with answers is frozen: the change becomes
    its next version (the old one is retired), so stored answers keep their questions."""
    require_perm(actor, "surveys.change_surveytemplate" if template else "surveys.add_surveytemplate")
    _clean_template(data)
    fields = {
        "name": data.name,
        "intro": data.intro,
        "active": bool(data.active),
        "send_after_ticket_close": bool(data.send_after_ticket_close),
        "ticket_kinds": data.ticket_kinds,
        "auto_channel": data.auto_channel,
    }
    with acting(actor):
        if template is None:
            family = data.family or f"survey-{timezone.now():%Y%m%d%H%M%S%f}"
            if SurveyTemplate.objects.filter(family=family).exists():
                raise _invalid("family", _("A survey with this code exists already."))
            saved = SurveyTemplate.objects.create(family=family, version=1, created_by=actor, **fields)
        else:
            locked = SurveyTemplate.objects.select_for_update().get(pk=template.pk)
            if locked.frozen or locked.invitations.exists():
                latest = SurveyTemplate.objects.filter(family=locked.family).aggregate(v=Max("version"))["v"]
                saved = SurveyTemplate.objects.create(
                    family=locked.family,
                    version=(latest or 0) + 1,
                    previous=locked,
                    created_by=actor,
                    **fields,
                )
                locked.active = False
                locked.save(update_fields=["active", "updated_at"])
            else:
                for name, value in fields.items():
                    setattr(locked, name, value)
                locked.save()
                locked.questions.all().delete()
                saved = locked
        _write_questions(saved, data.questions)
    return saved


@transaction.atomic
def survey_policy_create(*, actor: User | None, data: Mapping[str, Any]) -> SurveyPolicy:
    require_perm(actor, "surveys.add_surveypolicy")
    today = timezone.localdate()
    effective = data.get("effective_from") or today
    if effective < today:
        raise _invalid("effective_from", _("A new version cannot take effect in the past."))
    policy = SurveyPolicy(
        effective_from=effective,
        note=str(data.get("note") or "")[:200],
        created_by=actor,
        link_valid_days=int(data.get("link_valid_days") or 14),
        dissatisfied_at_or_below=int(data.get("dissatisfied_at_or_below") or 2),
        nomination_min_responses=int(data.get("nomination_min_responses") or 0),
        nomination_min_very_satisfied_percent=Decimal(
            str(data.get("nomination_min_very_satisfied_percent", "90"))
        ),
        nomination_top=int(data.get("nomination_top") or 5),
    )
    errors: dict[str, list[str]] = {}
    if not 1 <= policy.link_valid_days <= 365:
        errors["link_valid_days"] = [_("Between 1 and 365 days.")]
    if not 1 <= policy.dissatisfied_at_or_below <= 4:
        errors["dissatisfied_at_or_below"] = [_("A score between 1 and 4.")]
    if not Decimal(0) <= policy.nomination_min_very_satisfied_percent <= Decimal(100):
        errors["nomination_min_very_satisfied_percent"] = [_("A percentage between 0 and 100.")]
    if not 1 <= policy.nomination_top <= 100:
        errors["nomination_top"] = [_("Between 1 and 100 people.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    with acting(actor):
        policy.save()
    return policy


# --- invitations ---------------------------------------------------------------------------------


@dataclass
class InviteInput:
    template: SurveyTemplate
    customer: Customer
    channel: str
    subject: Any = None
    served_by: User | None = None
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


def _contact_of(customer: Customer) -> tuple[str, str, str]:
    contact = customer.contacts.order_by("-is_primary", "id").first()
    name = getattr(contact, "name", "") or ""
    phone = getattr(contact, "mobile", "") or customer.phone or ""
    email = getattr(contact, "email", "") or customer.email or ""
    return name, phone, email


def _new_invitation(
    data: InviteInput, *, actor: User | None, policy: SurveyPolicy, sending: SurveySend | None = None
) -> SurveyInvitation:
    """Validate and build (not save) one invitation."""
    if data.channel not in SurveyChannel.values:
        raise _invalid("channel", _("Choose one of the listed values."))
    if not data.template.active:
        raise _invalid("template", _("This survey is no longer in use."))
    name, phone, email = _contact_of(data.customer)
    contact_name = str(data.contact_name or name).strip()[:50]
    raw_phone = str(data.contact_phone or phone).strip()
    contact_phone = normalize_phone(raw_phone) if raw_phone else ""
    if raw_phone and not contact_phone:
        raise _invalid("contact_phone", _("This is not a valid mainland China phone number."))
    contact_email = str(data.contact_email or email).strip()[:254]
    if contact_email:
        try:
            validate_email(contact_email)
        except ValidationError:
            raise _invalid("contact_email", _("Enter a valid email address.")) from None
    if data.channel == SurveyChannel.SMS and not contact_phone:
        raise _invalid("contact_phone", _("An SMS needs the customer's mobile number."))
    if data.channel == SurveyChannel.EMAIL and not contact_email:
        raise _invalid("contact_email", _("An email needs the customer's email address."))
    subject_type, subject_id, subject_label = subject_of(data.subject)
    served_by = data.served_by
    now = timezone.now()
    return SurveyInvitation(
        number=next_number("MY", year=timezone.localdate().year, width=6),
        key=tokens.new_key(),
        template=data.template,
        channel=data.channel,
        customer=data.customer,
        contact_name=contact_name,
        contact_phone=contact_phone or "",
        contact_email=contact_email,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=subject_label,
        served_by=served_by,
        department_id=(served_by.department_id if served_by else None) or data.customer.department_id,
        tier=data.customer.tier or "",
        sent_by=actor if getattr(actor, "pk", None) else None,
        sending=sending,
        policy=policy if policy.pk else None,
        month=month_of(now),
        expires_at=now + dt.timedelta(days=policy.link_valid_days),
        created_at=now,
    )


def _after_invite(invitation: SurveyInvitation) -> None:
    if invitation.channel in (SurveyChannel.SMS, SurveyChannel.EMAIL):
        invitation_id = invitation.pk

        def enqueue() -> None:
            from kefu.surveys.tasks import deliver_invitation

            deliver_invitation(invitation_id)

        transaction.on_commit(enqueue)


@transaction.atomic
def survey_invite(
    *, actor: User | None, data: InviteInput, skip_permission: bool = False
) -> SurveyInvitation:
    """Ask one customer. `skip_permission` is for the job that follows a closed ticket (no actor)."""
    if not skip_permission:
        require_perm(actor, "surveys.add_surveyinvitation")
        require_visible(actor, data.customer)
    invitation = _new_invitation(data, actor=actor, policy=SurveyPolicy.in_force())
    with acting(actor):
        invitation.save()
    _after_invite(invitation)
    return invitation


@transaction.atomic
def survey_invitation_cancel(*, actor: User, invitation: SurveyInvitation) -> SurveyInvitation:
    require_perm(actor, "surveys.add_surveyinvitation")
    require_visible(actor, invitation)
    locked = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.state != InvitationState.PENDING:
        raise Conflict(_("Only a survey still waiting for its answer can be cancelled."), code="not_pending")
    locked.state = InvitationState.CANCELLED
    with acting(actor):
        locked.save(update_fields=["state", "updated_at"])
    return locked


def _deliver_invitation(invitation: SurveyInvitation) -> str:
    """THE hand-off of survey links to the customer (SMS and email), in one place.

    Email goes out now through Django's mail (the EMAIL_* settings). SMS goes through member-care
    messaging (its opt-outs, rate limit, provider and send log apply); if its survey template is
    switched off, the invitation keeps the text for sending by hand ("to send by SMS").
    Returns the delivery state written.
    """
    if invitation.delivery_state in (
        DeliveryState.EMAILED,
        DeliveryState.TO_SEND_SMS,
        DeliveryState.SMS_QUEUED,
    ):
        return invitation.delivery_state  # idempotent: a retried job sends nothing twice
    link = survey_link(invitation)
    name = invitation.contact_name or invitation.customer.name
    # The text the customer reads: Chinese domain text, like the SMS templates.
    text = f"尊敬的{name}：感谢您选择我们的服务，请花一分钟填写《{invitation.template.name}》：{link} 。"
    now = timezone.now()
    if invitation.channel == SurveyChannel.EMAIL:
        try:
            send_mail(
                subject=f"{invitation.template.name}（{invitation.number}）",
                message=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[invitation.contact_email],
            )
        except Exception as exc:  # the mail server's errors are many; the job retries
            log.warning("survey email %s failed: %s", invitation.number, exc)
            SurveyInvitation.objects.filter(pk=invitation.pk).update(
                delivery_state=DeliveryState.FAILED, delivery_text=text
            )
            raise
        state = DeliveryState.EMAILED
    elif invitation.channel == SurveyChannel.SMS:
        state = _send_sms_link(invitation, link)
        if state == DeliveryState.FAILED:
            text = _("Not sent by SMS: the customer refused SMS or has no mobile number.") + "\n" + text
    else:
        return DeliveryState.NONE
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        delivery_state=state, delivery_text=text, delivered_at=now
    )
    invitation.delivery_state, invitation.delivery_text, invitation.delivered_at = state, text, now
    return state


# The member-care SMS template survey links go out with (seeded by messaging/0002_defaults).
SURVEY_SMS_TEMPLATE_CODE = "SMS_SURVEY"


def _send_sms_link(invitation: SurveyInvitation, link: str) -> str:
    from kefu.messaging.models import Channel as MessageChannel
    from kefu.messaging.models import MessageStatus, MessageTemplate
    from kefu.messaging.services import message_send

    template = MessageTemplate.objects.filter(
        channel=MessageChannel.SMS, provider_code=SURVEY_SMS_TEMPLATE_CODE, active=True
    ).first()
    if template is None:
        return DeliveryState.TO_SEND_SMS
    message = message_send(
        actor=None,
        customer=invitation.customer,
        channel=MessageChannel.SMS,
        template=template,
        params={"link": link},
        source=f"surveys:{invitation.number}",
        dedupe_key=f"survey-invitation:{invitation.pk}",
        skip_permission=True,  # the invitation was checked when it was made; this runs in a job
    )
    return DeliveryState.FAILED if message.status == MessageStatus.SKIPPED else DeliveryState.SMS_QUEUED


def invitation_deliver(invitation_id: int) -> str:
    invitation = (
        SurveyInvitation.objects.select_related("template", "customer").filter(pk=invitation_id).first()
    )
    if invitation is None:
        return ""
    return _deliver_invitation(invitation)


# --- sending to a customer list -----------------------------------------------------------------


@transaction.atomic
def survey_send_start(
    *, actor: User, template: SurveyTemplate, channel: str, filters: Mapping[str, Any]
) -> SurveySend:
    """Queue a sending to every visible customer matching the filters; a job writes the invitations."""
    from kefu.surveys.selectors import send_recipients

    require_perm(actor, "surveys.bulk_send_survey", "surveys.add_surveyinvitation")
    if channel not in SurveyChannel.values:
        raise _invalid("channel", _("Choose one of the listed values."))
    if not template.active:
        raise _invalid("template", _("This survey is no longer in use."))
    clean = {k: v for k, v in dict(filters).items() if v not in (None, "")}
    total = send_recipients(actor, clean).count()
    if total == 0:
        raise _invalid("filters", _("No customer matches these filters."))
    limit = settings.KEFU_SURVEY_SEND_MAX
    if total > limit:
        raise _invalid(
            "filters",
            _("%(count)d customers match; send to at most %(limit)d at once.")
            % {"count": total, "limit": limit},
        )
    with acting(actor):
        sending = SurveySend.objects.create(
            template=template,
            channel=channel,
            filters=clean,
            sent_by=actor,
            department=actor.department,
            total=total,
        )
    sending_id = sending.pk

    def enqueue() -> None:
        from kefu.surveys.tasks import run_send

        run_send(sending_id)

    transaction.on_commit(enqueue)
    return sending


def survey_send_run(sending_id: int) -> SurveySend | None:
    """The job: invite each matching customer once, in chunks, counting progress. Re-runnable:
    customers already invited by this sending are skipped."""
    from kefu.surveys.selectors import send_recipients

    sending = SurveySend.objects.select_related("template", "sent_by").filter(pk=sending_id).first()
    if sending is None or sending.state == SurveySendState.DONE:
        return sending
    SurveySend.objects.filter(pk=sending.pk).update(state=SurveySendState.RUNNING)
    policy = SurveyPolicy.in_force()
    actor = sending.sent_by
    invited = set(sending.invitations.values_list("customer_id", flat=True))
    ids = list(send_recipients(actor, sending.filters).values_list("pk", flat=True))
    done, skipped = len(invited), 0
    try:
        for start in range(0, len(ids), SEND_CHUNK):
            chunk = [pk for pk in ids[start : start + SEND_CHUNK] if pk not in invited]
            with transaction.atomic():
                for customer in Customer.objects.filter(pk__in=chunk).order_by("id"):
                    try:
                        with transaction.atomic():
                            invitation = _new_invitation(
                                InviteInput(
                                    template=sending.template, customer=customer, channel=sending.channel
                                ),
                                actor=actor,
                                policy=policy,
                                sending=sending,
                            )
                            invitation.save()
                            _after_invite(invitation)
                        done += 1
                    except DomainError:
                        skipped += 1  # no mobile for an SMS, no address for an email …
                SurveySend.objects.filter(pk=sending.pk).update(done=done, skipped=skipped)
    except Exception as exc:
        SurveySend.objects.filter(pk=sending.pk).update(state=SurveySendState.FAILED, error=str(exc)[:300])
        raise
    SurveySend.objects.filter(pk=sending.pk).update(
        state=SurveySendState.DONE, done=done, skipped=skipped, finished_at=timezone.now()
    )
    sending.refresh_from_db()
    return sending


# --- answers -------------------------------------------------------------------------------------


def _clean_answers(template: SurveyTemplate, raw: Mapping[Any, Any]) -> list[tuple[SurveyQuestion, Any]]:
    """Each question with its cleaned answer (None when skipped); errors by question."""
    answers = {str(k): v for k, v in dict(raw or {}).items()}
    errors: dict[str, list[str]] = {}
    cleaned: list[tuple[SurveyQuestion, Any]] = []
    for question in template.questions.order_by("position", "id"):
        key = str(question.pk)
        value = answers.get(key)
        if isinstance(value, str):
            value = value.strip()
        empty = value in (None, "", [])
        if empty:
            if question.required:
                errors[key] = [_("Please answer this question.")]
            cleaned.append((question, None))
            continue
        if question.kind == QuestionKind.RATING:
            try:
                score = int(value) if not isinstance(value, bool) else 0
            except (TypeError, ValueError, OverflowError):
                score = 0
            if score not in RATING_LABELS:
                errors[key] = [_("Choose one of the listed values.")]
            cleaned.append((question, score))
        elif question.kind == QuestionKind.SINGLE:
            if str(value) not in question.choices:
                errors[key] = [_("Choose one of the listed values.")]
            cleaned.append((question, str(value)))
        elif question.kind == QuestionKind.MULTIPLE:
            values = value if isinstance(value, list | tuple) else [value]
            picked = [str(v) for v in values]
            if any(v not in question.choices for v in picked):
                errors[key] = [_("Choose one of the listed values.")]
            cleaned.append((question, [c for c in question.choices if c in picked]))
        else:
            text = str(value)
            if len(text) > MAX_TEXT_ANSWER:
                errors[key] = [_("At most %(count)d characters.") % {"count": MAX_TEXT_ANSWER}]
            cleaned.append((question, text))
    if errors:
        raise ValidationFailed(_("Some answers are missing or not valid."), detail=errors)
    return cleaned


def _follow_up_ticket(
    response: SurveyResponse, cleaned: list[tuple[SurveyQuestion, Any]], lowest: int
) -> Any:
    """A dissatisfied answer opens a complaint, as the public web form opens one (no staff actor)."""
    from kefu.tickets.mail_services import intake_group
    from kefu.tickets.services import TicketInput, supervisors_of, ticket_create, ticket_url

    invitation = response.invitation
    customer = response.customer
    lines = [
        f"满意度调查 {invitation.number}《{response.template.name}》中客户表示不满意（最低评分：{RATING_LABELS[lowest]}）。",
    ]
    if invitation.subject_label:
        lines.append(f"调查事由：{invitation.subject_label}")
    if response.served_by_id:
        lines.append(f"服务人员：{response.served_by}")
    for question, value in cleaned:
        if value is None:
            continue
        shown = RATING_LABELS.get(value, value) if question.kind == QuestionKind.RATING else value
        if isinstance(shown, list):
            shown = "、".join(shown)
        lines.append(f"{question.position}. {question.text}：{shown}")
    data = TicketInput(
        kind="complaint",
        channel=FOLLOW_UP_CHANNEL.get(invitation.channel, "web_form"),
        subject=f"满意度回访不满意：{customer.name}"[:200],
        description="\n".join(lines),
        customer=customer,
        contact_name=invitation.contact_name,
        contact_phone=invitation.contact_phone,
        contact_email=invitation.contact_email,
        group=intake_group("complaint"),
    )
    ticket = ticket_create(actor=None, data=data, skip_permission=True)
    message = _("Survey %(number)s: %(customer)s is dissatisfied; complaint %(ticket)s was opened.") % {
        "number": invitation.number,
        "customer": customer.name,
        "ticket": ticket.number,
    }
    url = ticket_url(ticket)
    recipients = supervisors_of(ticket)
    transaction.on_commit(lambda: notify(recipients, message, url=url))
    return ticket


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def survey_response_submit(
    *, invitation: SurveyInvitation, answers: Mapping[Any, Any], actor: User | None = None
) -> SurveyResponse:
    """Store one invitation's answers, once. With an actor (phone, visit, a returned letter) staff
    enter them and the link's expiry does not apply; without one the caller checked the token."""
    if actor is not None:
        require_perm(actor, "surveys.add_surveyresponse")
        require_visible(actor, invitation)
    locked = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("template", "customer", "served_by")
        .filter(pk=invitation.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    if actor is None:
        tokens.check_answerable(locked)
    elif locked.state == InvitationState.ANSWERED:
        raise Conflict(_("This survey has already been answered."), code="link_used")
    elif locked.state == InvitationState.CANCELLED:
        raise Conflict(_("This survey was cancelled."), code="link_cancelled")
    cleaned = _clean_answers(locked.template, answers)
    policy = SurveyPolicy.in_force()
    now = timezone.now()
    scores = [value for question, value in cleaned if question.kind == QuestionKind.RATING and value]
    response = SurveyResponse(
        invitation=locked,
        template=locked.template,
        customer=locked.customer,
        served_by=locked.served_by,
        sent_by=locked.sent_by,
        department_id=locked.department_id,
        tier=locked.tier,
        subject_type_id=locked.subject_type_id,
        subject_id=locked.subject_id,
        channel=locked.channel,
        answered_at=now,
        month=month_of(now),
        entered_by=actor if getattr(actor, "pk", None) else None,
        average_score=_two_places(Decimal(sum(scores)) / len(scores)) if scores else None,
        lowest_score=min(scores) if scores else None,
        policy=policy if policy.pk else None,
    )
    with acting(actor):
        response.save()
        SurveyAnswer.objects.bulk_create(
            [
                SurveyAnswer(
                    response=response,
                    question=question,
                    score=value if question.kind == QuestionKind.RATING else None,
                    choices=value
                    if question.kind == QuestionKind.MULTIPLE
                    else ([value] if question.kind == QuestionKind.SINGLE else []),
                    text=value if question.kind == QuestionKind.TEXT else "",
                    month=response.month,
                    department_key=response.department_id,
                    served_by_key=response.served_by_id,
                    tier=response.tier,
                )
                for question, value in cleaned
                if value is not None
            ]
        )
        locked.state = InvitationState.ANSWERED
        locked.answered_at = now
        locked.save(update_fields=["state", "answered_at", "updated_at"])
    if scores and min(scores) <= policy.dissatisfied_at_or_below:
        response.follow_up_ticket = _follow_up_ticket(response, cleaned, min(scores))
        SurveyResponse.objects.filter(pk=response.pk).update(follow_up_ticket=response.follow_up_ticket)
    return response


def survey_public_submit(*, token: str, answers: Mapping[Any, Any]) -> SurveyResponse:
    """The customer's own answers from the link; any problem with the link stores nothing."""
    key = tokens.key_from_token(token)
    invitation = SurveyInvitation.objects.filter(key=key).first()
    if invitation is None:
        raise tokens.LinkProblem("link_invalid")
    if not invitation.self_service and invitation.channel != SurveyChannel.LETTER:
        # Phone and visit surveys are entered by staff; their link is never handed out.
        raise tokens.LinkProblem("link_invalid")
    return survey_response_submit(invitation=invitation, answers=answers, actor=None)


def survey_public_invitation(token: str) -> SurveyInvitation:
    """The invitation a link opens, or the LinkProblem to show instead."""
    key = tokens.key_from_token(token)
    invitation = SurveyInvitation.objects.select_related("template", "customer").filter(key=key).first()
    if invitation is None:
        raise tokens.LinkProblem("link_invalid")
    tokens.check_answerable(invitation)
    return invitation


# --- after a ticket closes -----------------------------------------------------------------------


def surveys_after_ticket_closed(ticket_id: int) -> list[SurveyInvitation]:
    """Invite the customer of a closed ticket to every template that asks for it; idempotent."""
    from django.contrib.contenttypes.models import ContentType

    from kefu.tickets.models import Ticket

    ticket = Ticket.objects.select_related("customer", "assignee").filter(pk=ticket_id).first()
    if ticket is None or ticket.customer is None:
        return []
    ticket_type = ContentType.objects.get_for_model(Ticket)
    made = []
    for template in SurveyTemplate.objects.filter(active=True, send_after_ticket_close=True):
        if template.ticket_kinds and ticket.kind not in template.ticket_kinds:
            continue
        already = SurveyInvitation.objects.filter(
            template__family=template.family, subject_type=ticket_type, subject_id=ticket.pk
        ).exists()
        if already:
            continue
        data = InviteInput(
            template=template,
            customer=ticket.customer,
            channel=template.auto_channel,
            subject=ticket,
            served_by=ticket.assignee,
            contact_name=ticket.contact_name,
            contact_phone=ticket.contact_phone,
            contact_email=ticket.contact_email,
        )
        try:
            made.append(survey_invite(actor=None, data=data, skip_permission=True))
        except ValidationFailed as exc:
            # No mobile for the SMS: the web link still reaches the customer through staff.
            if template.auto_channel in (SurveyChannel.SMS, SurveyChannel.EMAIL):
                data.channel = SurveyChannel.WEB
                made.append(survey_invite(actor=None, data=data, skip_permission=True))
            else:
                log.info("no survey after ticket %s: %s", ticket.number, exc.message)
    return made


def ensure_actor_may_see_statistics(actor: Any) -> None:
    if not (actor and getattr(actor, "is_authenticated", False)):
        raise PermissionDenied(_("Please sign in first."))
    require_perm(actor, "surveys.view_survey_statistics")
