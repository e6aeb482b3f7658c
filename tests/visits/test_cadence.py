"""The tier cadence (SPEC §3): who visits which tiers how often, planned by the daily job."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kefu.customers import services as customer_services
from kefu.customers.models import Customer, Lifecycle
from kefu.visits import services
from kefu.visits.models import CadencePolicy, EventKind, Visit, VisitSource, VisitState
from tests.seeds import load_defaults
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 23)


def planned(customer: Customer) -> dict[str, Visit]:
    return {v.cadence_rule: v for v in Visit.objects.filter(customer=customer, source=VisitSource.CADENCE)}


def test_cadence_plans_the_centre_for_every_tier_the_leader_for_a_and_b_and_the_president_for_a(
    make_vip: Any, users: dict[str, Any]
) -> None:
    a, b, c, plain = make_vip("A"), make_vip("B"), make_vip("C"), make_vip("")
    result = services.visits_plan_due(today=NOV)
    assert result.rules == {"centre": 3, "leader": 2, "president": 1}
    assert set(planned(a)) == {"centre", "leader", "president"}
    assert set(planned(b)) == {"centre", "leader"}
    assert set(planned(c)) == {"centre"}
    assert planned(plain) == {}
    centre, leader, president = planned(a)["centre"], planned(a)["leader"], planned(a)["president"]
    assert (centre.due_on, centre.deadline) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert (leader.due_on, leader.deadline) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert (president.due_on, president.deadline) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    # The customer's owner (the manager) is no agent: an agent of the customer's department visits.
    assert centre.assignee == users["agent"] and centre.department == users["agent"].department
    assert leader.assignee == users["leader"] and president.assignee == users["president"]
    assert centre.cadence_policy == CadencePolicy.in_force(NOV) and centre.tier == "A"
    assert centre.state == VisitState.PLANNED


def test_cadence_gives_the_visit_to_the_customers_owner_when_the_owner_is_an_agent(
    make_vip: Any, make_user: Any
) -> None:
    own_agent = make_user("agent", department="centre")
    customer = make_vip("C", owner=own_agent)
    services.visits_plan_due(today=NOV)
    assert planned(customer)["centre"].assignee == own_agent


def test_cadence_leaves_the_visit_unassigned_when_the_department_has_no_agent(
    make_vip: Any, departments: dict[str, Any]
) -> None:
    customer = make_vip("C", department=departments["tech"])
    services.visits_plan_due(today=NOV)
    assert planned(customer)["centre"].assignee is None


def test_cadence_rerun_plans_nothing_twice(make_vip: Any) -> None:
    make_vip("A")
    make_vip("B")
    first = services.visits_plan_due(today=NOV)
    again = services.visits_plan_due(today=NOV + dt.timedelta(days=1))
    assert first.created == 5 and again.created == 0
    assert Visit.objects.count() == 5


def test_cadence_across_the_year_boundary_opens_new_periods_for_each_rule(make_vip: Any) -> None:
    customer = make_vip("A")
    services.visits_plan_due(today=dt.date(2026, 12, 15))
    services.visits_plan_due(today=dt.date(2027, 1, 4))
    periods = sorted(
        Visit.objects.filter(customer=customer).values_list("cadence_rule", "period_start", "deadline")
    )
    assert periods == [
        ("centre", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("centre", dt.date(2027, 1, 1), dt.date(2027, 1, 31)),
        ("leader", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("leader", dt.date(2027, 1, 1), dt.date(2027, 3, 31)),
        ("president", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
        ("president", dt.date(2027, 1, 1), dt.date(2027, 12, 31)),
    ]


def test_tier_change_cancels_the_visits_no_longer_due_and_plans_the_newly_due(
    make_vip: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_vip("C")
    services.visits_plan_due()
    assert set(planned(customer)) == {"centre"}
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.customer_set_tier(
            actor=users["manager"], customer=customer, tier="A", reason="品牌客户"
        )
    visits = planned(customer)
    assert set(visits) == {"centre", "leader", "president"}
    assert all(v.state == VisitState.PLANNED for v in visits.values())

    with django_capture_on_commit_callbacks(execute=True):
        customer_services.customer_set_tier(
            actor=users["manager"], customer=customer, tier="B", reason="降级"
        )
    visits = planned(customer)
    assert visits["president"].state == VisitState.CANCELLED
    assert "B" in visits["president"].cancel_reason
    assert visits["president"].events.filter(kind=EventKind.CANCELLED).exists()
    assert visits["leader"].state == visits["centre"].state == VisitState.PLANNED

    with django_capture_on_commit_callbacks(execute=True):
        customer_services.customer_set_tier(
            actor=users["manager"], customer=customer, tier="A", reason="恢复"
        )
    president = planned(customer)["president"]
    assert president.state == VisitState.PLANNED and president.cancel_reason == ""
    assert Visit.objects.filter(customer=customer).count() == 3


def test_daily_job_cancels_open_visits_of_a_customer_whose_tier_dropped_or_who_was_lost(
    make_vip: Any,
) -> None:
    dropped, lost = make_vip("A"), make_vip("C")
    services.visits_plan_due(today=NOV)
    # Changed behind the services' back (an import, a bulk fix): the job still catches up.
    Customer.objects.filter(pk=dropped.pk).update(tier="C")
    Customer.objects.filter(pk=lost.pk).update(lifecycle=Lifecycle.LOST)
    result = services.visits_plan_due(today=NOV)
    assert result.cancelled == 3 and result.created == 0
    assert planned(dropped)["centre"].state == VisitState.PLANNED
    assert planned(dropped)["leader"].state == VisitState.CANCELLED
    assert planned(lost)["centre"].state == VisitState.CANCELLED


def test_done_visit_is_not_cancelled_by_a_tier_change(
    make_vip: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    customer = make_vip("A")
    services.visits_plan_due()
    president = planned(customer)["president"]
    Visit.objects.filter(pk=president.pk).update(state=VisitState.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.customer_set_tier(
            actor=users["manager"], customer=customer, tier="C", reason="降级"
        )
    assert planned(customer)["president"].state == VisitState.DONE


def test_a_new_cadence_version_does_not_plan_a_period_twice(make_vip: Any, users: dict[str, Any]) -> None:
    customer = make_vip("B")
    today = dt.date.today()
    services.visits_plan_due(today=today)
    services.cadence_policy_create(
        actor=users["manager"],
        effective_from=dt.date.today(),
        rules=[
            {"code": "centre", "role": "agent", "tiers": "ABC", "every_months": 1},
            {"code": "leader", "role": "leader", "tiers": "A", "every_months": 6},
        ],
    )
    result = services.visits_plan_due(today=today)
    assert result.created == 0
    # B is no longer the leader's: its open leader visit of the period is cancelled.
    assert planned(customer)["leader"].state == VisitState.CANCELLED
    assert planned(customer)["centre"].state == VisitState.PLANNED


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_plan_each_visit_once(make_vip: Any) -> None:
    load_defaults("visits", unless_exists="CadencePolicy")
    for tier in "ABCABC":
        make_vip(tier)

    def run(_run: int) -> None:
        # Today, not NOV: creating the customers already planned this period's visits (tier
        # signal), and the job must meet those, not a past period's.
        services.visits_plan_due(today=timezone.localdate(), batch_size=2)

    errors = run_at_once(run, [1, 2])
    assert errors == []
    assert Visit.objects.count() == 12  # A: 3, B: 2, C: 1 rules, each customer twice over
    assert Visit.objects.values("dedupe_key").distinct().count() == 12
