"""Demo return visits: the cadence's visits for the current periods, some of them worked."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kefu.accounts.models import User
from kefu.customers.models import ContactChannel, Customer
from kefu.visits import services
from kefu.visits.models import Outcome, Visit, VisitPurpose, VisitState
from kefu.visits.services import AttemptInput, Issue

ANSWERS = {
    "贵司对我司近期的产品和服务是否满意?": ["满意", "总体满意", "还可以", "一般,送货有点慢"],
    "贵司的污水运营是否正常?": ["正常", "运行稳定", "上周有一次报警,已处理"],
    "近期使用中有没有遇到问题?": ["没有", "加药泵偶尔有噪音", "无"],
    "对我们的工作还有什么意见和建议?": ["希望多组织技术培训", "没有", "希望售后响应再快一些"],
}
SUMMARIES = ["客户对服务总体满意", "客户希望增加保养次数", "客户反映运行正常", "客户提出培训需求"]
ACTIVITIES = [
    (VisitPurpose.BRIEFING, ContactChannel.PHONE, "电话通报最新环保排放标准调整"),
    (VisitPurpose.INVITATION, ContactChannel.PHONE, "邀请参加年度客户联谊会"),
    (VisitPurpose.INVITATION, ContactChannel.VISIT, "邀请参加工厂考察活动"),
    (VisitPurpose.NEWSLETTER, ContactChannel.LETTER, "寄送本季度内刊"),
    (VisitPurpose.NEWS, ContactChannel.EMAIL, "发送企业新品发布信息"),
]


def load_visit_demo(*, rng: random.Random, staff: dict[str, User]) -> int:
    """Plan the cadence and work a part of the agents' visits; returns how many visits exist."""
    services.visits_plan_due()
    agent_visits = list(
        Visit.objects.filter(state=VisitState.PLANNED, assignee__isnull=False, role="agent").order_by("id")[
            :60
        ]
    )
    for index, visit in enumerate(agent_visits):
        actor = visit.assignee
        assert actor is not None
        step = index % 6
        if step in (0, 1, 2):
            satisfaction = rng.choice([5, 5, 4, 4, 3]) if step else 2
            answers = [{"question": q, "answer": rng.choice(a)} for q, a in ANSWERS.items()]
            issue = Issue(subject="客户希望安排一次设备保养", kind="repair") if step == 2 else None
            services.visit_record_attempt(
                actor=actor,
                visit=visit,
                data=AttemptInput(
                    outcome=Outcome.REACHED,
                    satisfaction=satisfaction,
                    answers=answers,
                    summary=rng.choice(SUMMARIES),
                    issue=issue,
                ),
            )
        elif step == 3:
            for outcome in (Outcome.NO_ANSWER, Outcome.BUSY):
                visit = services.visit_record_attempt(
                    actor=actor, visit=visit, data=AttemptInput(outcome=outcome)
                )
        elif step == 4:
            services.visit_record_attempt(
                actor=actor,
                visit=visit,
                data=AttemptInput(
                    outcome=Outcome.CALL_LATER,
                    booked_at=timezone.now() + dt.timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 6)),
                    note="客户在开会,约定时间再打",
                ),
            )
    vips = list(Customer.objects.visible_to(staff["agent"]).exclude(tier="").order_by("id")[:15])
    for index, customer in enumerate(vips):
        purpose, channel, summary = ACTIVITIES[index % len(ACTIVITIES)]
        services.visit_record_activity(
            actor=staff["agent"], customer=customer, purpose=purpose, summary=summary, channel=channel
        )
    return Visit.objects.count()
