"""A member-care campaign in a real browser: filter, live preview and count, submit, send, progress.

SPEC §2 (`004` 档案资料专员 职责三): the archive specialist sends bulk SMS to a customer list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from kefu.accounts.models import User
from kefu.messaging.models import Campaign, CampaignState, MessageTemplate
from tests.browser.conftest import signed_in
from tests.factories import make_customer
from tests.seeds import load_defaults

pytestmark = pytest.mark.browser


def test_archive_specialist_previews_and_sends_a_campaign_to_the_filtered_members(
    new_context: Callable[[], BrowserContext],
    browser_user: Callable[[str], User],
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    manager, specialist = browser_user("manager"), browser_user("archive_specialist")
    for index, name in enumerate(["钱会员", "孙会员", "李会员"]):
        make_customer(actor=manager, name=name, kind="person", phone=f"1396666000{index}")
    make_customer(actor=manager, name="恒丰纸业有限公司", kind="company", phone="13966660009")
    load_defaults("messaging", unless_exists="MessageTemplate")
    template = MessageTemplate.objects.get(name="会员服务通知")

    page = signed_in(new_context().new_page(), specialist)
    page.goto("/messaging/campaigns/new/")
    page.locator("input[name=name]").fill("会员日提醒")
    page.locator("select[name=template]").select_option(str(template.pk))
    page.locator("textarea[name=params]").fill("notice=本周六会员日九折。")
    page.locator("select[name=kind]").select_option("person")
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    expect(page.get_by_test_id("preview-text")).to_contain_text("本周六会员日九折")

    page.get_by_test_id("campaign-save").click()
    expect(page).to_have_url(re.compile(r"/messaging/campaigns/\d+/$"))
    page.get_by_test_id("action-submit").click()
    expect(page.get_by_test_id("action-start")).to_be_visible()
    page.get_by_test_id("action-start").click()
    expect(page.get_by_test_id("campaign-sent")).to_have_text("3")
    expect(page.get_by_test_id("campaign-percent")).to_have_text("100%")
    campaign = Campaign.objects.get(name="会员日提醒")
    assert campaign.state == CampaignState.DONE and campaign.filters == {"kind": "person"}
