"""The public survey page /survey/<token>/: no sign-in, one answer per link, nothing stored on a bad link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kefu.surveys import services
from kefu.surveys.models import (
    InvitationState,
    SurveyAnswer,
    SurveyInvitation,
    SurveyResponse,
    SurveyTemplate,
)
from kefu.tickets.models import Ticket
from tests.surveys.conftest import answers_for, path_of, post_data, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def visitor() -> Client:
    return Client(enforce_csrf_checks=False)


def url_of(invitation: SurveyInvitation) -> str:
    return path_of(services.survey_link(invitation))


def nothing_stored() -> bool:
    return not SurveyResponse.objects.exists() and not SurveyAnswer.objects.exists()


def test_customer_opens_the_link_without_signing_in_and_sees_the_questions_in_chinese(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    response = visitor.get(url_of(invite(channel="sms")))
    assert response.status_code == 200
    html = response.content.decode()
    assert "客户满意度调查表" in html and "很满意" in html and "很不满意" in html
    assert 'name="viewport"' in html
    assert "kefu-sidebar" not in html  # no staff menu on the customer's phone
    assert html.count("survey-option") >= 15


def test_customer_answers_and_the_answers_are_stored_once(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite(channel="sms")
    url = url_of(invitation)
    data = post_data(general, answers_for(general, score=5))
    response = visitor.post(url, data)
    assert response.status_code == 302 and response["Location"].endswith("/survey/thanks/")
    assert SurveyResponse.objects.filter(invitation=invitation).count() == 1
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.ANSWERED
    # The same form sent again (a double tap, the back button): still one answer, a clear page.
    again = visitor.post(url, data)
    assert again.status_code == 410
    assert "已" in again.content.decode() or "already" in again.content.decode()
    assert SurveyResponse.objects.count() == 1
    assert SurveyAnswer.objects.filter(response__invitation=invitation).count() == 6


def test_a_reused_link_shows_a_clear_page(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite()
    services.survey_response_submit(invitation=invitation, answers=answers_for(general))
    response = visitor.get(url_of(invitation))
    assert response.status_code == 410
    assert 'data-code="link_used"' in response.content.decode()


def test_a_tampered_link_shows_a_clear_page_and_stores_nothing(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite()
    token = token_of(invitation)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "x" + token, "no-signature", invitation.key):
        response = visitor.post(f"/survey/{bad}/", post_data(general, answers_for(general)))
        assert response.status_code == 410, bad
        assert 'data-code="link_invalid"' in response.content.decode()
    assert nothing_stored()
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.PENDING


def test_an_expired_link_shows_a_clear_page_and_stores_nothing(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite()
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    url = url_of(invitation)
    assert visitor.get(url).status_code == 410
    response = visitor.post(url, post_data(general, answers_for(general, score=1)))
    assert response.status_code == 410
    assert 'data-code="link_expired"' in response.content.decode()
    assert nothing_stored() and not Ticket.objects.exists()


def test_a_cancelled_survey_link_stores_nothing(
    users: dict[str, Any], visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite()
    services.survey_invitation_cancel(actor=users["agent"], invitation=invitation)
    response = visitor.post(url_of(invitation), post_data(general, answers_for(general)))
    assert response.status_code == 410 and 'data-code="link_cancelled"' in response.content.decode()
    assert nothing_stored()


def test_a_phone_survey_cannot_be_answered_through_a_link(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite(channel="phone")
    response = visitor.post(url_of(invitation), post_data(general, answers_for(general)))
    assert response.status_code == 410
    assert nothing_stored()


def test_missing_answers_are_shown_on_the_form_and_nothing_is_stored(
    visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite()
    answers = answers_for(general)
    first = general.questions.order_by("position").first()
    answers.pop(str(first.pk))
    response = visitor.post(url_of(invitation), post_data(general, answers))
    assert response.status_code == 400
    assert 'data-testid="error-1"' in response.content.decode()
    assert nothing_stored()


def test_a_dissatisfied_customer_gets_a_follow_up_complaint(
    root: Any, visitor: Client, invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    invitation = invite(channel="sms")
    visitor.post(url_of(invitation), post_data(general, answers_for(general, score=1)))
    response = SurveyResponse.objects.get(invitation=invitation)
    assert response.follow_up_ticket is not None
    assert response.follow_up_ticket.kind == "complaint"
    assert response.follow_up_ticket.channel == "web_form"


def test_the_public_page_is_csrf_protected(
    invite: Callable[..., SurveyInvitation], general: SurveyTemplate
) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(url_of(invite()), post_data(general, answers_for(general)))
    assert response.status_code == 403
    assert nothing_stored()
