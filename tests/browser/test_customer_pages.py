"""The customer archive in a real browser: create, pinyin search, masking, Excel import, lockout.

SPEC §1 (roles, data masking), §2 (archive, numbering), and the import with dry run and per-row errors.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from openpyxl import Workbook
from playwright.sync_api import BrowserContext, Page, expect

from kefu.accounts.models import User
from kefu.customers.models import Customer, CustomerImport
from tests.browser.conftest import sign_in, signed_in
from tests.factories import make_customer

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_agent_creates_a_customer_and_finds_it_again_by_pinyin_initials(
    page: Page, browser_user: Callable[[str], User]
) -> None:
    agent = browser_user("agent")
    signed_in(page, agent)

    page.goto("/customers/new/")
    form = page.get_by_test_id("customer-form")
    form.locator("select[name=kind]").select_option("company")
    form.locator("input[name=name]").fill("张三丰贸易")
    form.locator("input[name=phone]").fill("13812345678")
    page.get_by_test_id("save").click()

    expect(page).to_have_url(re.compile(r"/customers/\d+/$"))
    expect(page.get_by_test_id("customer-name")).to_contain_text("张三丰贸易")
    customer = Customer.objects.get(name="张三丰贸易")
    assert customer.created_by == agent and customer.department == agent.department
    detail_url = page.url

    # Another customer, so the search visibly narrows the table.
    make_customer(actor=agent, name="李四化工有限公司", department=agent.department)
    page.goto("/customers/")
    table = page.locator("#customer-table")
    expect(table).to_contain_text("李四化工有限公司")
    for typed in ("zsfmy", "zs"):
        search = page.get_by_test_id("customer-search")
        search.fill("")
        search.press_sequentially(typed, delay=30)
        # htmx swaps #customer-table in place and pushes the query into the address bar.
        expect(page).to_have_url(re.compile(rf"[?&]q={typed}(&|$)"))
        expect(table).to_contain_text("张三丰贸易")
        expect(table).not_to_contain_text("李四化工有限公司")

    table.get_by_role("link", name="张三丰贸易").click()
    expect(page).to_have_url(detail_url)
    expect(page.get_by_test_id("customer-name")).to_contain_text("张三丰贸易")


def test_phone_is_masked_for_an_agent_and_shown_in_full_to_the_manager(
    new_context: Callable[[], BrowserContext], browser_user: Callable[[str], User]
) -> None:
    agent, manager = browser_user("agent"), browser_user("manager")
    customer = make_customer(actor=manager, name="王五贸易", phone="13812345678", department=agent.department)

    as_agent = signed_in(new_context().new_page(), agent)
    as_agent.goto(f"/customers/{customer.pk}/")
    agent_phone = as_agent.get_by_test_id("customer-phone")
    expect(agent_phone).to_have_text(re.compile(r"^\s*138\*{4}5678\s*$"))
    expect(as_agent.locator("body")).not_to_contain_text(re.compile(r"138\s?1234"))

    as_manager = signed_in(new_context().new_page(), manager)
    as_manager.goto(f"/customers/{customer.pk}/")
    expect(as_manager.get_by_test_id("customer-phone")).to_have_text(re.compile(r"^\s*138 1234 5678\s*$"))


def _workbook(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["名称*", "类型", "电话", "城市"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_archive_specialist_imports_excel_with_a_dry_run_that_names_the_bad_row(
    page: Page, browser_user: Callable[[str], User]
) -> None:
    specialist = browser_user("archive_specialist")
    signed_in(page, specialist)
    content = _workbook(
        [
            ["甲化工有限公司", "企业", "13912345678", "上海市"],
            ["乙贸易有限公司", "企业", "12345", "杭州市"],  # row 3: not a phone number
            ["丙会员", "个人", "13712345678", "南京市"],
        ]
    )

    page.goto("/customers/imports/")
    form = page.get_by_test_id("import-form")
    form.locator("input[name=file]").set_input_files(
        files=[{"name": "客户导入.xlsx", "mimeType": XLSX, "buffer": content}]
    )
    form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/customers/imports/\d+/$"))
    progress = page.locator("#import-progress")
    # The page polls every second until the job has finished; the bar then reads 100 %.
    expect(progress).to_have_attribute("data-status", "done", timeout=20_000)
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("import-created")).to_have_text("2")
    expect(page.get_by_test_id("import-errors")).to_have_text("1")
    error_rows = page.get_by_test_id("import-error-table").locator("tbody tr")
    expect(error_rows).to_have_count(1)
    cells = error_rows.first.locator("td")
    expect(cells.nth(0)).to_have_text("3")
    expect(cells.nth(1)).to_have_text("电话")
    assert not Customer.objects.exists(), "a dry run must not save anything"

    page.get_by_test_id("import-confirm").click()
    expect(page).to_have_url(re.compile(r"/customers/imports/\d+/$"))
    expect(progress).to_have_attribute("data-status", "done", timeout=20_000)
    expect(page.get_by_test_id("import-created")).to_have_text("2")
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["丙会员", "甲化工有限公司"]
    assert CustomerImport.objects.filter(dry_run=False, created_count=2).count() == 1

    page.goto("/customers/")
    table = page.get_by_test_id("customer-table")
    expect(table).to_contain_text("甲化工有限公司")
    expect(table).to_contain_text("丙会员")
    expect(table).not_to_contain_text("乙贸易有限公司")


def test_repeated_wrong_passwords_lock_the_account(page: Page, browser_user: Callable[[str], User]) -> None:
    agent = browser_user("agent")
    for attempt in range(1, settings.AXES_FAILURE_LIMIT + 1):
        sign_in(page, agent.username, "not-the-password")
        if attempt < settings.AXES_FAILURE_LIMIT:
            expect(page.locator(".alert-danger")).to_be_visible()
            expect(page.get_by_test_id("locked-out")).to_have_count(0)
    expect(page.get_by_test_id("locked-out")).to_be_visible()

    # Locked means locked: the right password does not get in either.
    sign_in(page, agent.username)
    expect(page.get_by_test_id("locked-out")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
