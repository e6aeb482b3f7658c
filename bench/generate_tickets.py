"""Fill the database the KEFU_* environment selects with a call centre's tickets and their timelines.

    python bench/generate_tickets.py [--tickets 2000000] [--events 10000000] [--open 100000]
                                     [--customers 1000000] [--batch 20000] [--force]

Runs on top of bench/generate.py's customers and staff (generated first, with --customers, when
the customer table is empty). Adds 60 ticket agents and four ticket groups, then bulk-loads
tickets, their timeline events (TicketEvent), complaint step records and after-sales cases the
way generate.py loads customers: secondary indexes (and on PostgreSQL constraints) dropped,
executemany in one transaction per batch on SQLite, COPY on PostgreSQL, a worker process
generating the next batch, indexes rebuilt, ANALYZE.

The rows are what the services would have written: numbers GD<year>-NNNNNN in creation order
with the GD<year> counters set to the last one, deadlines exactly as kefu.tickets.sla.schedule
computes them (limits from sla.limits_for per policy/kind/priority/tier; working time from the
business calendar, with a bisect over precomputed working-time segments instead of the day walk;
a random sample is re-computed with sla.schedule after the run), complaint steps in order with
the supervisor's approval before step 5, after-sales cases for after-sales tickets.

Open tickets are left as the SLA job has not seen them yet (sla_status ok, escalation level 0),
so bench/sla_job.py measures the job catching up on all of them.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import json
import math
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, database_size, django_setup

django_setup()

import generate as customer_bench
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from kefu.accounts.models import Department, Role, User
from kefu.core import calendar
from kefu.core.models import Notification, WorkingHours
from kefu.core.models import Sequence as CounterRow
from kefu.customers.models import Contact, Customer
from kefu.tickets import sla
from kefu.tickets.models import (
    AfterSalesCase,
    ComplaintCategory,
    ComplaintStepRecord,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketGroup,
)

TICKET_COLUMNS = [f.column for f in Ticket._meta.concrete_fields]
EVENT_COLUMNS = ["ticket_id", "kind", "actor_id", "created_at", "body", "internal", "data"]
EVENT_FIXED = {"attachment": "", "attachment_name": "", "attachment_size": 0}
STEP_COLUMNS = ["ticket_id", "step", "note", "data", "done_by_id", "done_at"]
AFTER_SALES_COLUMNS = [c for c in (f.column for f in AfterSalesCase._meta.concrete_fields) if c != "id"]
EXPECTED_TICKET_COLUMNS = [
    "id", "created_at", "updated_at", "number", "kind", "channel", "priority", "severity", "state",
    "subject", "description", "customer_id", "contact_id", "contact_name", "contact_phone",
    "contact_qq", "contact_email", "occurred_at", "place", "department_id", "group_id",
    "assignee_id", "created_by_id", "callback_due_at", "callback_done_at",
    "answered_on_first_contact", "resolution", "sla_policy_id", "first_response_due_at",
    "resolution_due_at", "sla_at_risk_at", "sla_breach_at", "sla_manager_at", "sla_status",
    "first_responded_at", "paused_at", "paused_minutes", "escalation_level", "resolved_at",
    "closed_at", "complaint_step", "approval_state", "approved_by_id", "approved_at",
    "category_id", "version", "resolution_minutes",
]  # fmt: skip

# --- what a call centre's tickets look like ------------------------------------------------------

KINDS = ["inquiry", "after_sales", "repair", "complaint", "suggestion"]
KIND_WEIGHTS = [50, 18, 14, 12, 6]
CHANNELS = {
    "inquiry": (["hotline", "phone", "wechat", "qq", "wangwang", "email", "web_form", "visitor"],
                [45, 12, 15, 8, 8, 5, 5, 2]),
    "after_sales": (["wangwang", "hotline", "wechat", "phone", "qq", "email"], [35, 25, 20, 10, 5, 5]),
    "repair": (["hotline", "phone", "wechat", "field_visit", "web_form", "email"], [50, 20, 12, 8, 6, 4]),
    "complaint": (["complaint_hotline", "hotline", "wechat", "letter", "visitor", "email", "web_form"],
                  [45, 20, 12, 5, 6, 7, 5]),
    "suggestion": (["suggestion_box", "web_form", "email", "hotline", "wechat"], [30, 25, 20, 15, 10]),
}  # fmt: skip
PRIORITIES = ["low", "normal", "high", "urgent"]
PRIORITY_WEIGHTS = [10, 70, 15, 5]
SEVERITIES = ["minor", "general", "serious", "major"]
SEVERITY_WEIGHTS = [25, 55, 15, 5]
SPOKEN = {"hotline", "phone", "complaint_hotline", "wechat", "qq", "wangwang", "visitor"}
NO_ACTOR = {"email", "web_form", "letter", "suggestion_box"}  # mail-in and the public form
SUBJECTS = {
    "inquiry": ["咨询{p}的报价", "询问订单发货时间", "咨询{p}规格型号", "询问发票开具", "咨询账期与付款方式",
                "查询物流单号", "询问{p}库存", "咨询会员积分", "询问售后政策", "咨询合同续签"],
    "after_sales": ["{p}申请退货", "{p}要求换货", "订单申请退款", "客户给了差评", "{p}包装破损要求补发"],
    "repair": ["{p}设备故障报修", "{p}生产线停机", "安装调试预约", "{p}异响需上门检查", "控制系统报警"],
    "complaint": ["投诉{p}质量问题", "投诉送货延误", "投诉客服态度", "投诉发票错误", "投诉{p}与样品不符",
                  "投诉维修人员迟到", "投诉重复扣款"],
    "suggestion": ["建议增加线上下单", "建议延长服务时间", "建议改进{p}包装", "建议开通微信通知"],
}  # fmt: skip
PRODUCTS = ["纸品", "化工原料", "饲料", "钢卷", "塑胶粒子", "包装箱", "农资", "配件", "电机", "涂料"]
REPLIES = [
    "您好,您反映的问题我们已经记录,正在为您核实,请稍候。",
    "已联系仓库核实,预计明天发出,物流单号稍后短信发给您。",
    "非常抱歉给您带来不便,我们已安排技术人员与您联系。",
    "您的问题已转交相关部门处理,工单号已记录,我们会尽快给您回复。",
    "经核实,货款已于今日到账,发票将在三个工作日内寄出。",
    "已为您重新下单补发,请注意查收。",
]
CUSTOMER_MESSAGES = ["请尽快处理,我们这边等着用。", "已收到,谢谢。", "还没有人联系我,请跟进一下。",
                     "照片已经发过去了,请查看。", "什么时候能有结果?"]  # fmt: skip
NOTES = ["已与仓库确认库存。", "客户情绪较激动,注意回访。", "需要销售部确认价格。", "已拍照留存。",
         "等待供应商回复。"]  # fmt: skip
CALLS = ["电话回访客户,客户表示满意。", "电话联系客户未接通,稍后再拨。", "与客户电话沟通了处理方案。"]
STEP_NOTES = {
    2: "已调查核实:查阅订单、询问仓库与承运方。", 3: "原因分析:批次质量波动/承运方延误。",
    4: "拟给予换货并补偿运费。", 5: "已按方案换货并补偿。", 6: "客户对处理结果表示满意。",
    7: "已分类。", 8: "已提出改进措施并通知相关部门。", 9: "资料已归档。",
}  # fmt: skip
RESOLUTIONS = [
    "已解答客户问题。",
    "已处理完毕,客户确认。",
    "已换货,客户满意。",
    "已退款。",
    "已上门维修完毕。",
]
MINUTE = 60 * 1_000_000
HOUR = 60 * MINUTE
EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_US = dt.timedelta(microseconds=1)
NAIVE_EPOCH = dt.datetime(1970, 1, 1)

TICKET_AGENTS = 60
# name, department code, kinds, members (bench agent numbers, ticket agent numbers)
GROUPS = [
    ("客服中心受理组", "bench-centre", ["inquiry", "repair", "suggestion"], range(1, 5), range(1, 21)),
    ("售后处理组", "bench-centre", ["after_sales"], range(0), range(21, 31)),
    ("客诉处理组", "bench-complaints", ["complaint"], range(5, 8), range(31, 46)),
    ("大客户服务组", "bench-big", [], range(8, 11), range(46, 61)),  # tier-A customers, all but complaints
]


def us_of(moment: dt.datetime) -> int:
    return (moment - EPOCH_UTC) // ONE_US


class WorkingTime:
    """calendar.add_working_time over precomputed segments: a bisect instead of a walk over days.

    Same rule as the calendar: from `start` (moved to the next working moment), consume `duration`
    segment by segment; a deadline landing exactly on a segment's end is that end.
    """

    def __init__(self, first: dt.date, last: dt.date) -> None:
        hours = WorkingHours.in_force()
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cum: list[int] = []  # working time before each segment
        self.cumend: list[int] = []
        total = 0
        day = first
        while day <= last:
            for seg_start, seg_end in calendar._segments(day, hours):
                s, e = us_of(seg_start), us_of(seg_end)
                self.starts.append(s)
                self.ends.append(e)
                self.cum.append(total)
                total += e - s
                self.cumend.append(total)
            day += dt.timedelta(days=1)

    def add(self, start: int, duration: int) -> int:
        i = bisect.bisect_right(self.ends, start)
        begin = max(self.starts[i], start)
        w = self.cum[i] + (begin - self.starts[i]) + duration
        j = bisect.bisect_left(self.cumend, w, lo=i)
        return self.starts[j] + (w - self.cum[j])

    def at(self, w: int) -> int:
        """The moment `w` of working time after the first segment began."""
        j = bisect.bisect_left(self.cumend, w)
        return self.starts[j] + (w - self.cum[j])

    def position(self, moment: int) -> int:
        i = bisect.bisect_right(self.ends, moment)
        return self.cum[i] + max(0, moment - self.starts[i])


@dataclass
class Context:
    tickets: int
    events: int
    seed: int
    vendor: str
    now: int
    created: list[int]  # created_at (µs since the epoch, UTC) per ticket id - 1
    numbers: list[str]
    tau_us: float
    open_share: float
    wt: WorkingTime
    # customers: tier and primary contact (id, name, mobile) per customer id
    tiers: dict[int, str]
    contacts: dict[int, tuple[int, str, str]]
    customer_ids: list[int]
    groups: dict[str, tuple[int, int, list[int]]]  # key → (group id, department id, member ids)
    staff_names: dict[int, str]
    supervisor: int
    categories: list[int]
    policies: list[tuple[dt.date, int, int, int]]  # (effective from, id, at risk %, manager after min)
    limits: dict[tuple[int, str, str, str], tuple[int, int]]
    assignment_data: dict[int, str]


CTX: Context | None = None
MINUTES_US: dict[float, int] = {}


def minutes_us(minutes: float) -> int:
    """Exactly what dt.timedelta(minutes=…) gives, in microseconds."""
    value = MINUTES_US.get(minutes)
    if value is None:
        value = MINUTES_US[minutes] = dt.timedelta(minutes=minutes) // ONE_US
    return value


def deadlines(
    wt: WorkingTime,
    start: int,
    first: int,
    resolution: int,
    share: float,
    manager: int,
    responded: bool,
    waited: int,
) -> tuple[int, int, int, int, int]:
    """sla.schedule: (first response due, resolution due, at risk at, breach at, manager at)."""
    first_due = wt.add(start, minutes_us(first) + waited)
    resolution_due = wt.add(start, minutes_us(resolution) + waited)
    if responded:
        breach = resolution_due
        at_risk = wt.add(start, minutes_us(resolution * share) + waited)
    else:
        breach = min(first_due, resolution_due)
        at_risk = wt.add(start, minutes_us(first * share) + waited)
    return first_due, resolution_due, at_risk, breach, wt.add(breach, minutes_us(manager))


@dataclass
class Batch:
    lo: int
    hi: int
    rows: dict[str, list[tuple[Any, ...]]]
    seconds: float


def make_batch(bounds: tuple[int, int]) -> Batch:
    assert CTX is not None
    started = time.perf_counter()
    ctx = CTX
    wt = ctx.wt
    lo, hi = bounds
    rng = random.Random(ctx.seed * 1_000_003 + lo)
    pg = ctx.vendor == "postgresql"
    true, false = (True, False) if pg else (1, 0)
    tz = "+00" if pg else ""
    now = ctx.now

    def ts(us: int | None) -> str | None:
        if us is None:
            return None
        return (NAIVE_EPOCH + dt.timedelta(microseconds=us)).isoformat(" ") + tz

    tickets: list[tuple[Any, ...]] = []
    steps: list[tuple[Any, ...]] = []
    cases: list[tuple[Any, ...]] = []
    # Per ticket: its events as (ticket id, kind, actor, at µs, body, internal, data json)
    timelines: dict[int, list[tuple[Any, ...]]] = {}
    windows: list[tuple[int, int, int, list[int]]] = []  # (ticket, from, to, people) for extra events
    n_customers = len(ctx.customer_ids)
    for tid in range(lo, hi):
        t0 = ctx.created[tid - 1]
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        channels, weights = CHANNELS[kind]
        channel = rng.choices(channels, weights)[0]
        priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
        complaint = kind == "complaint"
        severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0] if complaint else ""
        customer_id = contact_id = None
        tier = ""
        contact_qq = contact_email = ""
        if rng.random() < 0.88:
            customer_id = ctx.customer_ids[rng.randrange(n_customers)]
            tier = ctx.tiers.get(customer_id, "")
            contact_id, contact_name, contact_phone = ctx.contacts[customer_id]
        else:
            contact_name = rng.choice(customer_bench.SURNAMES) + rng.choice(["先生", "女士"])
            contact_phone = customer_bench.mobile_number(50_000_000 + tid)
            if channel == "qq":
                contact_qq = str(100_000_000 + tid * 7 % 900_000_000)
            if channel in ("email", "web_form"):
                contact_email = f"user{tid}@{rng.choice(customer_bench.MAIL_DOMAINS)}"
        group_key = "big" if tier == "A" and not complaint else kind
        group_id, department_id, members = ctx.groups[group_key]
        local_day = (NAIVE_EPOCH + dt.timedelta(microseconds=t0 + 8 * HOUR)).date()
        policy_i = bisect.bisect_right([p[0] for p in ctx.policies], local_day) - 1
        _from, policy_id, risk_percent, manager_after = ctx.policies[policy_i]
        share = risk_percent / 100
        first_limit, resolution_limit = ctx.limits[(policy_id, kind, priority, tier)]
        agent = rng.choice(members)
        created_by = None if channel in NO_ACTOR else agent
        age = now - t0
        active = rng.random() < ctx.open_share * math.exp(-age / ctx.tau_us)
        answered = (
            not active and channel in SPOKEN and ((kind == "inquiry" and rng.random() < 0.7) or
                                                  (kind == "suggestion" and rng.random() < 0.4))
        )  # fmt: skip
        product = rng.choice(PRODUCTS)
        subject = rng.choice(SUBJECTS[kind]).format(p=product)
        description = f"{contact_name}来电反映:{subject}。" if channel in SPOKEN else f"客户来信:{subject}。"
        events: list[tuple[Any, ...]] = []
        ev = events.append
        ev((tid, "created", created_by, t0, description, false,
            json.dumps({"channel": channel, "kind": kind})))  # fmt: skip
        assignee = agent if (answered or not active or rng.random() < 0.85) else None
        if assignee is not None:
            ev((tid, "assignment", created_by, t0, "", false, ctx.assignment_data[assignee]))
        if complaint and severity == "major":
            ev((tid, "escalation", created_by, t0, "", false, '{"reason": "major", "level": 2}'))
        state = "open"
        first_responded = resolved = closed = paused_at = approved_at = approved_by = category = None
        paused_minutes = 0
        resolution_minutes = None
        sla_status, level = "ok", 0
        complaint_step = 0
        approval = ""
        resolution = ""
        if answered:
            state = "closed"
            first_responded = resolved = closed = t0
            resolution_minutes = 0
            resolution = rng.choice(REPLIES)
            due = deadlines(wt, t0, first_limit, resolution_limit, share, manager_after, False, 0)
            ev((tid, "reply", agent, t0, resolution, false, '{"answered": true}'))
            ev((tid, "state", agent, t0, "", false, '{"from": "open", "to": "closed"}'))
            end = t0
        else:
            if rng.random() < 0.15:
                paused_minutes = rng.randrange(30, 1200)  # an earlier wait for the customer
            waited = paused_minutes * MINUTE
            fr = wt.add(
                t0,
                int(
                    first_limit
                    * MINUTE
                    * (rng.uniform(0.05, 0.8) if rng.random() < 0.9 else rng.uniform(0.8, 2.0))
                ),
            )
            if active and fr > now:
                fr = None
            if fr is not None:
                first_responded = fr
                ev(
                    (
                        tid,
                        rng.choice(["reply", "call"]),
                        assignee or agent,
                        fr,
                        rng.choice(REPLIES),
                        false,
                        "{}",
                    )
                )
            due = deadlines(
                wt, t0, first_limit, resolution_limit, share, manager_after, fr is not None, waited
            )
            first_due, resolution_due, at_risk_at, breach_at, manager_at = due
            if active:
                end = now
                if rng.random() < 0.35 and fr is not None:
                    state = "pending"
                    paused_at = rng.randrange(fr, now)
                    ev((tid, "state", assignee or agent, paused_at, "", false,
                        '{"from": "open", "to": "pending", "action": "wait"}'))  # fmt: skip
            else:
                u = rng.uniform(0.1, 0.95) if rng.random() < 0.88 else rng.uniform(0.95, 2.5)
                resolved = max(wt.add(t0, int(resolution_limit * MINUTE * u) + waited), (fr or t0) + MINUTE)
                closed = wt.add(resolved, rng.randrange(0, 16 * HOUR))
                resolution = rng.choice(RESOLUTIONS)
                # The working time to resolve, less waiting, as the service measures it.
                resolution_minutes = int(resolution_limit * u)
                if resolved > now:
                    resolved = closed = resolution_minutes = None
                    state = "open"
                    active = True
                    end = now
                elif closed > now:
                    state, closed, end = "resolved", None, resolved
                else:
                    state, end = "closed", closed
                if not active:
                    late_first = fr is not None and fr > first_due
                    late_end = resolved > resolution_due
                    if late_first or late_end:
                        sla_status, level = "breached", 1
                        ev((tid, "escalation", None, first_due if late_first else resolution_due, "", false,
                            json.dumps({"level": 1, "reason": "sla", "to": [ctx.supervisor]})))  # fmt: skip
                        if resolved > manager_at:
                            level = 2
                            ev((tid, "escalation", None, manager_at, "", false,
                                json.dumps({"level": 2, "reason": "sla", "to": []})))  # fmt: skip
                    elif resolved > at_risk_at:
                        sla_status = "at_risk"
                    # Most cases are closed at once when done; some are resolved first and closed
                    # when the customer confirms.
                    direct = closed is not None and not complaint and rng.random() < 0.85
                    if direct:
                        closed = end = resolved  # closing an open ticket resolves it at that moment
                        ev((tid, "state", assignee, closed, resolution, false,
                            '{"from": "open", "to": "closed", "action": "close"}'))  # fmt: skip
                    else:
                        ev((tid, "state", assignee, resolved, resolution, false,
                            '{"from": "open", "to": "resolved", "action": "resolve"}'))  # fmt: skip
                    if closed is not None and not direct:
                        ev((tid, "state", assignee, closed, "", false,
                            '{"from": "resolved", "to": "closed", "action": "close"}'))  # fmt: skip
            people = [p for p in (assignee, agent) if p] + [None]
            windows.append((tid, first_responded or t0, end, people))
        first_due, resolution_due, at_risk_at, breach_at, manager_at = due

        if complaint:
            done_by = assignee or agent
            if state in ("closed",):
                last_step = 9 if rng.random() < 0.75 else 7
            elif state == "resolved":
                last_step = 7
            else:
                last_step = rng.choices([1, 2, 3, 4, 5, 6], [25, 25, 20, 15, 10, 5])[0]
            begin, finish = t0, (closed or resolved or now)
            moments = sorted(rng.randrange(begin, max(begin + 1, finish)) for _ in range(last_step))
            moments[0] = t0
            for step in range(1, last_step + 1):
                at = moments[step - 1]
                if step >= 8:
                    at = wt.add(closed or finish, (step - 7) * 2 * HOUR)
                    at = min(at, now)
                data: dict[str, Any] = {}
                if step == 1:
                    data = {"apologised": rng.random() < 0.8}
                    note = description
                elif step == 4:
                    approved_by, approved_at = ctx.supervisor, at
                    data = {"approved_by": ctx.supervisor, "approved_by_name": ctx.staff_names[ctx.supervisor],
                            "approval_note": "同意"}  # fmt: skip
                    note = STEP_NOTES[4]
                    ev((tid, "approval", done_by, at - MINUTE * 30, note, false,
                        json.dumps({"action": "request", "proposal": note})))  # fmt: skip
                    ev((tid, "approval", ctx.supervisor, at, "同意", false, '{"action": "approve"}'))
                else:
                    note = STEP_NOTES[step]
                    if step == 7:
                        category = rng.choice(ctx.categories)
                        data = {"category": str(category)}
                if step != 4 and step != 1:
                    ev((tid, "step", done_by, at, note, false, json.dumps({"step": step, **data})))
                steps.append((tid, step, note, json.dumps(data), done_by, ts(at)))
            complaint_step = last_step + 1 if last_step < 9 else 9
            if last_step == 3 and active and rng.random() < 0.5:
                approval = "requested"
                ev((tid, "approval", done_by, min(now, moments[-1] + HOUR), STEP_NOTES[4], false,
                    json.dumps({"action": "request", "proposal": STEP_NOTES[4]})))  # fmt: skip
            elif last_step >= 4:
                approval = "approved"
            if last_step == 9:
                state = "archived"
                ev((tid, "state", done_by, min(now, wt.add(closed or finish, 4 * HOUR)), "", false,
                    '{"from": "closed", "to": "archived", "action": "archive"}'))  # fmt: skip

        if kind == "after_sales":
            case_type = rng.choices(["return", "exchange", "refund", "negative_review"], [30, 30, 30, 10])[0]
            quality = rng.random() < 0.5
            cases.append(
                (
                    ts(t0), ts(t0), tid, case_type, f"{t0 // 1000 % 10**16:016d}", f"tb_{tid % 100000}",
                    "商品有质量问题" if quality else "不想要了", true if quality else false,
                    None if case_type == "negative_review" else (false if quality else true), "",
                    f"SF{tid:012d}" if case_type in ("return", "exchange") else "",
                    "0.00" if quality else f"{rng.choice([8, 10, 12, 15])}.00",
                    f"{rng.randrange(20, 2000)}.00" if case_type in ("return", "refund") else "0.00",
                    "", "淘宝" if case_type == "negative_review" else "",
                    "质量太差了" if case_type == "negative_review" else "",
                )
            )  # fmt: skip

        callback_due = callback_done = None
        if kind in ("inquiry", "repair") and not answered and rng.random() < 0.2:
            callback_due = wt.add(t0, 4 * HOUR)
            if not active or (callback_due < now and rng.random() < 0.6):
                callback_done = min(now, callback_due - rng.randrange(0, 2 * HOUR))
                ev((tid, "call", assignee or agent, callback_done, CALLS[0], false, '{"callback": true}'))
        timelines[tid] = events
        tickets.append(
            [
                tid, ts(t0), None, ctx.numbers[tid - 1], kind, channel, priority, severity, state,
                subject, description, customer_id, contact_id, contact_name, contact_phone, contact_qq,
                contact_email, ts(t0 - rng.randrange(0, 4 * HOUR)) if kind != "inquiry" else None,
                rng.choice(customer_bench.STREETS) if channel == "field_visit" else "", department_id,
                group_id, assignee, created_by, ts(callback_due), ts(callback_done),
                true if answered else false, resolution, policy_id, ts(first_due), ts(resolution_due),
                ts(at_risk_at), ts(breach_at), ts(manager_at), sla_status, ts(first_responded),
                ts(paused_at), paused_minutes, level, ts(resolved), ts(closed), complaint_step, approval,
                approved_by, ts(approved_at), category, 1 + len(events) // 2, resolution_minutes,
            ]
        )  # fmt: skip

    # Replies, customer messages, notes and calls up to the share of the events target; about
    # one ticket in 4,000 is a long dispute of exactly 50 events (the timeline benchmark).
    target = ctx.events * (hi - lo) // ctx.tickets
    base = sum(len(e) for e in timelines.values())
    plan: list[tuple[int, int, int, list[int]]] = []
    for w in windows:
        if w[0] % 4000 == 0:
            plan += [w] * max(0, 50 - len(timelines[w[0]]))
    extra = max(len(plan), target - base)
    while len(plan) < extra and windows:
        w = windows[rng.randrange(len(windows))]
        if w[0] % 4000:
            plan.append(w)
    for tid, begin, end, people in plan:
        at = rng.randrange(begin, max(begin + 1, end))
        who = rng.choice(people)
        if who is None:
            timelines[tid].append((tid, "customer", None, at, rng.choice(CUSTOMER_MESSAGES), false, "{}"))
        else:
            kind = rng.choices(["reply", "note", "call"], [50, 30, 20])[0]
            body = rng.choice(REPLIES if kind == "reply" else NOTES if kind == "note" else CALLS)
            timelines[tid].append((tid, kind, who, at, body, true if kind == "note" else false, "{}"))
    events_out: list[tuple[Any, ...]] = []
    for row in tickets:
        timeline = timelines[row[0]]
        timeline.sort(key=lambda e: e[3])
        row[2] = ts(max(timeline[-1][3], ctx.created[row[0] - 1]))
        events_out.extend((e[0], e[1], e[2], ts(e[3]), e[4], e[5], e[6], "", "", 0) for e in timeline)
    rows = {
        "ticket": [tuple(r) for r in tickets],
        "event": events_out,
        "step": steps,
        "after_sales": cases,
    }
    return Batch(lo, hi, rows, time.perf_counter() - started)


TABLE_OF = {
    "ticket": Ticket,
    "event": TicketEvent,
    "step": ComplaintStepRecord,
    "after_sales": AfterSalesCase,
}
COLUMNS_OF = {
    "ticket": TICKET_COLUMNS,
    "event": [*EVENT_COLUMNS, *EVENT_FIXED],
    "step": STEP_COLUMNS,
    "after_sales": AFTER_SALES_COLUMNS,
}


def check_columns() -> None:
    if TICKET_COLUMNS != EXPECTED_TICKET_COLUMNS:
        raise SystemExit(f"tickets_ticket changed: the loader writes {EXPECTED_TICKET_COLUMNS}")
    for key, model in TABLE_OF.items():
        expected = {f.column for f in model._meta.concrete_fields} - {"id"}
        got = set(COLUMNS_OF[key]) - {"id"}
        if expected != got:
            raise SystemExit(
                f"{model._meta.db_table}: missing {sorted(expected - got)}, unknown {sorted(got - expected)}"
            )


def batches(ctx: Context, batch: int, workers: int) -> Iterator[Batch]:
    return customer_bench.pipelined(make_batch, ctx.tickets, batch, workers)


def ensure_ticket_staff() -> tuple[dict[str, tuple[int, int, list[int]]], dict[int, str], int]:
    """60 ticket agents (bench_kf01…60) besides generate.py's staff, and the four ticket groups."""
    customer_bench.ensure_staff()
    agent_role = Role.objects.select_related("group").get(code="agent")
    departments = {d.code: d for d in Department.objects.filter(code__startswith="bench-")}
    password = make_password(customer_bench.BENCH_PASSWORD)
    groups: dict[str, tuple[int, int, list[int]]] = {}
    with transaction.atomic():
        for name, dept_code, kinds, bench_agents, kf_agents in GROUPS:
            members = [User.objects.get(username=f"bench_agent{n:02d}") for n in bench_agents]
            for n in kf_agents:
                user, created = User.objects.get_or_create(
                    username=f"bench_kf{n:02d}",
                    defaults={
                        "full_name": f"工单专员{n:02d}",
                        "department": departments[dept_code],
                        "password": password,
                        "title": agent_role.name,
                    },
                )
                if created:
                    user.groups.add(agent_role.group)
                members.append(user)
            group, _ = TicketGroup.objects.get_or_create(
                name=name,
                defaults={"department": departments[dept_code], "assign_mode": "round_robin", "kinds": kinds},
            )
            group.members.set(members)
            entry = (group.pk, group.department_id, [m.pk for m in members])
            for kind in kinds or ["big"]:
                groups[kind] = entry
    names = {u.pk: str(u) for u in User.objects.filter(username__startswith="bench_")}
    supervisor = User.objects.get(username="bench_supervisor").pk
    return groups, names, supervisor


def wipe() -> None:
    tables = [m._meta.db_table for m in (TicketEvent, ComplaintStepRecord, AfterSalesCase, Ticket)]
    tables.append(Notification._meta.db_table)
    print(f"--force: emptying {', '.join(tables)}", flush=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cursor.execute(f'DELETE FROM "{table}"')
    CounterRow.objects.filter(key__regex=r"^GD\d{4}$").delete()


def created_times(count: int, first: int, now: int, wt: WorkingTime, seed: int) -> list[int]:
    """85 % of tickets arrive in working hours (phone, chat), the rest at any time (mail, forms)."""
    rng = random.Random(seed)
    w_first, w_now = wt.position(first), wt.position(now)
    times = [
        wt.at(rng.uniform(w_first, w_now)) if rng.random() < 0.85 else rng.randrange(first, now)
        for _ in range(count)
    ]
    times = [int(t) // 1_000_000 * 1_000_000 + rng.randrange(1_000_000) for t in times]
    times.sort()
    return times


def open_decay(created: list[int], now: int, want: int) -> float:
    """τ such that Σ exp(-age/τ) over all tickets ≈ the wanted number of active tickets."""
    day = 86_400 * 1_000_000
    ages: dict[int, int] = {}
    for t in created:
        ages[(now - t) // day] = ages.get((now - t) // day, 0) + 1
    lo, hi = 0.01, 3650.0
    for _ in range(60):
        tau = (lo + hi) / 2
        total = sum(n * math.exp(-(a + 0.5) / tau) for a, n in ages.items())
        lo, hi = (tau, hi) if total < want else (lo, tau)
    return (lo + hi) / 2 * day


def verify_sample(ctx: Context, sample: int = 3000) -> None:
    """Deadlines as sla.schedule computes them, numbers unique and in order, steps in order."""
    rng = random.Random(ctx.seed)
    ids = [rng.randrange(1, ctx.tickets + 1) for _ in range(sample)]
    tickets = Ticket.objects.filter(pk__in=ids).select_related("customer", "sla_policy")
    checked = 0
    fields = [
        "first_response_due_at",
        "resolution_due_at",
        "sla_at_risk_at",
        "sla_breach_at",
        "sla_manager_at",
    ]
    for ticket in tickets:
        copy = Ticket.objects.select_related("customer", "sla_policy").get(pk=ticket.pk)
        if copy.answered_on_first_contact:
            copy.first_responded_at = None  # ticket_create schedules before recording the answer
        sla.schedule(copy)
        problems = [
            f"{name} {getattr(ticket, name)} != {getattr(copy, name)}"
            for name in fields
            if getattr(ticket, name) != getattr(copy, name)
        ]
        year = timezone.localtime(ticket.created_at).year
        if not ticket.number.startswith(f"GD{year}-"):
            problems.append(f"number {ticket.number} for a ticket of {year}")
        if ticket.is_complaint:
            done = list(ticket.steps.values_list("step", flat=True).order_by("step"))
            if done != list(range(1, len(done) + 1)):
                problems.append(f"complaint steps {done}")
        if problems:
            raise SystemExit(f"generated ticket {ticket.number} is inconsistent: {problems}")
        checked += 1
    print(
        f"checked {checked} random tickets against sla.schedule, their number's year and complaint steps: all consistent"
    )


def models_count() -> Any:
    from django.db.models import Count

    return Count("id")


def main(argv: list[str] | None = None) -> int:
    global CTX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--open", type=int, default=100_000, help="open and waiting tickets, about")
    parser.add_argument("--customers", type=int, default=1_000_000, help="when the customer table is empty")
    parser.add_argument("--since", default="2024-01-01", help="first ticket's date")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="empty the ticket tables first")
    args = parser.parse_args(argv)
    check_columns()
    print(f"database: {database_label()}", flush=True)
    if not Customer.objects.exists():
        print(f"no customers yet: bench/generate.py --customers {args.customers}", flush=True)
        if customer_bench.main(["--customers", str(args.customers)]):
            return 1
    if Ticket.objects.exists():
        if not args.force:
            print(
                "The ticket table is not empty; run with --force to empty the ticket tables first.",
                file=sys.stderr,
            )
            return 2
        wipe()
    total_started = time.perf_counter()
    started = time.perf_counter()
    groups, names, supervisor = ensure_ticket_staff()
    tz = timezone.get_current_timezone()
    first = us_of(dt.datetime.combine(dt.date.fromisoformat(args.since), dt.time(0, 0), tzinfo=tz))
    now = us_of(timezone.now()) - HOUR
    wt = WorkingTime(
        dt.date.fromisoformat(args.since) - dt.timedelta(days=1),
        timezone.localdate() + dt.timedelta(days=1200),
    )
    created = created_times(args.tickets, first, now, wt, args.seed)
    numbers: list[str] = []
    counters: dict[int, int] = {}
    for t in created:
        year = (NAIVE_EPOCH + dt.timedelta(microseconds=t + 8 * HOUR)).year
        if tz.utcoffset(dt.datetime(year, 6, 1)) != dt.timedelta(hours=8):
            raise SystemExit("the generator assumes UTC+8 (Asia/Shanghai) for the year of a number")
        counters[year] = counters.get(year, 0) + 1
        if counters[year] >= 10**6:
            raise SystemExit("more than 999,999 tickets in a year: GD<year>-NNNNNN would overflow")
        numbers.append(f"GD{year}-{counters[year]:06d}")
    policies = [(p.effective_from, p.pk, p.at_risk_percent, p.manager_after_minutes)
                for p in SlaPolicy.objects.order_by("effective_from", "id").prefetch_related("targets")]  # fmt: skip
    if not policies or policies[0][0] > dt.date.fromisoformat(args.since):
        raise SystemExit("no SLA policy in force at --since (the defaults migration loads one)")
    limits: dict[tuple[int, str, str, str], tuple[int, int]] = {}
    for policy in SlaPolicy.objects.prefetch_related("targets"):
        for kind in KINDS:
            for priority in PRIORITIES:
                for tier in ("", "A", "B", "C"):
                    found = sla.limits_for(policy, kind=kind, priority=priority, tier=tier)
                    limits[(policy.pk, kind, priority, tier)] = (
                        found.first_response_minutes,
                        found.resolution_minutes,
                    )
    tiers = dict(Customer.objects.exclude(tier="").values_list("id", "tier").iterator(chunk_size=50_000))
    customer_ids = list(
        Customer.objects.order_by("id").values_list("id", flat=True).iterator(chunk_size=50_000)
    )
    contacts = {
        c: (k, n, m)
        for c, k, n, m in Contact.objects.filter(is_primary=True)
        .values_list("customer_id", "id", "name", "mobile")
        .iterator(chunk_size=50_000)
    }
    customer_ids = [c for c in customer_ids if c in contacts]
    tau = open_decay(created, now, args.open)
    assignment = {pk: json.dumps({"to": pk, "to_name": name}) for pk, name in names.items()}
    print(
        f"prepared in {time.perf_counter() - started:.1f} s: {len(customer_ids):,} customers, "
        f"{len(wt.starts):,} working-time segments, open tickets decay over {tau / 86_400e6:.0f} days",
        flush=True,
    )
    CTX = Context(
        tickets=args.tickets, events=args.events, seed=args.seed, vendor=connection.vendor, now=now,
        created=created, numbers=numbers, tau_us=tau, open_share=1.0, wt=wt, tiers=tiers, contacts=contacts,
        customer_ids=customer_ids, groups=groups, staff_names=names, supervisor=supervisor,
        categories=list(ComplaintCategory.objects.values_list("id", flat=True)), policies=policies,
        limits=limits, assignment_data=assignment,
    )  # fmt: skip
    tables = [m._meta.db_table for m in TABLE_OF.values()]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for pragma in ("synchronous=OFF", "foreign_keys=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
                cursor.execute(f"PRAGMA {pragma}")
        else:
            cursor.execute("SET synchronous_commit = off")
    dropped = customer_bench.drop_secondary(tables)
    writer = customer_bench.Writer(TABLE_OF, COLUMNS_OF)
    generate_seconds = 0.0
    load_started = time.perf_counter()
    index_seconds: dict[str, float] = {}
    try:
        for batch in batches(CTX, args.batch, args.workers):
            writer.write(batch)
            generate_seconds += batch.seconds
            done = batch.hi - 1
            elapsed = time.perf_counter() - load_started
            print(
                f"  {done:>9,} tickets {writer.rows['event']:>11,} events  {elapsed:7.1f} s  "
                f"{done / elapsed:8,.0f} tickets/s",
                flush=True,
            )
    finally:
        load_seconds = time.perf_counter() - load_started
        started = time.perf_counter()
        customer_bench.rebuild(dropped, index_seconds)
        rebuild_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in tables:
                cursor.execute(f'PRAGMA foreign_key_check("{table}")')
                if cursor.fetchone():
                    raise SystemExit(f"{table}: rows point at missing rows")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        else:
            for table in tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                )
    check_seconds = time.perf_counter() - started
    for year, value in counters.items():
        CounterRow.objects.update_or_create(key=f"GD{year}", defaults={"value": value})
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for table in tables:
                cursor.execute(f'VACUUM (ANALYZE) "{table}"')
    analyze_seconds = time.perf_counter() - started
    total = time.perf_counter() - total_started

    print()
    print(f"{'table':<30} {'rows':>12} {'insert s':>9} {'rows/s':>10} {'index s':>8}")
    for key, model in TABLE_OF.items():
        table = model._meta.db_table
        rows, seconds = writer.rows[key], writer.seconds[key]
        print(
            f"{table:<30} {rows:>12,} {seconds:>9.1f} {rows / max(seconds, 1e-9):>10,.0f} "
            f"{index_seconds.get(table, 0.0):>8.1f}"
        )
    all_rows = sum(writer.rows.values())
    states = dict(Ticket.objects.values_list("state").annotate(n=models_count()).values_list("state", "n"))
    print(f"tickets by state: {', '.join(f'{s} {n:,}' for s, n in sorted(states.items()))}")
    print(f"counters: {', '.join(f'GD{y}={v:,}' for y, v in sorted(counters.items()))}")
    print(f"row generation (worker, overlapped with inserts): {generate_seconds:.1f} s")
    print(
        f"load {load_seconds:.1f} s, indexes/constraints {rebuild_seconds:.1f} s, "
        f"{'foreign-key check' if connection.vendor == 'sqlite' else 'sequences'} {check_seconds:.1f} s, "
        f"{'ANALYZE' if connection.vendor == 'sqlite' else 'VACUUM ANALYZE'} {analyze_seconds:.1f} s"
    )
    print(f"total {total:.1f} s for {all_rows:,} rows ({all_rows / total:,.0f} rows/s)")
    print(f"database size: {database_size() / 2**30:.2f} GiB")
    verify_sample(CTX)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
