"""Demo tickets: every channel and kind, complaints at each step, some waiting, overdue or closed.

Tickets are opened through the services as the staff who would take them, then dated back over
the last weeks so the queues, the time limits and the escalations look like a working month.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import F
from django.utils import timezone

from kefu.accounts.models import Department, User
from kefu.customers.models import Customer
from kefu.tickets import report_services, services, sla
from kefu.tickets.models import (
    AssignMode,
    ComplaintCategory,
    Ticket,
    TicketEvent,
    TicketGroup,
)
from kefu.tickets.services import TicketInput

INQUIRIES = [
    (
        "设备保养周期咨询",
        "客户询问污水处理设备多久需要保养一次",
        "每季度保养一次,下次保养前三天客服会电话预约。",
    ),
    ("发票开具咨询", "客户询问本月服务费发票何时开具", "发票在每月25日前开具并快递寄出。"),
    (
        "服务收费标准咨询",
        "客户询问超过免费期后上门服务如何收费",
        "按《客服部服务收费标准》执行,已发送收费标准。",
    ),
    ("会员积分查询", "会员询问积分余额和兑换方式", "积分余额已告知,可在门店兑换礼品。"),
    ("送货时间咨询", "客户询问订单何时发货", "下午四点前付款且有库存,当天发货。"),
]
REPAIRS = [
    ("曝气风机异响", "风机运行时有明显异响,需要技术员上门检查"),
    ("加药泵不出药", "加药泵运行正常但不出药,影响出水指标"),
    ("控制柜报警", "控制柜频繁报警,现场无法复位"),
]
COMPLAINTS = [
    ("技术员上门迟到", "约定上午九点上门,实际十一点才到,也未提前通知", "服务态度"),
    ("维修后问题复发", "上周维修的水泵又出现同样故障", "技术服务"),
    ("收费与报价不符", "结算金额比报价高出三百元,未作说明", "价格与收费"),
    ("客服电话无人接听", "连续三次拨打400热线均无人接听", "响应速度"),
    ("药剂包装破损", "收到的药剂包装破损,部分药剂受潮结块", "产品质量"),
]
AFTER_SALES = [
    ("return", "尺码不合适要求退货", False),
    ("exchange", "颜色与图片不符要求换货", True),
    ("refund", "商品未发货申请退款", False),
    ("negative_review", "买家给出中评:物流太慢", False),
]
SUGGESTIONS = [
    ("建议延长热线服务时间", "希望400热线周六也能有人接听"),
    ("建议增加微信报修", "希望能通过微信公众号直接报修"),
]
CHANNELS_FOR_KIND = {
    "inquiry": ["hotline", "phone", "qq", "wechat", "email", "visitor"],
    "repair": ["hotline", "phone", "field_visit"],
    "complaint": ["complaint_hotline", "hotline", "letter", "email"],
    "after_sales": ["wangwang", "qq", "wechat"],
    "suggestion": ["suggestion_box", "web_form", "letter"],
}


def _backdate(ticket: Ticket, opened: dt.datetime) -> None:
    """Move a ticket and its timeline back in time, keeping the gaps between its events."""
    shift = ticket.created_at - opened
    ticket.created_at = opened
    for name in (
        "first_responded_at",
        "resolved_at",
        "closed_at",
        "approved_at",
        "paused_at",
        "callback_due_at",
    ):
        value = getattr(ticket, name)
        if value is not None:
            setattr(ticket, name, value - shift)
    sla.schedule(ticket)
    ticket.save()
    TicketEvent.objects.filter(ticket=ticket).update(created_at=F("created_at") - shift)
    ticket.steps.update(done_at=F("done_at") - shift)


def load_ticket_demo(
    *,
    rng: random.Random,
    departments: dict[str, Department],
    staff: dict[str, User],
    customers: list[Customer],
) -> int:
    """Open about 140 tickets through the services; returns how many."""
    centre = TicketGroup.objects.create(
        name="客服中心热线组", department=departments["centre"], assign_mode=AssignMode.ROUND_ROBIN
    )
    centre.members.set([staff["agent"], staff["agent2"]])
    complaints = TicketGroup.objects.create(
        name="客诉中心", department=departments["complaints"], assign_mode=AssignMode.LEAST_LOAD
    )
    complaints.members.set([staff["complaint_specialist"]])
    now = timezone.now()
    agents = [staff["agent"], staff["agent2"]]
    # Agents open tickets for the customers they can see; complaints are taken by the manager on
    # the complaint hotline and handed to the complaint centre, which then works them.
    centre_customers = list(Customer.objects.visible_to(staff["agent"]).order_by("id")[:200])
    if not centre_customers:
        return 0
    count = 0

    def pick_customer() -> Customer:
        return rng.choice(centre_customers)

    def opened(days_back: float) -> dt.datetime:
        return now - dt.timedelta(days=days_back, minutes=rng.randint(0, 600))

    # Inquiries: most answered on the call, some open.
    for index in range(60):
        subject, description, answer = INQUIRIES[index % len(INQUIRIES)]
        customer = pick_customer()
        agent = agents[index % 2]
        ticket = services.ticket_create(
            actor=agent,
            data=TicketInput(
                kind="inquiry",
                channel=rng.choice(CHANNELS_FOR_KIND["inquiry"]),
                subject=subject,
                description=description,
                customer=customer,
                answer=answer if index % 4 else "",
                group=None if index % 4 else centre,
            ),
        )
        _backdate(ticket, opened(rng.uniform(0, 28) if ticket.closed_at else rng.uniform(0, 1.5)))
        count += 1
    # Repairs: open, some waiting for the customer, some resolved.
    for index in range(30):
        subject, description = REPAIRS[index % len(REPAIRS)]
        ticket = services.ticket_create(
            actor=staff["agent"],
            data=TicketInput(
                kind="repair",
                channel=rng.choice(CHANNELS_FOR_KIND["repair"]),
                subject=subject,
                description=description,
                customer=pick_customer(),
                priority=rng.choice(["normal", "normal", "high", "urgent"]),
                place="客户厂区污水站",
                group=centre,
                callback_due_at=now + dt.timedelta(hours=rng.randint(1, 30)) if index % 3 == 0 else None,
            ),
        )
        handler = ticket.assignee or staff["agent"]
        if index % 5 == 1:
            services.ticket_reply(actor=handler, ticket=ticket, body="已联系技术员,预计明天上门。")
        if index % 5 == 2:
            services.ticket_transition(actor=handler, ticket=ticket, action="wait", note="等客户确认上门时间")
        if index % 5 == 3:
            services.ticket_reply(actor=handler, ticket=ticket, body="技术员已上门处理完毕。")
            services.ticket_transition(
                actor=handler, ticket=ticket, action="resolve", note="更换轴承后运行正常"
            )
            services.ticket_transition(actor=handler, ticket=ticket, action="close")
        ticket.refresh_from_db()
        _backdate(ticket, opened(rng.uniform(0, 10) if ticket.closed_at else rng.uniform(0, 3)))
        count += 1
    # Complaints at every step of the process.
    specialist, manager = staff["complaint_specialist"], staff["manager"]
    categories = {c.name: c for c in ComplaintCategory.objects.all()}
    for index in range(25):
        subject, description, category = COMPLAINTS[index % len(COMPLAINTS)]
        ticket = services.ticket_create(
            actor=manager,
            data=TicketInput(
                kind="complaint",
                channel=rng.choice(CHANNELS_FOR_KIND["complaint"]),
                subject=subject,
                description=description,
                customer=rng.choice(customers),
                severity="major" if index == 3 else rng.choice(["minor", "general", "general", "serious"]),
                apologised=True,
                group=complaints,
            ),
        )
        target = index % 10
        if target >= 1:
            services.ticket_reply(
                actor=specialist,
                ticket=ticket,
                body="非常抱歉给您带来不便,您反映的问题我们已登记并正在核实,今天内给您回复。",
            )
        notes = {
            2: "调取派工与通话记录核实情况属实",
            3: "原因:排班过满且未提前通知客户",
            5: "已向客户致歉并按方案执行",
            6: "客户对处理结果表示满意",
            8: "调整排班规则,上门前一小时短信提醒",
            9: "资料整理完毕归档",
        }
        for step in (2, 3):
            if target >= step:
                ticket = services.complaint_step_complete(
                    actor=specialist, ticket=ticket, step=step, note=notes[step]
                )
        if target >= 4:
            ticket = services.complaint_request_approval(
                actor=specialist, ticket=ticket, proposal="书面致歉,减免本次上门服务费"
            )
        if target >= 5:
            ticket = services.complaint_decide(actor=manager, ticket=ticket, approve=True, note="同意")
            ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=5, note=notes[5])
        if target >= 6:
            ticket = services.complaint_step_complete(actor=specialist, ticket=ticket, step=6, note=notes[6])
        if target >= 7:
            ticket = services.complaint_step_complete(
                actor=specialist, ticket=ticket, step=7, note="按原因归类", category=categories[category]
            )
            ticket = services.ticket_transition(actor=specialist, ticket=ticket, action="close")
        for step in (8, 9):
            if target >= step:
                ticket = services.complaint_step_complete(
                    actor=specialist, ticket=ticket, step=step, note=notes[step]
                )
        ticket.refresh_from_db()
        _backdate(ticket, opened(rng.uniform(0, 20) if ticket.closed_at else rng.uniform(0, 4)))
        count += 1
    # After-sales and suggestions.
    for index in range(16):
        case_type, reason, quality = AFTER_SALES[index % len(AFTER_SALES)]
        ticket = services.ticket_create(
            actor=staff["agent2"],
            data=TicketInput(
                kind="after_sales",
                channel=rng.choice(CHANNELS_FOR_KIND["after_sales"]),
                subject=reason,
                description=reason,
                customer=pick_customer(),
                after_sales={
                    "case_type": case_type,
                    "order_number": f"TB{rng.randint(10**11, 10**12 - 1)}",
                    "buyer_id": f"tb_{rng.randint(1000, 9999)}",
                    "reason": reason,
                    "quality_problem": quality,
                    "exchange_item": "同款蓝色 L 码" if case_type == "exchange" else "",
                },
            ),
        )
        _backdate(ticket, opened(rng.uniform(0, 3)))
        count += 1
    for index in range(8):
        subject, description = SUGGESTIONS[index % len(SUGGESTIONS)]
        ticket = services.ticket_create(
            actor=staff["agent"],
            data=TicketInput(
                kind="suggestion",
                channel=rng.choice(CHANNELS_FOR_KIND["suggestion"]),
                subject=subject,
                description=description,
                customer=pick_customer(),
            ),
        )
        _backdate(ticket, opened(rng.uniform(0, 6)))
        count += 1
    # Dating back moved the resolutions across working days: measure them again.
    Ticket.objects.update(resolution_minutes=None)
    services.tickets_measure_resolution()
    services.tickets_check_sla(now=now)
    _cause_analysis_demo(departments=departments, staff=staff)
    return count


def _cause_analysis_demo(*, departments: dict[str, Department], staff: dict[str, User]) -> None:
    """Last month's cause analysis of the complaint centre: written, submitted and approved."""
    specialist, manager = staff["complaint_specialist"], staff["manager"]
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    analysis = report_services.cause_analysis_save(
        actor=specialist,
        month=last_month,
        department=departments["complaints"],
        causes="物流配送延误占投诉总数四成,集中在月底促销期间;其次为上门服务未按预约时间到达。",
        proposals="一、与物流公司约定促销期发货时限并纳入考核;二、上门服务提前一天电话确认时间;"
        "三、每周例会通报超时投诉。",
        follow_up_owner=staff["supervisor"],
    )
    analysis = report_services.cause_analysis_transition(actor=specialist, analysis=analysis, action="submit")
    report_services.cause_analysis_transition(
        actor=manager, analysis=analysis, action="approve", note="同意,下月例会跟进落实情况。"
    )
