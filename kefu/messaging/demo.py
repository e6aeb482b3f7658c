"""Demo member care: a finished notice campaign, a promotion awaiting approval, a paused one,
opt-outs (one by an SMS reply), and single messages sent by agents. Everything goes through the
services; SMS go to the log backend's outbox in the data dir, as they would in a fresh install."""

from __future__ import annotations

import random
from typing import Any

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.messaging import services
from kefu.messaging.models import CampaignState, MessageTemplate


class _NoWait(services.RateLimiter):
    """The demo sends its few messages at once, without the policy's pauses."""

    def acquire(self, wanted: int) -> int:
        return max(1, wanted)


def _send(campaign: Any, *, stop_after: int | None = None) -> None:
    from kefu.messaging.models import Message, MessageStatus

    ids = list(
        Message.objects.filter(campaign=campaign, status=MessageStatus.QUEUED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if stop_after is not None:
        ids = ids[:stop_after]
    if ids:
        services.campaign_send_chunk(
            campaign.pk, ids[0], ids[-1], limiter=_NoWait(per_second=1, per_minute=1)
        )


def load_messaging_demo(*, rng: random.Random, staff: dict[str, User], customers: list[Customer]) -> int:
    """Returns how many messages the send log holds afterwards."""
    from kefu.messaging.models import Message

    specialist, manager, agent = staff["archive_specialist"], staff["manager"], staff["agent"]
    email = services.template_save(
        actor=specialist,
        data={
            "name": "会员日邮件通知",
            "channel": "email",
            "purpose": "notice",
            "subject": "${name}，本月会员日安排",
            "body": "尊敬的${name}：\n本月会员日为${day}，届时会员购药享九折优惠，欢迎光临。\n客服中心",
        },
    )
    notice = MessageTemplate.objects.get(name="会员服务通知")
    promo = MessageTemplate.objects.get(name="促销活动通知")
    survey = MessageTemplate.objects.get(name="满意度调查")

    persons = [c for c in customers if c.kind == "person"]
    for customer in rng.sample(persons, min(3, len(persons))):
        services.opt_out_create(
            actor=specialist, customer=customer, channel="sms", note="客户来电要求不再接收短信"
        )
    if persons:
        services.opt_out_inbound_reply(phone=persons[-1].phone, text="退订")

    done = services.campaign_create(
        actor=specialist,
        name="A类客户会员服务通知",
        template=notice,
        filters={"tier": "A"},
        params={"notice": "您的专属客服经理已更新，服务热线不变。"},
    )
    done = services.campaign_transition(actor=specialist, campaign=done, action="submit")
    if done.state == CampaignState.AWAITING_APPROVAL:
        done = services.campaign_transition(actor=manager, campaign=done, action="approve", note="同意")
    done = services.campaign_transition(actor=specialist, campaign=done, action="start")
    _send(done)

    paused = services.campaign_create(
        actor=specialist,
        name="会员日提醒",
        template=notice,
        filters={"kind": "person"},
        params={"notice": "本周六为会员日，全场药品九折。"},
    )
    paused = services.campaign_transition(actor=specialist, campaign=paused, action="submit")
    if paused.state == CampaignState.AWAITING_APPROVAL:
        paused = services.campaign_transition(actor=manager, campaign=paused, action="approve")
    paused = services.campaign_transition(actor=specialist, campaign=paused, action="start")
    _send(paused, stop_after=max(1, paused.total_count // 2))
    services.campaign_transition(actor=specialist, campaign=paused, action="pause", note="等门店确认库存")

    promotion = services.campaign_create(
        actor=specialist,
        name="秋季店庆促销",
        template=promo,
        filters={"kind": "person"},
        params={"offer": "店庆期间保健品满200减30"},
    )
    services.campaign_transition(actor=specialist, campaign=promotion, action="submit")

    services.campaign_create(actor=specialist, name="会员日邮件", template=email, params={"day": "本月28日"})

    own = list(Customer.objects.visible_to(agent).order_by("id")[:200])
    for customer in rng.sample(own, min(5, len(own))):
        services.message_send(
            actor=agent,
            customer=customer,
            channel="sms",
            template=survey,
            params={"link": f"https://kefu.example.cn/s/{customer.pk}"},
            source="回访满意度",
        )
    return Message.objects.count()
