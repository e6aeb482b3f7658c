"""A return visit worked in a real browser: no answer twice (a call-back task), then reached.

SPEC §5: the script (greet → time? → questions → close), no answer → retry, then a call back;
reached → the answers and a satisfaction score are recorded.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, expect

from kefu.accounts.models import User
from kefu.visits import services
from kefu.visits.models import Visit, VisitState
from tests.browser.conftest import signed_in
from tests.factories import make_customer

pytestmark = pytest.mark.browser


def test_agent_works_a_due_visit_no_answer_twice_then_reaches_the_customer(
    new_context: Callable[[], BrowserContext], browser_user: Callable[[str], User]
) -> None:
    agent, supervisor = browser_user("agent"), browser_user("supervisor")
    # Its own script, whatever defaults an earlier transactional test's flush left behind.
    services.visit_script_save(
        actor=browser_user("manager"),
        purpose="return_visit",
        data={
            "greeting": "{customer_name}您好,我是客服人员{agent_name},请问您现在有时间吗?",
            "ask_time": "不好意思打扰您了,请问您什么时候有时间?",
            "questions": ["贵司对我司近期的产品和服务是否满意?", "贵司的污水运营是否正常?"],
            "closing": "谢谢您对我们的支持,再见!",
        },
    )
    customer = make_customer(
        actor=supervisor,
        name="苏州清水环保科技有限公司",
        department=agent.department,
        is_vip=True,
        annual_tons=25000,
    )
    visit = services.visit_create(
        actor=supervisor,
        data=services.VisitInput(customer=customer, assignee=agent, due_on=timezone.localdate()),
    )
    page = signed_in(new_context().new_page(), agent)

    page.goto("/visits/?queue=due")
    page.locator(f'tr[data-visit="{visit.pk}"] [data-testid=visit-link]').click()
    expect(page.get_by_test_id("script-greeting")).to_contain_text("苏州清水环保科技有限公司您好")

    page.get_by_test_id("outcome-no_answer").click()
    expect(page.get_by_test_id("visit-attempts")).to_have_text("1")
    page.get_by_test_id("outcome-no_answer").click()
    expect(page.get_by_test_id("visit-attempts")).to_have_text("2")
    expect(page.locator('[data-testid=visit-timeline] [data-kind="callback"]')).to_be_visible()
    assert Visit.objects.get(pk=visit.pk).state == VisitState.CALLBACK

    page.get_by_test_id("answer-0").fill("满意")
    page.get_by_test_id("answer-1").fill("运行正常")
    page.get_by_test_id("satisfaction").select_option("5")
    page.get_by_test_id("outcome-reached").click()
    result = page.get_by_test_id("visit-result")
    expect(result).to_contain_text("满意")
    expect(result).to_contain_text("运行正常")

    visit = Visit.objects.get(pk=visit.pk)
    assert visit.state == VisitState.DONE and visit.satisfaction == 5
    assert [a["answer"] for a in visit.answers][:2] == ["满意", "运行正常"]
    assert list(visit.events.filter(kind="attempt").values_list("outcome", flat=True)) == [
        "no_answer",
        "no_answer",
        "reached",
    ]
