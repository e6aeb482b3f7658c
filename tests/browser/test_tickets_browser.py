"""A complaint by phone in a real browser: intake from an unknown number, approval, close.

SPEC §4: phone intake (record the question, open a case with time, place, person, event), the
nine complaint steps with the supervisor's approval at step 4, no close before approval.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.tickets import services
from kefu.tickets.models import ApprovalState, Ticket, TicketState
from tests.browser.conftest import signed_in

pytestmark = pytest.mark.browser


def record_step(page: Page, number: int, note: str, category: str | None = None) -> None:
    form = page.get_by_test_id("step-form")
    expect(form.locator("input[name=step]")).to_have_value(str(number))
    form.get_by_test_id("step-note").fill(note)
    if category is not None:
        form.get_by_test_id("step-category").select_option(label=category)
    form.get_by_test_id("step-submit").click()
    expect(page.locator(f'[data-step="{number}"][data-done="1"]')).to_contain_text(note)


def test_phone_complaint_from_an_unknown_number_through_approval_to_close(
    new_context: Callable[[], BrowserContext], browser_user: Callable[[str], User]
) -> None:
    agent, supervisor = browser_user("agent"), browser_user("supervisor")
    # Its own category, whatever defaults an earlier test's flush left behind.
    category = services.complaint_category_save(
        actor=browser_user("manager"), data={"name": "送货员服务", "sort_order": 0}
    )
    page = signed_in(new_context().new_page(), agent)

    # The call: an unknown number, the customer is created on the spot.
    page.goto("/tickets/intake/")
    page.get_by_test_id("intake-phone").press_sequentially("139-5555-6666", delay=20)
    unknown = page.get_by_test_id("caller-unknown")
    expect(unknown).to_be_visible()
    quick = page.get_by_test_id("quick-customer-form")
    quick.locator("select[name=kind]").select_option("person")
    quick.locator("input[name=name]").fill("钱女士")
    page.get_by_test_id("quick-create").click()
    expect(page.get_by_test_id("customer-created")).to_be_visible()
    customer = Customer.objects.get(name="钱女士")
    expect(page.locator(f'input[name=customer][value="{customer.pk}"]')).to_be_checked()

    form = page.get_by_test_id("intake-form")
    form.locator("[name=subject]").fill("快递送货员态度恶劣")
    form.locator("select[name=kind]").select_option("complaint")
    form.locator("[name=description]").fill("送货员把货物扔在门口并出言不逊")
    form.locator("select[name=channel]").select_option("complaint_hotline")
    form.locator("select[name=severity]").select_option("serious")
    form.locator("[name=place]").fill("杭州市西湖区文三路")
    form.locator("[name=contact_name]").fill("钱女士")
    form.locator("input[name=apologised]").check()
    page.get_by_test_id("open-case").click()

    expect(page).to_have_url(re.compile(r"/tickets/\d+/$"))
    ticket = Ticket.objects.get(customer=customer)
    assert (ticket.kind, ticket.severity, ticket.contact_phone) == ("complaint", "serious", "13955556666")
    expect(page.get_by_test_id("ticket-number")).to_have_text(ticket.number)
    expect(page.locator('[data-step="1"][data-done="1"]')).to_be_visible()

    # Closing before the supervisor's approval is refused, and the page says why.
    reason = page.get_by_test_id("blocker-close").inner_text().strip()
    assert reason
    page.get_by_test_id("action-close").click()
    expect(page.locator(".alert-danger")).to_contain_text(reason)
    expect(page.get_by_test_id("ticket-state")).to_have_text(re.compile(r"\S"))
    assert Ticket.objects.get(pk=ticket.pk).state == TicketState.OPEN

    record_step(page, 2, "调取物流记录,核实属实")
    record_step(page, 3, "送货员未按规范操作")
    page.locator("#proposal").fill("向客户致歉并赠送优惠券 50 元")
    page.get_by_test_id("request-approval").click()
    expect(page.get_by_test_id("approval-request")).to_contain_text("优惠券 50 元")
    expect(page.get_by_test_id("decision-form")).to_have_count(0)  # an agent cannot approve

    # The supervisor sees it in the approval queue (the tab counts arrive after the list) and approves.
    boss = signed_in(new_context().new_page(), supervisor)
    boss.goto("/tickets/?queue=approval")
    expect(boss.get_by_test_id("count-approval")).to_have_text("1")
    boss.goto(f"/tickets/{ticket.pk}/")
    decision = boss.get_by_test_id("decision-form")
    decision.locator("textarea[name=note]").fill("同意,尽快执行")
    boss.get_by_test_id("approve").click()
    expect(boss.locator('[data-step="4"][data-done="1"]')).to_contain_text("优惠券 50 元")
    assert Ticket.objects.get(pk=ticket.pk).approval_state == ApprovalState.APPROVED

    # The agent carries it out, evaluates, classifies, and closes.
    page.reload()
    record_step(page, 5, "已致电致歉并发放优惠券")
    record_step(page, 6, "客户表示满意")
    record_step(page, 7, "归入服务态度类", category=category.name)
    page.get_by_test_id("action-close").click()
    expect(page.locator(".alert-success")).to_be_visible()
    closed = Ticket.objects.get(pk=ticket.pk)
    assert closed.state == TicketState.CLOSED and closed.category == category
    expect(page.get_by_test_id("timeline")).to_contain_text("同意,尽快执行")


def test_ticket_details_are_edited_inline_with_errors_at_the_field(
    new_context: Callable[[], BrowserContext], browser_user: Callable[[str], User]
) -> None:
    supervisor = browser_user("supervisor")
    ticket = services.ticket_create(
        actor=supervisor,
        data=services.TicketInput(
            kind="inquiry", channel="hotline", subject="咨询保养", contact_phone="13812345678"
        ),
    )
    page = signed_in(new_context().new_page(), supervisor)
    page.goto(f"/tickets/{ticket.pk}/")
    page.get_by_test_id("edit-toggle").click()
    form = page.get_by_test_id("edit-form")
    expect(form).to_be_visible()
    # Leaving a field with a wrong value shows the reason under it before saving.
    form.locator("[name=contact_phone]").fill("12345")
    form.locator("[name=contact_phone]").press("Tab")
    expect(page.locator('[data-field-error="contact_phone"]')).to_be_visible()
    form = page.get_by_test_id("edit-form")
    form.locator("[name=contact_phone]").fill("13900001111")
    form.locator("[name=contact_phone]").press("Tab")
    expect(page.locator('[data-field-error="contact_phone"]')).to_have_count(0)
    form.locator("[name=subject]").fill("设备保养周期咨询")
    form.locator("select[name=priority]").select_option("urgent")
    page.get_by_test_id("edit-submit").click()

    expect(page.get_by_test_id("ticket-title")).to_contain_text("设备保养周期咨询")
    expect(page.locator('[data-change="subject"]')).to_contain_text("咨询保养")
    expect(page.locator('[data-change="deadlines"]')).to_be_visible()
    ticket.refresh_from_db()
    assert (ticket.contact_phone, ticket.priority) == ("13900001111", "urgent")


def test_complaint_report_draws_its_charts(
    new_context: Callable[[], BrowserContext], browser_user: Callable[[str], User]
) -> None:
    manager = browser_user("manager")
    services.ticket_create(
        actor=manager, data=services.TicketInput(kind="complaint", channel="hotline", subject="送货延误")
    )
    page = signed_in(new_context().new_page(), manager)
    page.goto("/tickets/reports/complaints/")
    expect(page.locator('[data-figure="received"]')).to_have_text("1")
    expect(page.locator('[data-source="category-chart"] canvas')).to_have_count(1)
    expect(page.locator('[data-source="day-chart"] canvas')).to_have_count(1)
