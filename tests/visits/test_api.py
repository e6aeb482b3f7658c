"""The visits API: lists and filters, working a visit, conflicts, bulk planning, statistics."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.visits import services
from kefu.visits.models import Visit, VisitState

pytestmark = pytest.mark.django_db

API = "/api/v1"


def post(client: Any, path: str, body: dict[str, Any]) -> Any:
    return client.post(API + path, json.dumps(body), content_type="application/json")


def test_agent_lists_her_due_visits_and_works_one_to_the_end(
    plan_visit: Any, users: dict[str, Any], api_as: Any
) -> None:
    visit = plan_visit()
    client = api_as(users["agent"])
    listing = client.get(API + "/visits", {"queue": "due"}).json()
    assert [item["id"] for item in listing["items"]] == [visit.pk] and listing["count"] == 1
    assert post(client, f"/visits/{visit.pk}/attempts", {"outcome": "no_answer"}).status_code == 201
    response = post(
        client,
        f"/visits/{visit.pk}/attempts",
        {
            "outcome": "reached",
            "satisfaction": 4,
            "answers": [{"question": "设备运行是否正常?", "answer": "正常"}],
            "issue": {"subject": "希望增加一次保养", "kind": "suggestion"},
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "reached"
    body = client.get(API + f"/visits/{visit.pk}").json()
    assert body["state"] == "done" and body["satisfaction"] == 4 and body["issue_ticket_id"]
    events = client.get(API + f"/visits/{visit.pk}/events").json()
    assert [e["outcome"] for e in events["items"] if e["kind"] == "attempt"] == ["no_answer", "reached"]


def test_stale_version_is_a_409_for_the_loser(plan_visit: Any, users: dict[str, Any], api_as: Any) -> None:
    visit = plan_visit()
    first = post(api_as(users["agent"]), f"/visits/{visit.pk}/attempts", {"outcome": "busy", "version": 1})
    second = post(
        api_as(users["supervisor"]),
        f"/visits/{visit.pk}/attempts",
        {"outcome": "reached", "satisfaction": 5, "version": 1},
    )
    assert first.status_code == 201 and second.status_code == 409
    assert second.json()["code"] == "conflict"


def test_reached_without_score_is_a_400_naming_the_field(
    plan_visit: Any, users: dict[str, Any], api_as: Any
) -> None:
    response = post(api_as(users["agent"]), f"/visits/{plan_visit().pk}/attempts", {"outcome": "reached"})
    assert response.status_code == 400 and "satisfaction" in response.json()["detail"]


def test_visit_outside_the_scope_is_a_404(plan_visit: Any, make_user: Any, api_as: Any) -> None:
    stranger = make_user("agent", department="complaints")
    assert api_as(stranger).get(API + f"/visits/{plan_visit().pk}").status_code == 404


def test_bulk_create_previews_the_count_then_plans(users: dict[str, Any], make_vip: Any, api_as: Any) -> None:
    for tier in "AAB":
        make_vip(tier)
    client = api_as(users["supervisor"])
    body = {"tier": "A", "purpose": "invitation", "due_on": dt.date.today().isoformat(), "preview": True}
    assert post(client, "/visits/bulk/create", body).json() == {"count": 2, "created": 0}
    assert Visit.objects.count() == 0
    body["preview"] = False
    assert post(client, "/visits/bulk/create", body).json() == {"count": 2, "created": 2}
    assert Visit.objects.filter(purpose="invitation").count() == 2


def test_stats_give_completion_per_person_and_tier(
    plan_visit: Any, users: dict[str, Any], api_as: Any
) -> None:
    today = dt.date.today()
    done, _open = plan_visit(due_on=today), plan_visit(due_on=today)
    services.visit_record_attempt(
        actor=users["agent"], visit=done, data=services.AttemptInput(outcome="reached", satisfaction=5)
    )
    body = (
        api_as(users["manager"]).get(API + "/visits/stats", {"year": today.year, "month": today.month}).json()
    )
    assert body["people"] == [
        {"key": str(users["agent"].pk), "label": str(users["agent"]), "due": 2, "done": 1, "rate": 50.0}
    ]
    assert body["tiers"][0]["rate"] == 50.0


def test_visit_list_query_count_does_not_grow_with_rows(
    plan_visit: Any, users: dict[str, Any], api_as: Any
) -> None:
    client = api_as(users["supervisor"])
    plan_visit()
    client.get(API + "/visits")
    with CaptureQueriesContext(connection) as few:
        client.get(API + "/visits")
    for _n in range(5):
        plan_visit()
    with CaptureQueriesContext(connection) as many:
        assert client.get(API + "/visits").json()["count"] == 6
    assert len(many) == len(few)


def test_cancel_then_reopen_through_the_api(plan_visit: Any, users: dict[str, Any], api_as: Any) -> None:
    visit = plan_visit()
    client = api_as(users["supervisor"])
    assert post(client, f"/visits/{visit.pk}/cancel", {}).status_code == 400
    assert post(client, f"/visits/{visit.pk}/cancel", {"note": "客户停产"}).json()["state"] == "cancelled"
    assert post(client, f"/visits/{visit.pk}/reopen", {"note": "复产"}).json()["state"] == VisitState.PLANNED


def test_new_cadence_version_through_the_api(users: dict[str, Any], api_as: Any) -> None:
    client = api_as(users["manager"])
    body = {
        "effective_from": dt.date.today().isoformat(),
        "rules": [{"code": "centre", "role": "agent", "tiers": "AB", "every_months": 2}],
    }
    assert post(client, "/visit-policies/cadence", body).status_code == 201
    current = client.get(API + "/visit-policies/cadence/current").json()
    assert current["rules"] == [{"code": "centre", "role": "agent", "tiers": "AB", "every_months": 2}]
