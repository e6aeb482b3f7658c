"""Demo surveys: a year of answered satisfaction surveys, so the statistics and nominations have data."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kefu.accounts.models import User
from kefu.core.errors import ValidationFailed
from kefu.customers.models import Customer
from kefu.surveys import services
from kefu.surveys.models import QuestionKind, SurveyAnswer, SurveyInvitation, SurveyResponse, SurveyTemplate

# Scores as customers give them, per person served: some serve better than others.
PROFILES = {
    "agent": [5, 5, 5, 5, 4, 4, 5, 3],
    "agent2": [5, 4, 4, 4, 3, 5, 4, 2],
    "complaint_specialist": [5, 4, 4, 3, 5, 4, 4, 4],
    "technician": [5, 5, 5, 5, 5, 5, 4, 5],
    "technician2": [5, 4, 5, 4, 3, 4, 5, 4],
}
CHANNELS = ["sms", "sms", "phone", "web", "visit", "letter"]
COMMENTS = ["服务很周到", "希望响应再快一些", "技术员很专业", "", "", "电话回访很及时", "感谢耐心解答"]


def _answers(template: SurveyTemplate, rng: random.Random, scores: list[int]) -> dict[str, object]:
    answers: dict[str, object] = {}
    for question in template.questions.all():
        if question.kind == QuestionKind.RATING:
            answers[str(question.pk)] = rng.choice(scores)
        elif question.kind == QuestionKind.SINGLE:
            answers[str(question.pk)] = (
                question.choices[0] if rng.random() < 0.8 else rng.choice(question.choices)
            )
        elif question.kind == QuestionKind.MULTIPLE:
            answers[str(question.pk)] = rng.sample(question.choices, 2)
        else:
            answers[str(question.pk)] = rng.choice(COMMENTS)
    return answers


def _move_back(invitation: SurveyInvitation, at: dt.datetime) -> None:
    """Demo only: the survey was sent and answered on an earlier day (the services write "now")."""
    month = timezone.localtime(at).date().replace(day=1)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        created_at=at,
        month=month,
        expires_at=at + dt.timedelta(days=14),
        answered_at=at + dt.timedelta(hours=5),
    )
    SurveyResponse.objects.filter(invitation=invitation).update(
        answered_at=at + dt.timedelta(hours=5), month=month
    )
    SurveyAnswer.objects.filter(response__invitation=invitation).update(month=month)


def load_survey_demo(
    *, rng: random.Random, admin: User, staff: dict[str, User], customers: list[Customer]
) -> int:
    """About 240 surveys over twelve months, most answered; returns how many."""
    if not customers:
        return 0
    general = SurveyTemplate.objects.get(family="general-satisfaction", active=True)
    field = SurveyTemplate.objects.get(family="field-service", active=True)
    now = timezone.now()
    count = 0
    for months_back in range(11, -1, -1):
        for code, scores in PROFILES.items():
            person = staff.get(code)
            if person is None:
                continue
            template = field if code.startswith("technician") else general
            for _n in range(4):
                customer = rng.choice(customers)
                channel = rng.choice(CHANNELS)
                data = services.InviteInput(
                    template=template, customer=customer, channel=channel, served_by=person
                )
                try:
                    invitation = services.survey_invite(actor=admin, data=data)
                except ValidationFailed:
                    data.channel = "phone"
                    invitation = services.survey_invite(actor=admin, data=data)
                count += 1
                at = now - dt.timedelta(days=30 * months_back + rng.randint(0, 25), hours=rng.randint(0, 8))
                if months_back == 0 and rng.random() < 0.4:
                    continue  # this month's are partly still waiting for their answers
                if rng.random() < 0.15:
                    SurveyInvitation.objects.filter(pk=invitation.pk).update(
                        created_at=at, month=at.date().replace(day=1)
                    )
                    continue  # never answered
                actor = None if invitation.self_service else admin
                services.survey_response_submit(
                    invitation=invitation, answers=_answers(template, rng, scores), actor=actor
                )
                if months_back:
                    _move_back(invitation, at)
    return count
