"""An API call with a token passes the page-only middleware by; history knows who and from where."""

from __future__ import annotations

import json

import pytest
from auditlog.models import LogEntry
from django.test import Client

from kefu.core.models import OperationLog
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets"


def test_a_token_call_gets_no_session_cookie_and_no_page_policy(users, api_as, client_as):
    response = api_as(users["agent"]).get(TICKETS)
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response.headers and not response.cookies
    page = client_as(users["agent"]).get("/tickets/")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers


def test_a_wrong_token_is_refused_even_with_a_signed_in_session(users, client_as):
    client = client_as(users["agent"])
    assert client.get(TICKETS).status_code == 200  # the session alone is enough
    refused = client.get(TICKETS, HTTP_AUTHORIZATION="Bearer kefu_not-a-token")
    assert refused.status_code == 401 and refused.json()["code"]


def test_a_nul_escape_in_a_json_body_is_still_refused(users, api_as):
    body = {"kind": "inquiry", "channel": "hotline", "subject": "问\u0000题"}
    response = api_as(users["agent"]).post(TICKETS, json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_characters"
    quoted = {"kind": "inquiry", "channel": "hotline", "subject": "C:\\u0000 是路径"}
    response = api_as(users["agent"]).post(TICKETS, json.dumps(quoted), content_type="application/json")
    assert response.status_code == 201, response.content


def test_history_and_operation_log_carry_the_token_user_and_the_address(users):
    from kefu.accounts.services import api_token_create

    manager = users["manager"]
    customer = make_customer(actor=manager, name="地址客户")
    _token, key = api_token_create(actor=manager, name="tests")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", REMOTE_ADDR="10.1.2.3")
    response = client.patch(
        f"/api/v1/customers/{customer.pk}",
        json.dumps({"city": "宁波", "version": 1}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    entry = LogEntry.objects.get_for_object(customer).latest("timestamp")
    assert (entry.actor, entry.remote_addr) == (manager, "10.1.2.3")
    line = OperationLog.objects.latest("id")
    assert (line.actor, line.username, line.ip, line.status_code) == (manager, "manager", "10.1.2.3", 200)
