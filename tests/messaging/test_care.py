"""The daily member-care job: birthday and holiday greetings, once each, at the policy's time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kefu.core.models import CalendarDay, CalendarYear
from kefu.messaging import care, services
from kefu.messaging.models import Campaign, CampaignState, CarePolicy, Message, MessageStatus
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _next_june_15() -> dt.date:
    """A day to come (policies cannot take effect in the past) that is no holiday."""
    today = dt.date.today()
    return dt.date(today.year + (today >= dt.date(today.year, 6, 1)), 6, 15)


TODAY = _next_june_15()


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour, 0))


@pytest.fixture
def admin(make_user):
    return make_user("admin", is_superuser=True, username="root")


@pytest.fixture
def birthday_people(users):
    member = make_customer(
        actor=users["manager"],
        name="张桂兰",
        kind="person",
        phone="13955550001",
        birthday=dt.date(1960, TODAY.month, TODAY.day),
    )
    other = make_customer(
        actor=users["manager"],
        name="刘明",
        kind="person",
        phone="13955550002",
        birthday=dt.date(1970, TODAY.month, TODAY.day + 1),
    )
    company = make_customer(actor=users["manager"], name="恒丰纸业", phone="13955550003")
    contact = make_contact(
        actor=users["manager"],
        customer=company,
        name="赵丽",
        mobile="13955550004",
        birthday=dt.date(1985, TODAY.month, TODAY.day),
    )
    return member, other, contact


def test_birthday_greetings_go_to_todays_customers_and_contacts_with_the_gift_note(
    admin, birthday_people, recorder, django_capture_on_commit_callbacks
):
    _member, _other, contact = birthday_people
    with django_capture_on_commit_callbacks(execute=True):
        run = care.care_run_daily(now=at(TODAY, 10))
    assert run.ran and run.birthdays == 2
    messages = Message.objects.filter(source="birthday").order_by("id")
    assert [m.address for m in messages] == ["13955550001", "13955550004"]
    assert all(m.status == MessageStatus.SENT and m.purpose == "care" for m in messages)
    assert "领取生日礼品" in messages[0].body and "张桂兰" in messages[0].body
    assert messages[1].contact == contact and "赵丽" in messages[1].body


def test_re_running_the_daily_job_greets_nobody_twice(
    admin, birthday_people, recorder, django_capture_on_commit_callbacks
):
    for hour in (10, 11, 16):
        with django_capture_on_commit_callbacks(execute=True):
            care.care_run_daily(now=at(TODAY, hour))
    assert Message.objects.filter(source="birthday").count() == 2
    assert len(recorder.phones) == 2


def test_nothing_is_sent_before_the_policys_send_time(admin, birthday_people, recorder):
    run = care.care_run_daily(now=at(TODAY, 8))
    assert not run.ran and not Message.objects.exists()


def test_a_later_policy_version_moves_the_send_time(users, admin, birthday_people):
    services.care_policy_create(
        actor=users["manager"], data={"send_time": dt.time(11, 0), "effective_from": TODAY}
    )
    assert CarePolicy.in_force(TODAY).send_time == dt.time(11, 0)
    assert not care.care_run_daily(now=at(TODAY, 10)).ran
    assert care.care_run_daily(now=at(TODAY, 11)).ran


def test_policy_limited_to_tier_a_greets_only_tier_a(users, admin, birthday_people):
    _member, _other, _contact = birthday_people
    services.care_policy_create(
        actor=users["manager"], data={"tiers": "A", "birthday_contacts": False, "effective_from": TODAY}
    )
    care.care_run_daily(now=at(TODAY, 10))
    assert not Message.objects.exists()  # 张桂兰 is not a VIP


@pytest.fixture
def national_day():
    year, _ = CalendarYear.objects.get_or_create(year=2026)
    CalendarDay.objects.filter(date__range=(dt.date(2026, 10, 1), dt.date(2026, 10, 7))).delete()
    for offset in range(7):
        CalendarDay.objects.create(
            calendar_year=year,
            date=dt.date(2026, 10, 1) + dt.timedelta(days=offset),
            kind="holiday",
            name="国庆节",
        )
    return dt.date(2026, 10, 1)


def test_holiday_greeting_goes_out_once_on_the_first_day_of_the_holiday(
    users, admin, national_day, recorder, django_capture_on_commit_callbacks
):
    make_customer(actor=users["manager"], name="孙会员", kind="person", phone="13966660001")
    make_customer(actor=users["manager"], name="周会员", kind="person", phone="13966660002")
    for day in (national_day, national_day, national_day + dt.timedelta(days=1)):
        with django_capture_on_commit_callbacks(execute=True):
            care.care_run_daily(now=at(day, 10))
    [campaign] = Campaign.objects.filter(kind="holiday")
    assert campaign.source_key == "holiday:2026-10-01" and campaign.state == CampaignState.DONE
    assert campaign.sent_count == 2 and len(recorder.phones) == 2
    body = Message.objects.filter(campaign=campaign).first().body
    assert "国庆节快乐" in body


def test_no_holiday_greeting_on_an_ordinary_day(users, admin, national_day):
    make_customer(actor=users["manager"], name="孙会员", kind="person", phone="13966660001")
    care.care_run_daily(now=at(dt.date(2026, 9, 28), 10))
    assert not Campaign.objects.exists()
