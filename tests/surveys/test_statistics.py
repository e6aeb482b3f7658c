"""Monthly statistics on known data: per department, staff member and tier, trend, nominations."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.surveys import selectors, services
from kefu.surveys.models import SurveyAnswer, SurveyInvitation, SurveyResponse, SurveyTemplate
from tests.factories import make_customer
from tests.surveys.conftest import answers_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(
    users: dict[str, User],
    customer: Customer,
    general: SurveyTemplate,
    invite: Callable[..., SurveyInvitation],
) -> dict[str, Any]:
    """This month: the agent served 4 (answered with all ratings 5, 5 and 4; one open); the
    technician served 2 of a non-VIP customer (ratings all 5 and all 3). Last month: one more
    answered survey of the agent's, all ratings 1 (moved back after writing)."""
    agent, technician = users["agent"], users["technician"]
    member = make_customer(actor=users["manager"], name="王五会员", department=technician.department)
    for score in (5, 5, 4):
        services.survey_response_submit(
            invitation=invite(served_by=agent), answers=answers_for(general, score=score)
        )
    invite(served_by=agent)
    for score in (5, 3):
        services.survey_response_submit(
            invitation=invite(served_by=technician, customer=member, actor=users["manager"]),
            answers=answers_for(general, score=score),
        )
    old = invite(served_by=agent)
    services.survey_response_submit(invitation=old, answers=answers_for(general, score=4))
    this_month = selectors.this_month()
    last_month = selectors.add_months(this_month, -1)
    SurveyInvitation.objects.filter(pk=old.pk).update(month=last_month)
    SurveyResponse.objects.filter(invitation=old).update(month=last_month)
    SurveyAnswer.objects.filter(response__invitation=old).update(month=last_month)
    SurveyAnswer.objects.filter(response__invitation=old, score__isnull=False).update(score=1)
    return {"this": this_month, "last": last_month, "agent": agent, "technician": technician}


def by_key(rows: list[selectors.Figures]) -> dict[Any, selectors.Figures]:
    return {row.key: row for row in rows}


def test_figures_per_staff_member_for_a_month(users: dict[str, User], known: dict[str, Any]) -> None:
    rows = by_key(selectors.statistics_for_month(users["manager"], dimension="staff", month=known["this"]))
    agent, technician = rows[known["agent"].pk], rows[known["technician"].pk]
    assert (agent.invitations, agent.answered_of_sent, agent.responses) == (4, 3, 3)
    assert agent.response_rate == Decimal("75.0")
    assert (agent.ratings, agent.very_satisfied) == (9, 6)
    assert agent.very_satisfied_share == Decimal("66.7")
    assert agent.average_score == Decimal("4.67")  # (6 × 5 + 3 × 4) / 9
    assert (technician.invitations, technician.responses, technician.ratings, technician.very_satisfied) == (
        2,
        2,
        6,
        3,
    )
    assert technician.very_satisfied_share == Decimal("50.0") and technician.average_score == Decimal("4.00")
    assert technician.response_rate == Decimal("100.0")
    assert agent.label == str(known["agent"])


def test_figures_per_department_and_per_tier(users: dict[str, User], known: dict[str, Any]) -> None:
    departments = by_key(
        selectors.statistics_for_month(users["manager"], dimension="department", month=known["this"])
    )
    assert departments[known["agent"].department_id].ratings == 9
    assert departments[known["technician"].department_id].ratings == 6
    assert departments[known["agent"].department_id].label == "客服中心"
    tiers = by_key(selectors.statistics_for_month(users["manager"], dimension="tier", month=known["this"]))
    assert (tiers["A"].invitations, tiers["A"].very_satisfied) == (4, 6)
    assert (tiers[""].invitations, tiers[""].very_satisfied) == (2, 3)


def test_the_trend_covers_twelve_months_with_last_months_answers(
    users: dict[str, User], known: dict[str, Any]
) -> None:
    trend = selectors.statistics_trend(users["manager"], last_month=known["this"])
    assert len(trend) == 12 and trend[-1].month == known["this"] and trend[-2].month == known["last"]
    assert (trend[-1].responses, trend[-1].ratings, trend[-1].very_satisfied) == (5, 15, 9)
    assert (trend[-2].responses, trend[-2].ratings, trend[-2].very_satisfied) == (1, 3, 0)
    assert trend[-2].average_score == Decimal("1.00")
    assert all(f.responses == 0 and f.very_satisfied_share is None for f in trend[:-2])


def test_statistics_follow_the_data_scope(users: dict[str, User], known: dict[str, Any]) -> None:
    seen_by_agent = selectors.statistics_for_month(
        users["agent"], dimension="department", month=known["this"]
    )
    assert [row.key for row in seen_by_agent] == [known["agent"].department_id]
    seen_by_technician = selectors.statistics_for_month(
        users["technician"], dimension="staff", month=known["this"]
    )
    assert [row.key for row in seen_by_technician] == [known["technician"].pk]


def test_the_technicians_very_satisfied_share_for_rewards(known: dict[str, Any]) -> None:
    shares = selectors.staff_very_satisfied_share(month=known["this"])
    assert shares[known["technician"].pk].share == Decimal("50.0")
    assert shares[known["technician"].pk].responses == 2
    assert shares[known["agent"].pk].share == Decimal("66.7")
    only = selectors.staff_very_satisfied_share(month=known["this"], staff_ids=[known["technician"].pk])
    assert list(only) == [known["technician"].pk]


def test_nominations_follow_the_policy_in_force(users: dict[str, User], known: dict[str, Any]) -> None:
    policy = services.survey_policy_create(
        actor=users["manager"],
        data={
            "effective_from": timezone.localdate(),
            "nomination_min_responses": 2,
            "nomination_min_very_satisfied_percent": "50",
            "nomination_top": 1,
        },
    )
    result = selectors.excellent_staff_nominations(users["manager"], month=known["this"])
    assert result.policy == policy
    assert [(n.rank, n.staff, n.very_satisfied_share) for n in result.nominees] == [
        (1, known["agent"], Decimal("66.7"))
    ]
    services.survey_policy_create(
        actor=users["manager"],
        data={
            "effective_from": timezone.localdate(),
            "nomination_min_responses": 3,
            "nomination_min_very_satisfied_percent": "70",
            "nomination_top": 5,
        },
    )
    assert selectors.excellent_staff_nominations(users["manager"], month=known["this"]).nominees == []
