"""Who may call each survey endpoint: every role, allowed and denied.

The table maps each endpoint to the rights it needs; whether a role holds them is read from
ROLE_DEFINITIONS, so granting a right there moves the matching cases without touching this file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.customers.models import Customer
from kefu.surveys import services
from kefu.surveys.api import router
from kefu.surveys.models import SurveyInvitation, SurveySend, SurveyTemplate
from tests.api_endpoints import ApiEndpoint
from tests.factories import make_customer
from tests.surveys.conftest import answers_for

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}

VIEW = "surveys.view_surveyinvitation"


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


class World:
    """Records in the user's own name and department, so every data scope covers them: a refusal
    can then only come from a missing right."""

    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def customer(self) -> Customer:
        return make_customer(
            actor=self.manager, name="调查权限测试客户", department=self.user.department, owner=self.user
        )

    @cached_property
    def template(self) -> SurveyTemplate:
        return SurveyTemplate.objects.get(family="general-satisfaction", active=True)

    def _invite(self) -> SurveyInvitation:
        invitation = services.survey_invite(
            actor=self.manager,
            data=services.InviteInput(template=self.template, customer=self.customer, channel="phone"),
        )
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            sent_by=self.user, department=self.user.department
        )
        return SurveyInvitation.objects.get(pk=invitation.pk)

    @cached_property
    def invitation(self) -> SurveyInvitation:
        return self._invite()

    @cached_property
    def answered(self) -> SurveyInvitation:
        invitation = self._invite()
        services.survey_response_submit(invitation=invitation, answers=answers_for(self.template))
        return invitation

    @cached_property
    def sending(self) -> SurveySend:
        return SurveySend.objects.create(
            template=self.template, channel="sms", sent_by=self.user, department=self.user.department, total=0
        )

    @cached_property
    def own_template(self) -> SurveyTemplate:
        return services.survey_template_save(
            actor=self.manager,
            data=services.TemplateInput(
                name="权限测试问卷", questions=[services.QuestionInput(kind="rating", text="是否满意")]
            ),
        )

    def answers(self) -> dict[str, Any]:
        return {"answers": answers_for(self.template)}


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)


@dataclass(frozen=True)
class Endpoint(ApiEndpoint):
    @property
    def id(self) -> str:
        return f"{self.method} {self.route or self.path}"


Endpoint.PATH_PARAMETERS = {
    "{w.invitation.pk}": "{invitation_id}",
    "{w.answered.pk}": "{invitation_id}",
    "{w.own_template.pk}": "{template_id}",
    "{w.template.pk}": "{template_id}",
    "{w.sending.pk}": "{sending_id}",
}

TEMPLATE_BODY = {"name": "接口问卷", "questions": [{"kind": "rating", "text": "您是否满意？"}]}

ENDPOINTS = [
    Endpoint("GET", "/surveys/templates", ("surveys.view_surveytemplate",)),
    Endpoint(
        "POST", "/surveys/templates", ("surveys.add_surveytemplate",), 201, json=lambda w: TEMPLATE_BODY
    ),
    Endpoint("GET", "/surveys/templates/{w.template.pk}", ("surveys.view_surveytemplate",)),
    Endpoint(
        "PUT",
        "/surveys/templates/{w.own_template.pk}",
        ("surveys.view_surveytemplate", "surveys.change_surveytemplate"),
        json=lambda w: TEMPLATE_BODY,
    ),
    Endpoint("GET", "/surveys/invitations", (VIEW,)),
    Endpoint(
        "POST",
        "/surveys/invitations",
        ("surveys.add_surveyinvitation",),
        201,
        json=lambda w: {"template_id": w.template.pk, "customer_id": w.customer.pk, "channel": "phone"},
    ),
    Endpoint("GET", "/surveys/invitations/{w.invitation.pk}", (VIEW,)),
    Endpoint("POST", "/surveys/invitations/{w.invitation.pk}/cancel", (VIEW, "surveys.add_surveyinvitation")),
    Endpoint(
        "POST",
        "/surveys/invitations/{w.invitation.pk}/response",
        (VIEW, "surveys.add_surveyresponse"),
        201,
        json=lambda w: w.answers(),
    ),
    Endpoint("GET", "/surveys/invitations/{w.answered.pk}/response", (VIEW, "surveys.view_surveyresponse")),
    Endpoint(
        "POST", "/surveys/sends/preview", ("surveys.bulk_send_survey",), json=lambda w: {"q": "调查权限"}
    ),
    Endpoint(
        "POST",
        "/surveys/sends",
        ("surveys.bulk_send_survey", "surveys.add_surveyinvitation"),
        201,
        json=lambda w: {"template_id": w.template.pk, "channel": "web", "filters": {"q": w.customer.name}},
    ),
    Endpoint("GET", "/surveys/sends/{w.sending.pk}", ("surveys.view_surveysend",)),
    Endpoint("GET", "/surveys/statistics", ("surveys.view_survey_statistics",)),
    Endpoint("GET", "/surveys/nominations", ("surveys.view_survey_statistics",)),
    Endpoint("GET", "/surveys/policies", ("surveys.view_surveypolicy",)),
    Endpoint(
        "POST",
        "/surveys/policies",
        ("surveys.add_surveypolicy",),
        201,
        json=lambda w: {"effective_from": timezone.localdate().isoformat(), "nomination_top": 3},
    ),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_survey_endpoint_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role, endpoint, make_user, api_as, world
):
    user = make_user(role, username=role)
    response = endpoint.call(api_as(user), world(user))
    if role_has(role, endpoint.perms):
        assert response.status_code == endpoint.ok, (role, endpoint.id, response.content[:300])
    else:
        assert response.status_code == 403, (role, endpoint.id, response.status_code, response.content[:300])
        body = response.json()
        assert body["code"] == "permission_denied" and body["message"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_user_without_a_role_is_refused_by_every_survey_endpoint(endpoint, make_user, api_as, world):
    user = make_user(None, department="centre")
    response = endpoint.call(api_as(user), world(user))
    assert response.status_code == 403, response.content[:300]
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_anonymous_caller_of_a_survey_endpoint_gets_401_json(endpoint, make_user, world):
    response = endpoint.call(Client(), world(make_user("manager")))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_survey_endpoint_is_in_the_permission_table():
    routes = {
        f"{method} {path}"
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == {e.operation for e in ENDPOINTS}
