"""Survey fixtures: a customer of the call centre, the default templates, an invitation maker."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.surveys import services
from kefu.surveys.models import QuestionKind, SurveyInvitation, SurveyTemplate
from kefu.surveys.tokens import make_token
from tests.factories import make_customer


@pytest.fixture
def root(make_user: Callable[..., User]) -> User:
    """Automatic complaint steps are recorded under the first administrator (tickets' rule)."""
    return make_user("admin", username="root", is_superuser=True)


@pytest.fixture
def customer(users: dict[str, User]) -> Customer:
    return make_customer(
        actor=users["manager"],
        name="杭州恒丰纸业有限公司",
        department=users["agent"].department,
        phone="13912345678",
        brand_value=True,
    )


@pytest.fixture
def general() -> SurveyTemplate:
    return SurveyTemplate.objects.get(family="general-satisfaction", active=True)


@pytest.fixture
def invite(
    users: dict[str, User],
    customer: Customer,
    general: SurveyTemplate,
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., SurveyInvitation]:
    """Send a survey (by web link unless told), its delivery job run as after a real commit."""

    def make(**fields: Any) -> SurveyInvitation:
        actor = fields.pop("actor", users["agent"])
        data = services.InviteInput(
            template=fields.pop("template", general),
            customer=fields.pop("customer", customer),
            channel=fields.pop("channel", "web"),
            served_by=fields.pop("served_by", users["agent"]),
            **fields,
        )
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.survey_invite(actor=actor, data=data)
        return invitation

    return make


def answers_for(template: SurveyTemplate, *, score: int = 5, **overrides: Any) -> dict[str, Any]:
    """A complete set of answers: every rating `score`, the first choice, some text."""
    answers: dict[str, Any] = {}
    for question in template.questions.all():
        if question.kind == QuestionKind.RATING:
            answers[str(question.pk)] = score
        elif question.kind == QuestionKind.SINGLE:
            answers[str(question.pk)] = question.choices[0]
        elif question.kind == QuestionKind.MULTIPLE:
            answers[str(question.pk)] = question.choices[:2]
        else:
            answers[str(question.pk)] = "服务很好"
    answers.update({str(k): v for k, v in overrides.items()})
    return answers


def post_data(template: SurveyTemplate, answers: dict[str, Any]) -> dict[str, Any]:
    """The public form's fields for these answers."""
    return {f"q{pk}": value for pk, value in answers.items()}


def token_of(invitation: SurveyInvitation) -> str:
    return make_token(invitation)


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)
