"""Working hours and time limits are kept per process; a change is never missed nor leaked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from kefu.core import policy_cache
from kefu.core.models import WorkingHours
from kefu.tickets import sla
from kefu.tickets.models import SlaPolicy, SlaTarget
from tests.customers.conftest import count_queries

pytestmark = pytest.mark.django_db


def test_the_version_in_force_is_read_once_then_kept():
    first_count, first = count_queries(WorkingHours.in_force)
    again_count, again = count_queries(WorkingHours.in_force)
    assert first_count >= 1 and again_count == 0
    assert again is first


def test_time_limits_are_kept_with_their_targets():
    policy = sla.policy_in_force()
    assert policy is not None
    count, limits = count_queries(
        lambda: sla.limits_for(sla.policy_in_force(), kind="complaint", priority="high", tier="A")
    )
    assert count == 0 and limits.first_response_minutes > 0


def test_a_version_added_here_is_seen_at_once():
    WorkingHours.in_force()
    today = timezone.localdate()
    WorkingHours.objects.create(effective_from=today, morning_start=dt.time(8, 30))
    assert WorkingHours.in_force().morning_start == dt.time(8, 30)


def test_a_new_target_row_is_seen_at_once():
    policy = sla.policy_in_force()
    assert policy is not None
    before = sla.limits_for(policy, kind="suggestion", priority="low", tier="C")
    SlaTarget.objects.create(
        policy=policy,
        kind="suggestion",
        priority="low",
        tier="C",
        first_response_minutes=7,
        resolution_minutes=9,
    )
    after = sla.limits_for(sla.policy_in_force(), kind="suggestion", priority="low", tier="C")
    assert (
        (after.first_response_minutes, after.resolution_minutes)
        == (7, 9)
        != (
            before.first_response_minutes,
            before.resolution_minutes,
        )
    )


def test_a_version_from_a_rolled_back_transaction_is_never_kept():
    kept = WorkingHours.in_force()
    with pytest.raises(RuntimeError), transaction.atomic():
        WorkingHours.objects.create(effective_from=timezone.localdate(), morning_start=dt.time(7, 0))
        inside = WorkingHours.in_force()  # the transaction sees its own version …
        assert inside.morning_start == dt.time(7, 0)
        raise RuntimeError("the change is abandoned")
    after = WorkingHours.in_force()  # … and nobody keeps it after the rollback
    assert after.pk == kept.pk and WorkingHours.objects.filter(pk=after.pk).exists()


def test_a_transaction_that_changes_a_policy_reads_past_the_kept_copies_until_it_ends(
    django_capture_on_commit_callbacks,
):
    sla.policy_in_force()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        policy = SlaPolicy.objects.create(effective_from=timezone.localdate(), note="new")
        # The targets come after the version row: a copy kept in between would have none.
        assert sla.policy_in_force() == policy and not sla.policy_in_force().targets.all()
        SlaTarget.objects.bulk_create(
            [SlaTarget(policy=policy, first_response_minutes=11, resolution_minutes=22)]
        )
        assert len(sla.policy_in_force().targets.all()) == 1
    kept = sla.policy_in_force()
    assert kept == policy and [t.resolution_minutes for t in kept.targets.all()] == [22]
    assert count_queries(sla.policy_in_force)[0] == 0


def test_another_process_change_is_seen_after_the_refresh_time(monkeypatch):
    kept = WorkingHours.in_force()
    # Another app server adds a version: no signal reaches this process.
    WorkingHours.objects.bulk_create(
        [WorkingHours(effective_from=timezone.localdate(), morning_start=dt.time(8, 0))]
    )
    assert WorkingHours.in_force() is kept  # trusted until the refresh time …
    monkeypatch.setattr(policy_cache, "REFRESH_SECONDS", 0)
    assert WorkingHours.in_force().morning_start == dt.time(8, 0)  # … then the stamp tells
    unchanged_count, _ = count_queries(WorkingHours.in_force)
    assert unchanged_count == 1  # only the stamp, when nothing changed


def test_each_day_has_its_own_version():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    WorkingHours.objects.create(effective_from=tomorrow, morning_start=dt.time(10, 0))
    assert WorkingHours.in_force(tomorrow).morning_start == dt.time(10, 0)
    assert WorkingHours.in_force().morning_start != dt.time(10, 0)
