"""A satisfaction survey on a phone in a real browser, and the complaint a dissatisfied answer opens.

SPEC §5: surveys sent by SMS link; customers who answer "dissatisfied" raise a follow-up case
automatically, which staff then see.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from kefu.accounts.models import User
from kefu.surveys import services
from kefu.surveys.models import SurveyResponse, SurveyTemplate
from tests.browser.conftest import signed_in
from tests.factories import make_customer
from tests.seeds import load_defaults

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_customer_answers_on_a_phone_and_a_dissatisfied_answer_opens_a_ticket_staff_see(
    browser: Any,
    live_server: Any,
    new_context: Callable[[], BrowserContext],
    browser_user: Callable[[str], User],
    make_user: Callable[..., User],
) -> None:
    load_defaults("surveys", unless_exists="SurveyTemplate")
    make_user("admin", username="root", is_superuser=True)
    agent, supervisor = browser_user("agent"), browser_user("supervisor")
    customer = make_customer(
        actor=browser_user("manager"),
        name="杭州恒丰纸业有限公司",
        department=agent.department,
        phone="13912345678",
    )
    template = SurveyTemplate.objects.get(family="general-satisfaction", active=True)
    invitation = services.survey_invite(
        actor=agent,
        data=services.InviteInput(template=template, customer=customer, channel="sms", served_by=agent),
    )
    path = re.sub(r"^https?://[^/]+", "", services.survey_link(invitation))

    # The customer, on a phone, without an account.
    phone = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True
    )
    try:
        page = phone.new_page()
        page.goto(path)
        expect(page.get_by_test_id("survey-title")).to_have_text("客户满意度调查表")
        assert page.locator(".kefu-sidebar").count() == 0
        option = page.get_by_test_id("option-1-5")
        box = option.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 300  # a thumb-sized target

        # Submitting with nothing answered keeps the customer on the form, with the questions marked.
        page.get_by_test_id("survey-submit").click()
        expect(page.get_by_test_id("form-errors")).to_be_visible()
        assert not SurveyResponse.objects.exists()

        page.get_by_test_id("option-1-5").click()
        page.get_by_test_id("option-2-5").click()
        page.get_by_test_id("option-3-2").click()  # 不满意: the issue was handled too slowly
        page.get_by_test_id("option-4-400热线").click()
        page.get_by_test_id("option-5-响应速度").click()
        page.locator("textarea").fill("处理太慢，等了三天")
        page.get_by_test_id("survey-submit").click()
        expect(page.get_by_test_id("survey-thanks")).to_be_visible()

        # The link is single-use: opening it again says so.
        page.goto(path)
        expect(page.get_by_test_id("link-problem")).to_have_attribute("data-code", "link_used")
    finally:
        phone.close()

    response = SurveyResponse.objects.get(invitation=invitation)
    ticket = response.follow_up_ticket
    assert ticket is not None and ticket.kind == "complaint" and ticket.customer == customer

    # The supervisor is told, opens the survey and follows the link to the complaint.
    staff_page = signed_in(new_context().new_page(), supervisor)
    expect(staff_page.get_by_test_id("bell-count")).to_be_visible()
    staff_page.goto(f"/surveys/{invitation.pk}/")
    expect(staff_page.get_by_test_id("answers")).to_contain_text("不满意")
    expect(staff_page.get_by_test_id("answers")).to_contain_text("处理太慢")
    staff_page.get_by_test_id("follow-up").get_by_role("link").click()
    expect(staff_page).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    expect(staff_page.get_by_test_id("ticket-number")).to_have_text(ticket.number)
