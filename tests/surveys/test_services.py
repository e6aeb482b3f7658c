"""Survey services: templates and their versions, invitations, answers, follow-up complaints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.utils import timezone

from kefu.accounts.models import User
from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.core.models import Notification
from kefu.customers.models import Customer
from kefu.messaging.models import Message, MessageTemplate
from kefu.messaging.services import opt_out_create
from kefu.surveys import services
from kefu.surveys.models import (
    DeliveryState,
    InvitationState,
    SurveyAnswer,
    SurveyInvitation,
    SurveyPolicy,
    SurveyResponse,
    SurveySend,
    SurveyTemplate,
)
from kefu.surveys.services import QuestionInput, TemplateInput
from kefu.tickets.models import Ticket, TicketKind
from kefu.tickets.services import TicketInput, ticket_create, ticket_transition
from tests.factories import make_customer
from tests.surveys.conftest import answers_for

pytestmark = pytest.mark.django_db


def test_default_templates_and_policy_are_loaded_by_migration() -> None:
    families = set(SurveyTemplate.objects.values_list("family", flat=True))
    assert {"general-satisfaction", "complaint-evaluation", "field-service"} <= families
    evaluation = SurveyTemplate.objects.get(family="complaint-evaluation")
    assert evaluation.name == "客户评价单" and evaluation.send_after_ticket_close
    assert evaluation.ticket_kinds == ["complaint"]
    policy = SurveyPolicy.in_force()
    assert (policy.dissatisfied_at_or_below, policy.link_valid_days, policy.nomination_top) == (2, 14, 5)


def test_invitation_records_customer_subject_served_staff_department_and_tier(
    users: dict[str, User], customer: Customer, invite: Callable[..., SurveyInvitation]
) -> None:
    ticket = ticket_create(
        actor=users["agent"],
        data=TicketInput(kind="inquiry", channel="hotline", subject="设备保养咨询", customer=customer),
    )
    invitation = invite(subject=ticket, served_by=users["agent"])
    assert invitation.customer == customer
    assert invitation.subject == ticket
    assert invitation.subject_type == ContentType.objects.get_for_model(Ticket)
    assert invitation.served_by == users["agent"]
    assert invitation.department_id == users["agent"].department_id
    assert invitation.tier == "A"
    assert invitation.number.startswith("MY")
    assert invitation.expires_at > timezone.now() + dt.timedelta(days=13)
    assert invitation.policy == SurveyPolicy.in_force()


def test_sms_invitation_goes_out_through_member_care_messaging_once(
    invite: Callable[..., SurveyInvitation],
) -> None:
    invitation = invite(channel="sms")
    invitation.refresh_from_db()
    assert invitation.delivery_state == DeliveryState.SMS_QUEUED
    link = services.survey_link(invitation)
    assert link.startswith("http") and "/survey/" in link
    assert link in invitation.delivery_text
    assert "客户满意度调查表" in invitation.delivery_text
    message = Message.objects.get(source=f"surveys:{invitation.number}")
    assert message.channel == "sms" and link in message.body
    # The delivery job running again sends nothing twice.
    services.invitation_deliver(invitation.pk)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(delivery_state="")
    services.invitation_deliver(invitation.pk)
    assert Message.objects.filter(source=f"surveys:{invitation.number}").count() == 1


def test_sms_invitation_to_a_customer_who_refused_sms_is_marked_not_sent(
    invite: Callable[..., SurveyInvitation], customer: Any, users: Any
) -> None:
    opt_out_create(actor=users["manager"], customer=customer, channel="sms")
    invitation = invite(channel="sms")
    invitation.refresh_from_db()
    assert invitation.delivery_state == DeliveryState.FAILED
    assert "退订短信" in invitation.delivery_text or "refused SMS" in invitation.delivery_text
    assert Message.objects.get(source=f"surveys:{invitation.number}").status == "skipped"


def test_sms_invitation_is_left_to_send_by_hand_when_the_survey_sms_template_is_off(
    invite: Callable[..., SurveyInvitation],
) -> None:
    MessageTemplate.objects.filter(provider_code=services.SURVEY_SMS_TEMPLATE_CODE).update(active=False)
    invitation = invite(channel="sms")
    invitation.refresh_from_db()
    assert invitation.delivery_state == DeliveryState.TO_SEND_SMS
    assert services.survey_link(invitation) in invitation.delivery_text
    assert not Message.objects.filter(source=f"surveys:{invitation.number}").exists()


def test_email_invitation_mails_the_link(invite: Callable[..., SurveyInvitation]) -> None:
    invitation = invite(channel="email", contact_email="buyer@hengfeng.example.com")
    invitation.refresh_from_db()
    assert invitation.delivery_state == DeliveryState.EMAILED
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@hengfeng.example.com"]
    assert services.survey_link(invitation) in mail.outbox[0].body


def test_an_email_survey_needs_an_address_and_nothing_is_written(
    users: dict[str, User], invite: Callable[..., SurveyInvitation]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        invite(channel="email")
    assert "contact_email" in caught.value.detail
    assert not SurveyInvitation.objects.exists()


def test_technician_may_not_send_surveys(
    users: dict[str, User], invite: Callable[..., SurveyInvitation]
) -> None:
    with pytest.raises(PermissionDenied):
        invite(actor=users["technician"])


def test_answers_are_stored_against_the_customer_the_subject_and_the_served_staff(
    users: dict[str, User],
    customer: Customer,
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
) -> None:
    ticket = ticket_create(
        actor=users["agent"],
        data=TicketInput(kind="inquiry", channel="hotline", subject="咨询", customer=customer),
    )
    invitation = invite(subject=ticket)
    response = services.survey_response_submit(invitation=invitation, answers=answers_for(general, score=4))
    assert (response.customer, response.subject, response.served_by) == (customer, ticket, users["agent"])
    assert response.average_score == 4 and response.lowest_score == 4
    assert response.follow_up_ticket is None
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.ANSWERED and invitation.answered_at
    ratings = SurveyAnswer.objects.filter(response=response, score__isnull=False)
    assert ratings.count() == 3
    assert set(ratings.values_list("served_by_key", "department_key", "tier")) == {
        (users["agent"].pk, users["agent"].department_id, "A")
    }
    texts = SurveyAnswer.objects.filter(response=response, text="服务很好")
    assert texts.count() == 1


def test_a_missing_required_answer_stores_nothing(
    invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite()
    first = general.questions.order_by("position").first()
    answers = answers_for(general)
    answers.pop(str(first.pk))
    with pytest.raises(ValidationFailed) as caught:
        services.survey_response_submit(invitation=invitation, answers=answers)
    assert str(first.pk) in caught.value.detail
    assert not SurveyResponse.objects.exists() and not SurveyAnswer.objects.exists()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING


def test_a_choice_not_offered_is_refused(
    invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    single = general.questions.get(kind="single")
    with pytest.raises(ValidationFailed):
        services.survey_response_submit(
            invitation=invite(), answers=answers_for(general, **{str(single.pk): "飞鸽传书"})
        )
    assert not SurveyResponse.objects.exists()


def test_dissatisfied_answer_opens_a_follow_up_complaint_and_notifies_the_supervisor(
    users: dict[str, User],
    root: User,
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    invitation = invite()
    rating = general.questions.filter(kind="rating").order_by("position").last()
    with django_capture_on_commit_callbacks(execute=True):
        response = services.survey_response_submit(
            invitation=invitation, answers=answers_for(general, score=5, **{str(rating.pk): 2})
        )
    ticket = response.follow_up_ticket
    assert ticket is not None
    assert ticket.kind == TicketKind.COMPLAINT
    assert ticket.customer == invitation.customer
    assert invitation.number in ticket.description and "不满意" in ticket.description
    assert SurveyResponse.objects.get(pk=response.pk).follow_up_ticket == ticket
    assert Notification.objects.filter(recipient=users["supervisor"], url=f"/tickets/{ticket.pk}/").exists()


def test_satisfied_or_neutral_answers_open_no_ticket(
    root: User, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    response = services.survey_response_submit(invitation=invite(), answers=answers_for(general, score=3))
    assert response.follow_up_ticket is None
    assert not Ticket.objects.exists()


def test_the_dissatisfied_threshold_is_the_policy_in_force(
    users: dict[str, User], root: User, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    services.survey_policy_create(
        actor=users["manager"],
        data={
            "effective_from": timezone.localdate(),
            "dissatisfied_at_or_below": 3,
            "link_valid_days": 7,
            "nomination_min_responses": 5,
            "nomination_min_very_satisfied_percent": "95",
            "nomination_top": 3,
        },
    )
    response = services.survey_response_submit(invitation=invite(), answers=answers_for(general, score=3))
    assert response.follow_up_ticket is not None
    assert response.policy == SurveyPolicy.in_force()


def test_staff_enter_the_answers_of_a_phone_survey_once(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite(channel="phone")
    response = services.survey_response_submit(
        invitation=invitation, answers=answers_for(general), actor=users["agent"]
    )
    assert response.entered_by == users["agent"] and response.channel == "phone"
    with pytest.raises(Conflict):
        services.survey_response_submit(
            invitation=invitation, answers=answers_for(general), actor=users["agent"]
        )
    assert SurveyResponse.objects.count() == 1


def test_technician_may_not_enter_answers(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    with pytest.raises(PermissionDenied):
        services.survey_response_submit(
            invitation=invite(channel="phone"), answers=answers_for(general), actor=users["technician"]
        )
    assert not SurveyResponse.objects.exists()


def _template_input(**changes: Any) -> TemplateInput:
    data = TemplateInput(
        name="售后回访问卷",
        family="after-sales",
        questions=[
            QuestionInput(kind="rating", text="您对售后服务是否满意？"),
            QuestionInput(kind="single", text="是否按时上门？", choices=["是", "否"]),
            QuestionInput(kind="text", text="建议", required=False),
        ],
    )
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_a_template_without_answers_is_changed_in_place(users: dict[str, User]) -> None:
    template = services.survey_template_save(actor=users["manager"], data=_template_input())
    changed = services.survey_template_save(
        actor=users["manager"], data=_template_input(name="售后服务问卷"), template=template
    )
    assert changed.pk == template.pk and changed.version == 1 and changed.name == "售后服务问卷"
    assert changed.questions.count() == 3


def test_a_template_with_answers_is_frozen_and_a_change_makes_the_next_version(
    users: dict[str, User], customer: Customer
) -> None:
    template = services.survey_template_save(actor=users["manager"], data=_template_input())
    invitation = services.survey_invite(
        actor=users["agent"],
        data=services.InviteInput(template=template, customer=customer, channel="phone"),
    )
    services.survey_response_submit(
        invitation=invitation, answers=answers_for(template), actor=users["agent"]
    )
    old_questions = list(template.questions.values_list("pk", "text"))
    changed = services.survey_template_save(
        actor=users["manager"],
        data=_template_input(questions=[QuestionInput(kind="rating", text="总体评价")]),
        template=template,
    )
    template.refresh_from_db()
    assert changed.pk != template.pk and changed.version == 2 and changed.family == template.family
    assert not template.active and changed.active
    assert list(template.questions.values_list("pk", "text")) == old_questions
    assert changed.questions.count() == 1


def test_a_choice_question_needs_two_choices(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.survey_template_save(
            actor=users["manager"],
            data=_template_input(questions=[QuestionInput(kind="single", text="是否满意", choices=["是"])]),
        )
    assert "questions.1.choices" in caught.value.detail


def test_only_managers_edit_templates(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        services.survey_template_save(actor=users["supervisor"], data=_template_input())


def test_closing_a_ticket_invites_its_customer_when_a_template_asks_for_it(
    users: dict[str, User], customer: Customer, django_capture_on_commit_callbacks: Any
) -> None:
    template = services.survey_template_save(
        actor=users["manager"],
        data=_template_input(send_after_ticket_close=True, ticket_kinds=["inquiry"], auto_channel="sms"),
    )
    ticket = ticket_create(
        actor=users["agent"],
        data=TicketInput(
            kind="inquiry", channel="hotline", subject="咨询", customer=customer, assignee=users["agent"]
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(actor=users["agent"], ticket=ticket, action="close")
    invitation = SurveyInvitation.objects.get(template=template)
    assert invitation.subject == ticket and invitation.served_by == users["agent"]
    assert invitation.channel == "sms" and invitation.delivery_state == DeliveryState.SMS_QUEUED
    # Idempotent: running the job again invites nobody twice.
    assert services.surveys_after_ticket_closed(ticket.pk) == []
    # A repair closes without this template's survey.
    repair = ticket_create(
        actor=users["agent"],
        data=TicketInput(kind="repair", channel="hotline", subject="报修", customer=customer),
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(actor=users["agent"], ticket=repair, action="close")
    assert SurveyInvitation.objects.filter(template=template).count() == 1


def test_bulk_sending_invites_each_matching_customer_once_and_counts_progress(
    users: dict[str, User],
    customer: Customer,
    general: SurveyTemplate,
    django_capture_on_commit_callbacks: Any,
) -> None:
    department = users["agent"].department
    for name in ("宁波海达化工", "温州永盛机械"):
        make_customer(actor=users["manager"], name=name, department=department, brand_value=True)
    make_customer(actor=users["manager"], name="普通会员", department=department)
    assert services_preview(users["supervisor"], {"tier": "A"}) == 3
    with django_capture_on_commit_callbacks(execute=True):
        sending = services.survey_send_start(
            actor=users["supervisor"], template=general, channel="sms", filters={"tier": "A"}
        )
    sending.refresh_from_db()
    assert (sending.state, sending.total, sending.done, sending.skipped, sending.percent) == (
        "done",
        3,
        3,
        0,
        100,
    )
    assert SurveyInvitation.objects.filter(sending=sending).count() == 3
    services.survey_send_run(sending.pk)  # done: running again invites nobody twice
    assert SurveyInvitation.objects.filter(sending=sending).count() == 3
    assert SurveySend.objects.get(pk=sending.pk).done == 3


def services_preview(user: User, filters: dict[str, Any]) -> int:
    from kefu.surveys.selectors import send_recipients

    return send_recipients(user, filters).count()


def test_agent_may_not_send_to_a_customer_list(users: dict[str, User], general: SurveyTemplate) -> None:
    with pytest.raises(PermissionDenied):
        services.survey_send_start(actor=users["agent"], template=general, channel="sms", filters={})


def test_a_policy_cannot_take_effect_in_the_past(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed):
        services.survey_policy_create(
            actor=users["manager"], data={"effective_from": timezone.localdate() - dt.timedelta(days=1)}
        )
