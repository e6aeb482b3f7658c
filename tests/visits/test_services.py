"""Working a return visit (SPEC §5): outcomes, retries, call-backs, answers, scores and what they raise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.core.models import Notification
from kefu.customers import services as customer_services
from kefu.customers.models import ContactRecord, Lifecycle
from kefu.tickets.models import Ticket, TicketKind
from kefu.visits import services
from kefu.visits.models import (
    EventKind,
    Outcome,
    RetryPolicy,
    Visit,
    VisitPurpose,
    VisitSource,
    VisitState,
)
from kefu.visits.services import AttemptInput, Issue
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db


def attempt(visit: Visit, actor: Any, outcome: str, **fields: Any) -> Visit:
    return services.visit_record_attempt(
        actor=actor, visit=Visit.objects.get(pk=visit.pk), data=AttemptInput(outcome=outcome, **fields)
    )


def reached(visit: Visit, actor: Any, **fields: Any) -> Visit:
    fields.setdefault("satisfaction", 5)
    fields.setdefault("answers", [{"question": "贵司对我司近期的产品和服务是否满意?", "answer": "满意"}])
    return attempt(visit, actor, Outcome.REACHED, **fields)


def test_visit_no_answer_twice_creates_callback_task(
    plan_visit: Any, users: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    visit = plan_visit()
    agent = users["agent"]
    visit = attempt(visit, agent, Outcome.NO_ANSWER)
    assert visit.state == VisitState.PLANNED and visit.attempts == 1
    assert visit.next_attempt_at > timezone.now() + dt.timedelta(minutes=59)
    assert visit.retry_policy == RetryPolicy.in_force()
    with django_capture_on_commit_callbacks(execute=True):
        visit = attempt(visit, agent, Outcome.BUSY)
    assert visit.state == VisitState.CALLBACK and visit.attempts == 2
    kinds = list(visit.events.values_list("kind", "outcome"))
    assert kinds[-3:] == [
        (EventKind.ATTEMPT, Outcome.NO_ANSWER),
        (EventKind.ATTEMPT, Outcome.BUSY),
        (EventKind.CALLBACK, ""),
    ]
    assert Notification.objects.filter(recipient=agent, url=f"/visits/{visit.pk}/").exists()


def test_retry_limit_follows_the_policy_in_force(plan_visit: Any, users: dict[str, Any]) -> None:
    services.retry_policy_create(
        actor=users["manager"],
        effective_from=dt.date.today(),
        attempts_before_callback=3,
        retry_delay_minutes=30,
    )
    visit = plan_visit()
    for _n in range(2):
        visit = attempt(visit, users["agent"], Outcome.NO_ANSWER)
    assert visit.state == VisitState.PLANNED
    assert attempt(visit, users["agent"], Outcome.NO_ANSWER).state == VisitState.CALLBACK


def test_reached_records_answers_score_and_a_contact_on_the_file(
    plan_visit: Any, users: dict[str, Any]
) -> None:
    visit = plan_visit()
    visit = reached(visit, users["agent"], summary="客户对设备运行满意")
    assert visit.state == VisitState.DONE and visit.satisfaction == 5
    assert visit.completed_by == users["agent"] and visit.completed_at is not None
    assert visit.answers == [{"question": "贵司对我司近期的产品和服务是否满意?", "answer": "满意"}]
    assert visit.issue_ticket is None
    record = ContactRecord.objects.get(customer=visit.customer)
    assert "客户对设备运行满意" in record.summary
    visit.customer.refresh_from_db()
    assert visit.customer.last_contact_at is not None


def test_reached_needs_a_satisfaction_score(plan_visit: Any, users: dict[str, Any]) -> None:
    visit = plan_visit()
    with pytest.raises(ValidationFailed) as caught:
        attempt(visit, users["agent"], Outcome.REACHED)
    assert "satisfaction" in caught.value.detail
    assert Visit.objects.get(pk=visit.pk).state == VisitState.PLANNED


def test_issue_raised_at_the_visit_opens_a_linked_ticket(plan_visit: Any, users: dict[str, Any]) -> None:
    visit = reached(
        plan_visit(),
        users["agent"],
        satisfaction=4,
        issue=Issue(subject="加药泵噪音偏大", description="客户希望安排技术员检查", kind=TicketKind.REPAIR),
    )
    ticket = visit.issue_ticket
    assert ticket is not None and ticket.kind == TicketKind.REPAIR and ticket.customer == visit.customer
    assert ticket.subject == "加药泵噪音偏大" and ticket.channel == "phone"


def test_dissatisfied_customer_raises_a_complaint_automatically(
    plan_visit: Any, users: dict[str, Any]
) -> None:
    visit = reached(plan_visit(), users["agent"], satisfaction=2, summary="送货太慢")
    assert visit.issue_ticket is not None and visit.issue_ticket.kind == TicketKind.COMPLAINT


def test_call_me_at_books_the_time(plan_visit: Any, users: dict[str, Any]) -> None:
    later = timezone.now() + dt.timedelta(days=1)
    visit = attempt(plan_visit(), users["agent"], Outcome.CALL_LATER, booked_at=later)
    assert visit.state == VisitState.SCHEDULED and visit.booked_at == later == visit.next_attempt_at
    with pytest.raises(ValidationFailed):
        attempt(plan_visit(), users["agent"], Outcome.CALL_LATER)


def test_wrong_number_ends_the_visit_and_takes_no_more_attempts(
    plan_visit: Any, users: dict[str, Any]
) -> None:
    visit = attempt(plan_visit(), users["agent"], Outcome.WRONG_NUMBER, note="空号")
    assert visit.state == VisitState.FAILED
    with pytest.raises(Conflict) as caught:
        attempt(visit, users["agent"], Outcome.NO_ANSWER)
    assert caught.value.code == "invalid_transition"


def test_done_visit_takes_no_more_attempts(plan_visit: Any, users: dict[str, Any]) -> None:
    visit = reached(plan_visit(), users["agent"])
    for outcome in Outcome.values:
        with pytest.raises(Conflict):
            attempt(visit, users["agent"], outcome, satisfaction=5)


def test_unknown_outcome_is_rejected(plan_visit: Any, users: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        attempt(plan_visit(), users["agent"], "hung_up")


@pytest.mark.parametrize("role", ["technician", "coordinator", "salesperson", "archive_specialist"])
def test_roles_without_visit_rights_cannot_work_a_visit(plan_visit: Any, make_user: Any, role: str) -> None:
    with pytest.raises(PermissionDenied):
        attempt(plan_visit(), make_user(role, department="centre"), Outcome.NO_ANSWER)


def test_leader_works_only_the_visits_given_to_him(plan_visit: Any, users: dict[str, Any]) -> None:
    others = plan_visit()
    own = plan_visit(assignee=users["leader"])
    assert list(Visit.objects.visible_to(users["leader"])) == [own]
    with pytest.raises(Exception) as caught:
        attempt(others, users["leader"], Outcome.NO_ANSWER)
    assert getattr(caught.value, "status", None) == 404
    assert reached(own, users["leader"]).state == VisitState.DONE


def test_agent_works_a_colleagues_visit_in_her_department(
    plan_visit: Any, make_user: Any, users: dict[str, Any]
) -> None:
    colleague = make_user("agent", department="centre")
    visit = plan_visit(assignee=colleague)
    assert attempt(visit, users["agent"], Outcome.NO_ANSWER).attempts == 1


def test_agent_of_another_department_cannot_see_the_visit(plan_visit: Any, make_user: Any) -> None:
    with pytest.raises(Exception) as caught:
        attempt(plan_visit(), make_user("agent", department="complaints"), Outcome.NO_ANSWER)
    assert getattr(caught.value, "status", None) == 404


def test_stale_version_loses_with_a_conflict(plan_visit: Any, users: dict[str, Any]) -> None:
    visit = plan_visit()
    version = visit.version
    attempt(visit, users["agent"], Outcome.NO_ANSWER)
    with pytest.raises(Conflict):
        services.visit_record_attempt(
            actor=users["supervisor"],
            visit=visit,
            data=AttemptInput(outcome=Outcome.REACHED, satisfaction=5),
            version=version,
        )


@pytest.mark.django_db(transaction=True)
def test_two_agents_reaching_one_visit_at_once_have_one_winner(
    plan_visit: Any, make_user: Any, users: dict[str, Any]
) -> None:
    visit = plan_visit()
    agents = [users["agent"], make_user("agent", department="centre")]
    outcomes: dict[int, str] = {}

    def work(agent: Any) -> None:
        try:
            services.visit_record_attempt(
                actor=agent,
                visit=Visit.objects.get(pk=visit.pk),
                data=AttemptInput(outcome=Outcome.REACHED, satisfaction=5),
                version=visit.version,
            )
            outcomes[agent.pk] = "won"
        except Conflict as exc:
            outcomes[agent.pk] = exc.code

    run_at_once(work, agents, timeout=30)
    assert sorted(outcomes.values()) == ["conflict", "won"]
    assert Visit.objects.get(pk=visit.pk).events.filter(kind=EventKind.ATTEMPT).count() == 1


def test_cancel_needs_the_planning_right_and_a_reason(plan_visit: Any, users: dict[str, Any]) -> None:
    visit = plan_visit()
    with pytest.raises(PermissionDenied):
        services.visit_transition(actor=users["agent"], visit=visit, action="cancel", note="重复")
    with pytest.raises(ValidationFailed):
        services.visit_transition(actor=users["supervisor"], visit=visit, action="cancel")
    visit = services.visit_transition(
        actor=users["supervisor"], visit=visit, action="cancel", note="客户已停产"
    )
    assert visit.state == VisitState.CANCELLED and visit.cancel_reason == "客户已停产"
    visit = services.visit_transition(
        actor=users["supervisor"], visit=visit, action="reopen", note="客户复产"
    )
    assert visit.state == VisitState.PLANNED
    with pytest.raises(Conflict):
        services.visit_transition(actor=users["supervisor"], visit=visit, action="reopen", note="再开")


def test_assign_needs_the_right_and_a_person_who_works_visits(
    plan_visit: Any, users: dict[str, Any], make_user: Any
) -> None:
    visit = plan_visit()
    other = make_user("agent", department="centre")
    with pytest.raises(PermissionDenied):
        services.visit_assign(actor=users["agent"], visit=visit, assignee=other)
    with pytest.raises(ValidationFailed):
        services.visit_assign(actor=users["supervisor"], visit=visit, assignee=users["technician"])
    visit = services.visit_assign(actor=users["supervisor"], visit=visit, assignee=other, note="分担")
    assert visit.assignee == other
    assert visit.events.filter(kind=EventKind.ASSIGNED, data__to=other.pk).exists()


def test_only_supervisors_and_managers_plan_visits_by_hand(plan_visit: Any, users: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        plan_visit(actor=users["agent"])
    visit = plan_visit(actor=users["manager"], source=VisitSource.SERVICE, reference="PG2026-0001")
    assert visit.source == VisitSource.SERVICE and visit.reference == "PG2026-0001"
    with pytest.raises(ValidationFailed):
        plan_visit(source=VisitSource.CADENCE)


def test_closed_complaint_plans_an_evaluation_now_and_a_follow_up_a_month_later(
    users: dict[str, Any], customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from kefu.tickets.services import TicketInput, ticket_create
    from kefu.tickets.signals import complaint_closed

    ticket = ticket_create(
        actor=users["manager"],
        data=TicketInput(
            assignee=users["complaint_specialist"],
            kind="complaint",
            channel="complaint_hotline",
            subject="技术员迟到",
            customer=customer,
        ),
    )
    closed_at = timezone.make_aware(dt.datetime(2026, 1, 31, 15, 0))
    for _twice in range(2):  # a signal sent twice plans nothing twice
        complaint_closed.send(sender=Ticket, ticket_id=ticket.pk, closed_at=closed_at)
    visits = {v.purpose: v for v in Visit.objects.filter(source_ticket=ticket)}
    assert set(visits) == {VisitPurpose.EVALUATION, VisitPurpose.FOLLOW_UP}
    assert visits[VisitPurpose.EVALUATION].due_on == dt.date(2026, 1, 31)
    assert visits[VisitPurpose.FOLLOW_UP].due_on == dt.date(2026, 2, 28)
    assert all(v.assignee == users["complaint_specialist"] for v in visits.values())
    assert visits[VisitPurpose.EVALUATION].reference == ticket.number


def test_purchase_plans_an_after_purchase_visit(
    users: dict[str, Any], customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        trade = customer_services.trade_record_create(
            actor=users["agent"], customer=customer, traded_on=dt.date.today(), kind="purchase", amount=1000
        )
    visit = Visit.objects.get(source=VisitSource.PURCHASE)
    assert visit.customer == customer and visit.reference == str(trade.pk)
    assert visit.due_on == dt.date.today() + dt.timedelta(days=3)


def test_lost_customer_gets_a_win_back_visit(
    users: dict[str, Any], customer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        customer_services.customer_update(
            actor=users["manager"],
            customer=customer,
            data={"lifecycle": Lifecycle.LOST, "lost_reason": "转向竞品"},
        )
    visit = Visit.objects.get(source=VisitSource.LOST)
    assert visit.purpose == VisitPurpose.WIN_BACK and visit.reference == "转向竞品"


def test_activity_is_a_done_visit_and_a_contact_record(users: dict[str, Any], customer: Any) -> None:
    visit = services.visit_record_activity(
        actor=users["agent"],
        customer=customer,
        purpose=VisitPurpose.NEWSLETTER,
        summary="寄送2026年第4期内刊",
        channel="letter",
    )
    assert visit.state == VisitState.DONE and visit.is_activity
    record = ContactRecord.objects.get(customer=customer)
    assert record.channel == "letter" and "第4期内刊" in record.summary
    with pytest.raises(ValidationFailed):
        services.visit_record_activity(
            actor=users["agent"], customer=customer, purpose=VisitPurpose.RETURN_VISIT, summary="x"
        )


def test_bulk_create_plans_one_visit_per_customer_of_the_list(users: dict[str, Any], make_vip: Any) -> None:
    from kefu.customers.models import Customer

    for tier in "ABC":
        make_vip(tier)
    customers = Customer.objects.visible_to(users["supervisor"]).filter(tier__in=["A", "B"])
    count = services.visits_bulk_create(
        actor=users["supervisor"],
        customers=customers,
        purpose=VisitPurpose.INVITATION,
        due_on=dt.date.today(),
    )
    assert count == 2
    assert Visit.objects.filter(source=VisitSource.BULK, assignee=users["agent"]).count() == 2
    with pytest.raises(PermissionDenied):
        services.visits_bulk_create(
            actor=users["agent"], customers=customers, purpose=VisitPurpose.BRIEFING, due_on=dt.date.today()
        )
    with pytest.raises(ValidationFailed):
        services.visits_bulk_create(
            actor=users["supervisor"], customers=customers, purpose="x", due_on=dt.date.today(), limit=1
        )


def test_bulk_assign_reports_each_visit(plan_visit: Any, users: dict[str, Any], make_user: Any) -> None:
    other = make_user("agent", department="centre")
    first, done = plan_visit(), plan_visit()
    reached(done, users["agent"])
    result = services.visits_bulk_assign(
        actor=users["supervisor"], visit_ids=[first.pk, done.pk], assignee=other
    )
    assert result.done == [first.pk] and list(result.failed) == [done.pk]


def test_cadence_policy_validation(users: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.cadence_policy_create(
            actor=users["manager"],
            effective_from=dt.date.today(),
            rules=[{"code": "centre", "role": "agent", "tiers": "", "every_months": 5}],
        )
    assert set(caught.value.detail) == {"rules.0.tiers", "rules.0.every_months"}
    with pytest.raises(PermissionDenied):
        services.cadence_policy_create(
            actor=users["supervisor"],
            effective_from=dt.date.today(),
            rules=[{"code": "centre", "role": "agent", "tiers": "A", "every_months": 1}],
        )


def test_script_is_edited_by_a_manager_only(users: dict[str, Any]) -> None:
    script = services.visit_script_save(
        actor=users["manager"],
        purpose=VisitPurpose.RETURN_VISIT,
        data={"questions": ["设备运行是否正常?", " "]},
    )
    assert script.questions == ["设备运行是否正常?"]
    with pytest.raises(PermissionDenied):
        services.visit_script_save(actor=users["supervisor"], purpose=VisitPurpose.RETURN_VISIT, data={})
