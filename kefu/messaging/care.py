"""The daily member-care job (SPEC §2, `004` 档案资料专员 职责三): birthday greetings with the
gift-pickup note, and holiday greetings from the holiday calendar.

Idempotent: each birthday greeting carries the key "birthday:<date>:<customer|contact>:<id>" and
each holiday campaign the key "holiday:<first day>", so a re-run the same day (or a second worker)
greets nobody twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from kefu.accounts.models import User
from kefu.core.models import CalendarDay
from kefu.customers.models import Contact, Customer, CustomerKind, Lifecycle
from kefu.messaging import services
from kefu.messaging.models import (
    Campaign,
    CampaignKind,
    CampaignState,
    CarePolicy,
    Channel,
    HolidayGreeting,
    Purpose,
)


@dataclass
class CareRun:
    ran: bool = False
    birthdays: int = 0
    holiday_campaigns: list[str] = field(default_factory=list)
    reason: str = ""


def _system_user() -> User | None:
    return User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()


def _tier_q(policy: CarePolicy, prefix: str = "") -> Q:
    condition = Q(**{f"{prefix}lifecycle__in": [Lifecycle.OPENED, Lifecycle.PURCHASING, Lifecycle.POTENTIAL]})
    tiers = policy.tier_list
    if tiers:
        condition &= Q(**{f"{prefix}tier__in": ["" if t == "none" else t for t in tiers]})
    if policy.members_only:
        condition &= Q(**{f"{prefix}kind": CustomerKind.PERSON})
    return condition


def _birthday_mmdd(today: dt.date) -> list[str]:
    days = [today.strftime("%m%d")]
    if today.month == 3 and today.day == 1:
        try:
            dt.date(today.year, 2, 29)
        except ValueError:  # 29 February birthdays are greeted on 1 March in common years
            days.append("0229")
    return days


def birthdays_send(*, today: dt.date, policy: CarePolicy, actor: User | None) -> int:
    template = policy.birthday_template
    if not policy.birthday_enabled or template is None or not template.active:
        return 0
    mmdd = _birthday_mmdd(today)
    sent = 0
    params = {"gift": policy.gift_note}
    for customer in Customer.objects.filter(_tier_q(policy), birthday_mmdd__in=mmdd).order_by("id"):
        services.message_send(
            actor=actor,
            customer=customer,
            channel=Channel.SMS,
            template=template,
            params=params,
            purpose=Purpose.CARE,
            source="birthday",
            dedupe_key=f"birthday:{today:%Y%m%d}:customer:{customer.pk}",
            skip_permission=True,
        )
        sent += 1
    if policy.birthday_contacts:
        contacts = Contact.objects.filter(
            _tier_q(policy, "customer__"), birthday_mmdd__in=mmdd
        ).select_related("customer")
        for contact in contacts.order_by("id"):
            services.message_send(
                actor=actor,
                customer=contact.customer,
                contact=contact,
                channel=Channel.SMS,
                template=template,
                params=params,
                purpose=Purpose.CARE,
                source="birthday",
                dedupe_key=f"birthday:{today:%Y%m%d}:contact:{contact.pk}",
                skip_permission=True,
            )
            sent += 1
    return sent


def holidays_starting(day: dt.date) -> list[tuple[str, dt.date]]:
    """Holidays of the calendar whose first day is `day` (a run of holiday days with one name)."""
    today = CalendarDay.objects.filter(date=day, kind=CalendarDay.Kind.HOLIDAY).first()
    if today is None or not today.name:
        return []
    before = CalendarDay.objects.filter(
        date=day - dt.timedelta(days=1), kind=CalendarDay.Kind.HOLIDAY, name=today.name
    ).exists()
    return [] if before else [(today.name, day)]


def holiday_campaigns(*, today: dt.date, policy: CarePolicy, actor: User) -> list[Campaign]:
    if not policy.holiday_enabled:
        return []
    started = []
    for name, first_day in holidays_starting(today + dt.timedelta(days=policy.holiday_days_before)):
        greeting = (
            HolidayGreeting.objects.filter(holiday_name=name, active=True).select_related("template").first()
        )
        if greeting is None or not greeting.template.active:
            continue
        key = f"holiday:{first_day.isoformat()}"
        campaign = Campaign.objects.filter(source_key=key).first()
        if campaign is None:
            filters: dict[str, Any] = {}
            tiers = policy.tier_list
            if len(tiers) == 1:
                filters["tier"] = tiers[0]
            if policy.members_only:
                filters["kind"] = CustomerKind.PERSON
            campaign = services.campaign_create(
                actor=actor,
                name=f"{first_day.year}{name}祝福",
                template=greeting.template,
                filters=filters,
                params={"holiday": name},
                kind=CampaignKind.HOLIDAY,
                source_key=key,
                skip_permission=True,
            )
        if campaign.state == CampaignState.DRAFT:
            # The policy is the manager's approval of the daily greetings: they go out on their own.
            campaign.state = CampaignState.APPROVED
            campaign.approved_at = timezone.now()
            campaign.save(update_fields=["state", "approved_at"])
        if campaign.state == CampaignState.APPROVED:
            campaign = services.campaign_transition(
                actor=actor, campaign=campaign, action="start", note="daily member-care job"
            )
        started.append(campaign)
    return started


def care_run_daily(*, now: dt.datetime | None = None) -> CareRun:
    """Greet today's birthdays and holidays once the policy's send time has come."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.date()
    policy = CarePolicy.in_force(today)
    if local.time() < policy.send_time:
        return CareRun(reason="before send time")
    actor = _system_user()
    if actor is None:
        return CareRun(reason="no administrator to act as")
    run = CareRun(ran=True)
    run.birthdays = birthdays_send(today=today, policy=policy, actor=actor)
    run.holiday_campaigns = [c.number for c in holiday_campaigns(today=today, policy=policy, actor=actor)]
    return run
