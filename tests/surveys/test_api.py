"""The survey API's behaviour: sending, entering answers, statistics, errors, masking, query counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.surveys.models import SurveyInvitation, SurveyResponse, SurveyTemplate
from tests.surveys.conftest import answers_for

pytestmark = pytest.mark.django_db

API = "/api/v1"


def post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(API + path, json.dumps(body), content_type="application/json")


def test_agent_sends_a_survey_by_sms_and_sees_the_phone_masked(
    users: dict[str, User],
    customer: Customer,
    general: SurveyTemplate,
    api_as: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = api_as(users["agent"])
    body = {
        "template_id": general.pk,
        "customer_id": customer.pk,
        "channel": "sms",
        "served_by_id": users["agent"].pk,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/surveys/invitations", body)
    assert response.status_code == 201, response.content
    found = response.json()
    assert found["number"].startswith("MY") and "/survey/" in found["link"]
    assert found["contact_phone"] == "139****5678"
    assert found["served_by"]["id"] == users["agent"].pk
    invitation = SurveyInvitation.objects.get(pk=found["id"])
    assert invitation.delivery_state == "sms_queued" and found["link"] in invitation.delivery_text


def test_a_customer_out_of_scope_is_an_invalid_reference(
    users: dict[str, User],
    general: SurveyTemplate,
    api_as: Callable[..., Any],
    make_user: Callable[..., User],
) -> None:
    from tests.factories import make_customer

    other = make_customer(
        actor=users["manager"], name="技术部客户", department=users["technician"].department
    )
    response = post(
        api_as(users["agent"]),
        "/surveys/invitations",
        {"template_id": general.pk, "customer_id": other.pk, "channel": "phone"},
    )
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"
    assert not SurveyInvitation.objects.exists()


def test_entering_dissatisfied_answers_returns_the_follow_up_ticket(
    users: dict[str, User],
    root: User,
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    api_as: Callable[..., Any],
) -> None:
    invitation = invite(channel="phone")
    response = post(
        api_as(users["agent"]),
        f"/surveys/invitations/{invitation.pk}/response",
        {"answers": answers_for(general, score=2)},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["follow_up_ticket_id"] and body["lowest_score"] == 2
    assert len(body["answers"]) == 6
    again = post(
        api_as(users["agent"]),
        f"/surveys/invitations/{invitation.pk}/response",
        {"answers": answers_for(general)},
    )
    assert again.status_code == 409 and again.json()["code"] == "link_used"
    assert SurveyResponse.objects.count() == 1


def test_incomplete_answers_are_a_validation_error_by_question(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], api_as: Callable[..., Any]
) -> None:
    invitation = invite(channel="phone")
    response = post(api_as(users["agent"]), f"/surveys/invitations/{invitation.pk}/response", {"answers": {}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed" and body["detail"]
    assert not SurveyResponse.objects.exists()


def test_statistics_by_staff_member(
    users: dict[str, User],
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    api_as: Callable[..., Any],
) -> None:
    from kefu.surveys import services

    services.survey_response_submit(invitation=invite(), answers=answers_for(general, score=5))
    response = api_as(users["manager"]).get(API + "/surveys/statistics?by=staff")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 1
    assert rows[0]["key"] == str(users["agent"].pk)
    assert (rows[0]["ratings"], rows[0]["very_satisfied"]) == (3, 3)
    assert float(rows[0]["very_satisfied_share"]) == 100.0


def test_statistics_refuse_a_reversed_period(users: dict[str, User], api_as: Callable[..., Any]) -> None:
    response = api_as(users["manager"]).get(
        API + "/surveys/statistics?first_month=2026-05-01&last_month=2026-01-01"
    )
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"


def test_invitation_list_query_count_does_not_grow_with_rows(
    users: dict[str, User], invite: Callable[..., SurveyInvitation], api_as: Callable[..., Any]
) -> None:
    client = api_as(users["manager"])
    invite()
    client.get(API + "/surveys/invitations")
    with CaptureQueriesContext(connection) as few:
        assert client.get(API + "/surveys/invitations").status_code == 200
    for _ in range(5):
        invite()
    with CaptureQueriesContext(connection) as many:
        body = client.get(API + "/surveys/invitations").json()
    assert body["count"] == 6
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_template_with_answers_changed_through_the_api_comes_back_as_the_next_version(
    users: dict[str, User],
    invite: Callable[..., SurveyInvitation],
    general: SurveyTemplate,
    api_as: Callable[..., Any],
) -> None:
    from kefu.surveys import services

    services.survey_response_submit(invitation=invite(), answers=answers_for(general))
    response = api_as(users["manager"]).put(
        API + f"/surveys/templates/{general.pk}",
        json.dumps({"name": "客户满意度调查表", "questions": [{"kind": "rating", "text": "整体满意度"}]}),
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] != general.pk and body["version"] == 2 and len(body["questions"]) == 1
