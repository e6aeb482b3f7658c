"""The survey pages: who may open each one (every role), forms, export, print, progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.core.models import SensitiveAccess
from kefu.customers.models import Customer
from kefu.surveys import services
from kefu.surveys.models import SurveyInvitation, SurveyResponse, SurveySend, SurveyTemplate
from tests.customers.conftest import count_queries, xlsx_rows
from tests.factories import make_customer
from tests.surveys.conftest import answers_for

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


class World:
    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def customer(self) -> Customer:
        return make_customer(
            actor=self.manager, name="页面测试客户", department=self.user.department, owner=self.user
        )

    @cached_property
    def template(self) -> SurveyTemplate:
        return SurveyTemplate.objects.get(family="general-satisfaction", active=True)

    @cached_property
    def invitation(self) -> SurveyInvitation:
        invitation = services.survey_invite(
            actor=self.manager,
            data=services.InviteInput(template=self.template, customer=self.customer, channel="phone"),
        )
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            sent_by=self.user, department=self.user.department
        )
        return SurveyInvitation.objects.get(pk=invitation.pk)

    @cached_property
    def sending(self) -> SurveySend:
        return SurveySend.objects.create(
            template=self.template, channel="sms", sent_by=self.user, department=self.user.department
        )


@dataclass(frozen=True)
class Page:
    path: str
    perms: tuple[str, ...]

    def url(self, w: World) -> str:
        return self.path.format(w=w)


PAGES = [
    Page("/surveys/", ("surveys.view_surveyinvitation",)),
    Page("/surveys/export/", ("surveys.view_surveyinvitation",)),
    Page("/surveys/{w.invitation.pk}/", ("surveys.view_surveyinvitation",)),
    Page("/surveys/{w.invitation.pk}/print/", ("surveys.view_surveyinvitation",)),
    Page("/surveys/customers/{w.customer.pk}/invite/", ("surveys.add_surveyinvitation",)),
    Page("/surveys/send/", ("surveys.bulk_send_survey",)),
    Page("/surveys/send/{w.sending.pk}/", ("surveys.view_surveysend",)),
    Page("/surveys/templates/", ("surveys.view_surveytemplate",)),
    Page("/surveys/templates/{w.template.pk}/", ("surveys.view_surveytemplate",)),
    Page("/surveys/templates/new/", ("surveys.add_surveytemplate",)),
    Page("/surveys/templates/{w.template.pk}/edit/", ("surveys.change_surveytemplate",)),
    Page("/surveys/policy/", ("surveys.view_surveypolicy",)),
    Page("/surveys/statistics/", ("surveys.view_survey_statistics",)),
    Page("/surveys/statistics/export/", ("surveys.view_survey_statistics",)),
    Page("/surveys/nominations/", ("surveys.view_survey_statistics",)),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.path)
def test_survey_page_opens_for_roles_with_its_right_and_is_refused_to_the_others(
    role: str, page: Page, make_user: Callable[..., User], client_as: Callable[[User], Client]
) -> None:
    user = make_user(role, username=role)
    url = page.url(World(user, make_user))
    response = client_as(user).get(url)
    if role_has(role, page.perms):
        assert response.status_code == 200, (role, url, response.status_code)
    else:
        assert response.status_code == 403, (role, url, response.status_code)


def test_anonymous_visitors_are_sent_to_sign_in(db: Any) -> None:
    response = Client().get("/surveys/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_agent_sends_a_phone_survey_and_enters_the_answers(
    users: dict[str, User], customer: Customer, general: SurveyTemplate, client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["agent"])
    response = client.post(
        f"/surveys/customers/{customer.pk}/invite/",
        {"template": general.pk, "channel": "phone", "served_by": users["agent"].pk},
    )
    invitation = SurveyInvitation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/surveys/{invitation.pk}/"
    page = client.get(f"/surveys/{invitation.pk}/").content.decode()
    assert 'data-testid="answer-form"' in page
    data = {f"q{pk}": value for pk, value in answers_for(general, score=4).items()}
    response = client.post(f"/surveys/{invitation.pk}/answer/", data)
    assert response.status_code == 302
    saved = SurveyResponse.objects.get(invitation=invitation)
    assert saved.entered_by == users["agent"] and saved.average_score == 4
    assert "满意" in client.get(f"/surveys/{invitation.pk}/").content.decode()


def test_incomplete_answers_entered_by_staff_are_shown_again_and_nothing_stored(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], client_as: Callable[[User], Client]
) -> None:
    invitation = invite(channel="phone")
    response = client_as(users["agent"]).post(f"/surveys/{invitation.pk}/answer/", {})
    assert response.status_code == 400
    assert 'data-testid="error-1"' in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_the_letter_prints_the_questions_and_the_link(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], client_as: Callable[[User], Client]
) -> None:
    invitation = invite(channel="letter")
    html = client_as(users["agent"]).get(f"/surveys/{invitation.pk}/print/").content.decode()
    assert "print-box" in html and "客户满意度调查表" in html and "/survey/" in html
    assert "survey.css" in html


def test_bulk_sending_previews_the_count_then_shows_progress(
    users: dict[str, User],
    customer: Customer,
    general: SurveyTemplate,
    client_as: Callable[[User], Client],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_as(users["supervisor"])
    preview = client.get("/surveys/send/", {"tier": "A"})
    assert 'data-testid="recipient-count"' in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/surveys/send/", {"tier": "A", "template": general.pk, "channel": "sms"})
    sending = SurveySend.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/surveys/send/{sending.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert 'data-state="done"' in page and "100%" in page
    assert SurveyInvitation.objects.filter(sending=sending, customer=customer).exists()


def test_a_manager_edits_a_template_on_the_page(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["manager"])
    data = {
        "name": "回访问卷",
        "family": "visit-form",
        "auto_channel": "sms",
        "active": "on",
        "questions-TOTAL_FORMS": "3",
        "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "50",
        "questions-0-kind": "rating",
        "questions-0-text": "您对回访是否满意？",
        "questions-0-required": "on",
        "questions-1-kind": "multiple",
        "questions-1-text": "您关注哪些方面？",
        "questions-1-choices": "价格\n质量\n服务",
        "questions-2-kind": "rating",
        "questions-2-text": "",
    }
    response = client.post("/surveys/templates/new/", data)
    template = SurveyTemplate.objects.get(family="visit-form")
    assert response.status_code == 302
    assert list(template.questions.values_list("kind", "text")) == [
        ("rating", "您对回访是否满意？"),
        ("multiple", "您关注哪些方面？"),
    ]
    assert template.questions.get(kind="multiple").choices == ["价格", "质量", "服务"]


def test_the_statistics_page_draws_its_charts_from_data_blocks(
    users: dict[str, User],
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    client_as: Callable[[User], Client],
) -> None:
    services.survey_response_submit(invitation=invite(), answers=answers_for(general, score=5))
    html = client_as(users["manager"]).get("/surveys/statistics/?by=staff").content.decode()
    assert 'data-chart="line"' in html and 'id="share-chart"' in html and "echarts.min.js" in html
    assert 'data-testid="statistics-row"' in html and "100.0%" in html


def test_the_statistics_export_has_a_row_per_month_and_group(
    users: dict[str, User],
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    client_as: Callable[[User], Client],
) -> None:
    services.survey_response_submit(invitation=invite(), answers=answers_for(general, score=4))
    response = client_as(users["manager"]).get("/surveys/statistics/export/?by=department")
    rows = xlsx_rows(response)
    assert len(rows) == 1  # the call centre this month
    assert rows[0][1] == "客服中心" and rows[0][5] == 3


def test_the_survey_list_masks_phones_for_roles_without_the_right(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], client_as: Callable[[User], Client]
) -> None:
    invite()
    html = client_as(users["agent"]).get("/surveys/").content.decode()
    assert "139****5678" in html and "13912345678" not in html
    assert not SensitiveAccess.objects.exists()


def test_the_survey_list_logs_the_phones_it_shows_unmasked(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], client_as: Callable[[User], Client]
) -> None:
    invitation = invite()
    html = client_as(users["manager"]).get("/surveys/").content.decode()
    assert "13912345678" in html
    access = SensitiveAccess.objects.get()
    assert access.actor == users["manager"] and access.object_id == invitation.pk


def test_the_survey_list_query_count_does_not_grow_with_rows(
    users: dict[str, User],
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    client_as: Callable[[User], Client],
) -> None:
    client = client_as(users["manager"])
    services.survey_response_submit(invitation=invite(), answers=answers_for(general))
    client.get("/surveys/")
    few, _page = count_queries(lambda: client.get("/surveys/"))
    for _n in range(4):
        services.survey_response_submit(invitation=invite(), answers=answers_for(general))
        invite()
    many, page = count_queries(lambda: client.get("/surveys/"))
    assert page.content.decode().count('data-testid="survey-row"') == 9
    assert many == few
