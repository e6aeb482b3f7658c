"""The public service page: submit a case and look up its status without signing in."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kefu.tickets import services
from kefu.tickets.models import Channel, EventKind, Ticket, TicketEvent, TicketKind, TicketState

pytestmark = pytest.mark.django_db

SUBMIT = "/service/"
STATUS = "/service/status"

CASE = {
    "kind": "repair",
    "name": "周杰",
    "phone": "138-0013-8000",
    "email": "",
    "subject": "热水器不出热水",
    "description": "昨天开始热水器不出热水，型号 JSQ-20。",
    "website": "",
}


@pytest.fixture
def visitor() -> Callable[..., Client]:
    """A browser that is not signed in, from its own address, so rate limits never carry over."""

    def make(**extra: Any) -> Client:
        octets = uuid.uuid4().bytes[:3]
        address = "10." + ".".join(str(b) for b in octets)
        return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en", **extra)

    return make


def submit(client: Client, **changes: Any) -> Any:
    return client.post(SUBMIT, {**CASE, **changes})


# --- submitting ---------------------------------------------------------------------------------


def test_a_visitor_submits_a_case_without_signing_in_and_gets_its_number(
    visitor: Callable[..., Client], users: dict[str, Any], centre_group: Any
) -> None:
    client = visitor()
    page = client.get(SUBMIT)
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content

    response = submit(client)
    assert response.status_code == 302 and response["Location"] == "/service/submitted/"
    ticket = Ticket.objects.get()
    assert (ticket.kind, ticket.channel, ticket.state) == (
        TicketKind.REPAIR,
        Channel.WEB_FORM,
        TicketState.OPEN,
    )
    assert ticket.contact_name == "周杰" and ticket.contact_phone == "13800138000"
    assert ticket.subject == "热水器不出热水" and ticket.created_by is None
    assert ticket.group == centre_group  # the intake group, so the centre sees it

    done = client.get(response["Location"])
    assert done.status_code == 200
    assert re.search(rf'data-testid="case-number">{ticket.number}<', done.content.decode())


def test_the_confirmation_page_without_a_submission_goes_back_to_the_form(
    visitor: Callable[..., Client],
) -> None:
    response = visitor().get("/service/submitted/")
    assert response.status_code == 302 and response["Location"] == SUBMIT


def test_the_page_speaks_chinese_by_default(db: Any) -> None:
    response = Client(REMOTE_ADDR="10.9.9.9").get(SUBMIT)
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()
    assert b'name="viewport" content="width=device-width, initial-scale=1"' in response.content


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("phone", ""),
        ("phone", "12345"),
        ("email", "not-an-address"),
        ("kind", "after_sales"),
        ("kind", "gossip"),
        ("subject", ""),
        ("description", ""),
        ("description", "长" * 5001),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_written(
    visitor: Callable[..., Client], field: str, value: str
) -> None:
    response = submit(visitor(), **{field: value})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'data-testid="error-{field}"' in page
    assert not Ticket.objects.exists() and not TicketEvent.objects.exists()


def test_a_filled_honeypot_writes_nothing(visitor: Callable[..., Client]) -> None:
    response = submit(visitor(), website="http://spam.example")
    assert response.status_code == 400
    assert b"could not be submitted" in response.content
    assert not Ticket.objects.exists()


def test_the_form_is_csrf_protected(visitor: Callable[..., Client]) -> None:
    response = submit(visitor(enforce_csrf_checks=True))
    assert response.status_code == 403
    assert not Ticket.objects.exists()


def test_submissions_are_rate_limited_per_address(visitor: Callable[..., Client], settings: Any) -> None:
    settings.PUBLIC_SUBMIT_PER_MINUTE = 2
    client = visitor()
    assert [submit(client).status_code for _ in range(2)] == [302, 302]
    blocked = submit(client)
    assert blocked.status_code == 429 and blocked["Retry-After"] == "60"
    assert b'data-testid="rate-limited"' in blocked.content and b"wait a minute" in blocked.content
    assert Ticket.objects.count() == 2
    # Another address is not held back by the first one.
    assert submit(visitor()).status_code == 302


def test_the_limit_page_is_chinese_by_default(settings: Any, db: Any) -> None:
    settings.PUBLIC_SUBMIT_PER_MINUTE = 0
    settings.PUBLIC_STATUS_PER_MINUTE = 1
    client = Client(REMOTE_ADDR="10.8.8.8")
    client.post(STATUS, {"number": "GD2026-000001", "phone": "13800138000"})
    response = client.post(STATUS, {"number": "GD2026-000001", "phone": "13800138000"})
    assert response.status_code == 429
    assert '<html lang="zh-hans">' in response.content.decode()


# --- looking up the status ----------------------------------------------------------------------


@pytest.fixture
def submitted(visitor: Callable[..., Client], users: dict[str, Any], centre_group: Any) -> Ticket:
    assert submit(visitor()).status_code == 302
    return Ticket.objects.get()


def look_up(client: Client, number: str, phone: str) -> Any:
    return client.post(STATUS, {"number": number, "phone": phone})


def test_status_with_number_and_phone_shows_state_and_replies_only(
    visitor: Callable[..., Client],
    submitted: Ticket,
    users: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    agent = users["agent"]
    agent.phone = "13912345678"
    agent.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(
            actor=agent,
            ticket=submitted,
            body="师傅明天上午上门检修。",
            attachment=SimpleUploadedFile("上门须知.pdf", b"%PDF-1.4 x"),
        )
        services.ticket_reply(
            actor=agent, ticket=submitted, body="内部：客户脾气急，注意沟通", kind=EventKind.NOTE
        )
    services.ticket_transition(actor=agent, ticket=submitted, action="wait")

    # The number typed in lower case, the phone typed another way: still the same case.
    response = look_up(visitor(), submitted.number.lower(), "+86 138 0013 8000")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="case"' in page and submitted.number in page
    assert "Waiting for your answer" in page
    assert page.count('data-testid="reply"') == 1
    assert "师傅明天上午上门检修。" in page and "上门须知.pdf" in page
    assert "内部" not in page and "脾气急" not in page
    assert agent.full_name not in page and agent.username not in page and "13912345678" not in page


@pytest.mark.parametrize("wrong", ["phone", "number", "both", "bad-phone"])
def test_wrong_number_or_phone_gets_the_same_neutral_answer(
    visitor: Callable[..., Client], submitted: Ticket, wrong: str
) -> None:
    number = submitted.number if wrong == "phone" else "GD2026-999999"
    phone = "13800138000" if wrong == "number" else ("13700137000" if wrong != "bad-phone" else "12345")
    if wrong == "bad-phone":
        number = submitted.number
    response = look_up(visitor(), number, phone)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="not-found"' in page and 'data-testid="case"' not in page
    assert submitted.subject not in page


def test_the_neutral_answer_does_not_reveal_whether_a_number_exists(
    visitor: Callable[..., Client], submitted: Ticket
) -> None:
    def answer(number: str) -> str:
        page = look_up(visitor(), number, "13700137000").content.decode()
        # The form echoes what was typed, and each page has its own CSRF token; compare the rest.
        page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
        return page.replace(number, "NUMBER")

    assert answer(submitted.number) == answer("GD2026-999999")


def test_another_customers_case_is_never_shown(visitor: Callable[..., Client], submitted: Ticket) -> None:
    client = visitor()
    assert submit(client, phone="13700137000", name="孙丽", subject="另一位客户的事").status_code == 302
    other = Ticket.objects.exclude(pk=submitted.pk).get()
    response = look_up(visitor(), other.number, "13800138000")
    assert 'data-testid="not-found"' in response.content.decode()
    mine = look_up(visitor(), submitted.number, "13800138000").content.decode()
    assert "另一位客户的事" not in mine and "孙丽" not in mine


def test_status_lookups_are_rate_limited(visitor: Callable[..., Client], settings: Any, db: Any) -> None:
    settings.PUBLIC_STATUS_PER_MINUTE = 3
    client = visitor()
    codes = [look_up(client, f"GD2026-00000{n}", "13800138000").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_status_form_needs_both_fields(visitor: Callable[..., Client], db: Any) -> None:
    response = visitor().post(STATUS, {"number": "", "phone": ""})
    assert response.status_code == 400 and b'data-testid="not-found"' not in response.content


def test_status_page_prefills_the_number_and_keeps_the_phone_out_of_the_address(
    visitor: Callable[..., Client], db: Any
) -> None:
    page = visitor().get(STATUS + "?number=GD2026-000007").content.decode()
    assert 'value="GD2026-000007"' in page and 'method="post"' in page


def test_public_pages_send_the_content_security_policy_and_no_inline_script(
    visitor: Callable[..., Client], db: Any
) -> None:
    client = visitor()
    for url in (SUBMIT, STATUS):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        page = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script would break the CSP"
        assert not re.search(r"\son[a-z]+=", page), "inline event handlers would break the CSP"
    assert client.post(STATUS, {"number": "x", "phone": "y"})["Content-Security-Policy"]


def test_a_signed_in_user_sees_the_same_public_page(
    client_as: Callable[..., Client], users: dict[str, Any]
) -> None:
    response = client_as(users["agent"]).get(SUBMIT)
    assert response.status_code == 200 and b'data-testid="public-submit-form"' in response.content


def test_a_complaint_from_the_form_starts_the_complaint_process(
    visitor: Callable[..., Client], users: dict[str, Any], make_user: Callable[..., Any], centre_group: Any
) -> None:
    make_user("admin", username="root", is_superuser=True)
    response = submit(visitor(), kind="complaint", subject="维修师傅态度差")
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.kind == TicketKind.COMPLAINT and ticket.channel == Channel.WEB_FORM
    assert ticket.steps.filter(step=1).exists()
