"""Campaigns: preview, approval, exactly-once sending across crashes, pause/resume, rate limit."""

from __future__ import annotations

from collections import Counter

import pytest

from kefu.core.errors import Conflict, PermissionDenied
from kefu.messaging import services
from kefu.messaging.models import Campaign, CampaignState, Message, MessageStatus, SkipReason
from tests.messaging.conftest import make_members

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(users):
    return make_members(users["manager"], 6, vip=True)


def ready(users, template, *, count_check=True, **filters):
    campaign = services.campaign_create(
        actor=users["archive_specialist"],
        name="取药提醒群发",
        template=template,
        filters={"kind": "person", **filters},
        params={"item": "秋季药品"},
    )
    campaign = services.campaign_transition(
        actor=users["archive_specialist"], campaign=campaign, action="submit"
    )
    if campaign.state == CampaignState.AWAITING_APPROVAL:
        campaign = services.campaign_transition(actor=users["manager"], campaign=campaign, action="approve")
    return campaign


def start(users, campaign, capture, *, execute=True):
    with capture(execute=execute):
        return services.campaign_transition(
            actor=users["archive_specialist"], campaign=campaign, action="start"
        )


def test_preview_counts_the_filtered_customers_and_renders_the_text(users, members, notice_template):
    make_members(users["manager"], 2, first=100)
    preview = services.campaign_preview(
        actor=users["archive_specialist"],
        template=notice_template,
        filters={"tier": "A", "kind": "person"},
        params={"item": "秋季药品"},
    )
    assert preview.count == 6
    assert preview.text.startswith("【康宁大药房】尊敬的会员000，您预订的秋季药品已到店")
    assert preview.segments == 1


def test_campaign_reaches_every_filtered_customer_once(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DONE
    assert (campaign.total_count, campaign.sent_count, campaign.percent) == (6, 6, 100)
    assert sorted(recorder.phones) == sorted(m.phone for m in members)


def test_promotion_by_the_archive_specialist_waits_for_a_managers_approval(users, members, promo_template):
    campaign = services.campaign_create(
        actor=users["archive_specialist"], name="店庆", template=promo_template, filters={"kind": "person"}
    )
    campaign = services.campaign_transition(
        actor=users["archive_specialist"], campaign=campaign, action="submit"
    )
    assert campaign.state == CampaignState.AWAITING_APPROVAL
    with pytest.raises(PermissionDenied):
        services.campaign_transition(actor=users["archive_specialist"], campaign=campaign, action="approve")
    with pytest.raises(Conflict):
        services.campaign_transition(actor=users["archive_specialist"], campaign=campaign, action="start")
    campaign = services.campaign_transition(actor=users["manager"], campaign=campaign, action="approve")
    assert campaign.state == CampaignState.APPROVED and campaign.approved_by == users["manager"]
    assert list(campaign.events.values_list("action", flat=True)) == ["create", "submit", "approve"]


def test_small_notice_campaign_needs_no_approval(users, members, notice_template):
    campaign = ready(users, notice_template)
    assert campaign.state == CampaignState.APPROVED
    assert campaign.events.filter(action="approve").count() == 0


def test_opted_out_no_mobile_and_duplicate_numbers_are_skipped_with_their_reason(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    services.opt_out_create(actor=users["archive_specialist"], customer=members[0], channel="sms")
    members[1].phone = "0571-88886666"
    members[1].save()
    members[3].phone = members[2].phone
    members[3].save()
    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks)
    reasons = dict(Message.objects.filter(campaign=campaign).values_list("customer_id", "skip_reason"))
    assert reasons[members[0].pk] == SkipReason.OPTED_OUT
    assert reasons[members[1].pk] == SkipReason.NO_ADDRESS
    assert SkipReason.DUPLICATE in (reasons[members[2].pk], reasons[members[3].pk])
    campaign.refresh_from_db()
    assert (campaign.skipped_count, campaign.sent_count) == (3, 3)
    assert len(recorder.phones) == 3 == len(set(recorder.phones))


def test_campaign_crashing_mid_send_resumes_without_sending_anyone_twice(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    recorder.fail_after = 2  # the send job dies (an exception in the worker) after two messages
    campaign = ready(users, notice_template)
    start(users, campaign, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENDING
    statuses = Counter(Message.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses == {MessageStatus.SENT: 2, MessageStatus.QUEUED: 4}
    assert len(recorder.phones) == 2
    recorder.fail_after = None
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_transition(actor=users["archive_specialist"], campaign=campaign, action="resume")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DONE and campaign.sent_count == 6
    assert sorted(recorder.phones) == sorted(m.phone for m in members)  # each exactly once


def test_rows_left_mid_call_by_a_killed_worker_are_failed_not_sent_again(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks, execute=False)
    stuck = Message.objects.filter(campaign=campaign).order_by("id").first()
    Message.objects.filter(pk=stuck.pk).update(status=MessageStatus.SENDING)  # the process died in the call
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_transition(actor=users["archive_specialist"], campaign=campaign, action="resume")
    stuck.refresh_from_db()
    assert stuck.status == MessageStatus.FAILED and (
        "not sent again" in stuck.error or "未再次发送" in stuck.error
    )
    assert stuck.address not in recorder.phones and len(recorder.phones) == 5


def test_running_a_chunk_twice_sends_nothing_more(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks)
    ids = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    Campaign.objects.filter(pk=campaign.pk).update(state=CampaignState.SENDING)
    assert services.campaign_send_chunk(campaign.pk, min(ids), max(ids)).sent == 0
    assert len(recorder.phones) == 6


def test_a_customer_cannot_get_the_same_campaign_twice_even_if_rows_are_written_again(
    users, members, notice_template, django_capture_on_commit_callbacks
):
    from django.db import IntegrityError, transaction

    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks, execute=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        services._write_recipients(campaign)
    assert Message.objects.filter(campaign=campaign).count() == 6


def test_pause_stops_sending_and_resume_sends_only_the_rest(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks, monkeypatch
):
    campaign = ready(users, notice_template)

    def pause_after_three(outcome):
        if outcome.sent == 3:
            services.campaign_transition(actor=users["archive_specialist"], campaign=campaign, action="pause")

    monkeypatch.setattr(services, "after_batch", pause_after_three)
    start(users, campaign, django_capture_on_commit_callbacks)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.PAUSED and campaign.sent_count == 3
    assert campaign.percent == 50
    monkeypatch.setattr(services, "after_batch", None)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_transition(actor=users["archive_specialist"], campaign=campaign, action="resume")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DONE and campaign.sent_count == 6
    assert len(recorder.phones) == 6 == len(set(recorder.phones))


def test_cancelling_a_paused_campaign_skips_the_rest(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks, execute=False)
    campaign = services.campaign_transition(
        actor=users["archive_specialist"], campaign=campaign, action="pause"
    )
    campaign = services.campaign_transition(
        actor=users["archive_specialist"], campaign=campaign, action="cancel"
    )
    assert campaign.state == CampaignState.CANCELLED and campaign.skipped_count == 6
    assert not Message.objects.filter(campaign=campaign, status=MessageStatus.QUEUED).exists()
    assert recorder.phones == []


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_keeps_to_the_messages_per_second(
    users, members, notice_template, recorder, django_capture_on_commit_callbacks
):
    clock = FakeClock()
    sent_at: list[float] = []
    original_send = recorder.send

    def timed_send(messages):
        sent_at.extend(clock.now for _m in messages)
        return original_send(messages)

    recorder.send = timed_send
    campaign = start(users, ready(users, notice_template), django_capture_on_commit_callbacks, execute=False)
    ids = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    limiter = services.RateLimiter(
        per_second=2, per_minute=100, clock=clock, sleep=clock.sleep, key="test-second"
    )
    services.campaign_send_chunk(campaign.pk, min(ids), max(ids), limiter=limiter)
    per_second = Counter(int(t) for t in sent_at)
    assert len(sent_at) == 6 and max(per_second.values()) == 2
    assert len(clock.slept) >= 2


def test_rate_limit_keeps_to_the_messages_per_minute():
    clock = FakeClock()
    clock.now = 60 * 1000.0
    limiter = services.RateLimiter(
        per_second=10, per_minute=3, clock=clock, sleep=clock.sleep, key="test-minute"
    )
    granted = [limiter.acquire(1) for _ in range(4)]
    assert granted == [1, 1, 1, 1]
    assert clock.now >= 60 * 1001  # the fourth waited for the next minute
