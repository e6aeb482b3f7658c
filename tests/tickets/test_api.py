"""The tickets' JSON API at /api/v1/: answers, errors ({"code","message","detail"}), nothing half-written."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.core.models import Notification
from kefu.core.notifications import notify
from kefu.tickets import services
from kefu.tickets.models import (
    AfterSalesCase,
    ApprovalState,
    CannedReply,
    ComplaintCategory,
    EventKind,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketState,
)
from tests.customers.conftest import API, assert_api_error, count_queries
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def post(client: Any, path: str, body: Any = None) -> Any:
    return client.post(
        API + path, json.dumps(body if body is not None else {}), content_type="application/json"
    )


def patch(client: Any, path: str, body: Any) -> Any:
    return client.patch(API + path, json.dumps(body), content_type="application/json")


def get(client: Any, path: str, params: dict[str, Any] | None = None) -> Any:
    return client.get(API + path, params or {})


INQUIRY = {"kind": "inquiry", "channel": "hotline", "subject": "咨询滤芯更换周期"}


def _later(hours: int = 4) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).isoformat()


# --- create ------------------------------------------------------------------------------------------


def test_create_opens_a_ticket_with_number_deadlines_and_the_caller_as_creator(users, api_as, customer):
    response = post(
        api_as(users["agent"]),
        "/tickets",
        {
            **INQUIRY,
            "customer_id": customer.pk,
            "contact_name": "王先生",
            "contact_phone": "138-1234-5678",
            "place": "杭州萧山厂区",
            "callback_due_at": _later(),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("GD") and body["state"] == "open"
    assert body["customer"]["id"] == customer.pk and body["created_by"]["id"] == users["agent"].pk
    assert body["sla"]["first_response_due_at"] and body["sla"]["resolution_due_at"]
    assert body["sla"]["status"] == "ok" and body["complaint"] is None and body["after_sales"] is None
    stored = Ticket.objects.get(pk=body["id"])
    assert stored.contact_phone == "13812345678" and stored.place == "杭州萧山厂区"
    assert "claim" in {action["action"] for action in body["actions"]}


@pytest.mark.parametrize("kind", ["inquiry", "complaint"])
def test_create_is_the_hot_write_path_and_stays_lean(
    users, api_as, customer, kind, django_capture_on_commit_callbacks
):
    """Token, its owner, customer, number, ticket, timeline (and step 1), operation log: nothing read twice."""
    client = api_as(users["agent"])
    body = {**INQUIRY, "kind": kind, "customer_id": customer.pk}
    with django_capture_on_commit_callbacks(execute=True):  # rights and policies kept, as on a server
        assert post(client, "/tickets", body).status_code == 201
    with CaptureQueriesContext(connection) as context:
        response = post(client, "/tickets", body)
    assert response.status_code == 201, response.content
    statements = [
        query["sql"]
        for query in context.captured_queries
        if not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) <= (8 if kind == "complaint" else 7), "\n".join(sql[:90] for sql in statements)
    if kind == "complaint":
        assert [step["step"] for step in response.json()["complaint"]["steps"]] == [1]


def test_create_with_an_answer_closes_the_ticket_at_once(users, api_as):
    response = post(api_as(users["agent"]), "/tickets", {**INQUIRY, "answer": "每三个月更换一次滤芯"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "closed" and body["answered_on_first_contact"] is True
    assert body["resolution"] == "每三个月更换一次滤芯" and body["assignee"]["id"] == users["agent"].pk


def test_create_an_after_sales_case_records_its_details(users, api_as):
    response = post(
        api_as(users["agent"]),
        "/tickets",
        {
            "kind": "after_sales",
            "channel": "wangwang",
            "subject": "收到的水杯有裂纹，要求换货",
            "after_sales": {
                "case_type": "exchange",
                "order_number": "TB20261122001",
                "quality_problem": True,
                "exchange_item": "同款蓝色水杯",
            },
        },
    )
    assert response.status_code == 201, response.content
    case = response.json()["after_sales"]
    assert case["case_type"] == "exchange" and case["order_number"] == "TB20261122001"
    assert case["quality_problem"] is True and case["shop_pays_shipping"] is True
    assert AfterSalesCase.objects.get(ticket_id=response.json()["id"]).exchange_item == "同款蓝色水杯"


def test_a_complaint_starts_at_step_two_with_the_intake_recorded(users, api_as):
    response = post(
        api_as(users["complaint_specialist"]),
        "/tickets",
        {
            "kind": "complaint",
            "channel": "complaint_hotline",
            "subject": "上门维修人员态度差",
            "severity": "serious",
            "apologised": True,
        },
    )
    assert response.status_code == 201, response.content
    complaint = response.json()["complaint"]
    assert complaint["step"] == 2 and complaint["approval_state"] == ""
    assert [step["step"] for step in complaint["steps"]] == [1]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({**INQUIRY, "kind": "gossip"}, "kind", id="unknown kind"),
        pytest.param({**INQUIRY, "channel": "pigeon"}, "channel", id="unknown channel"),
        pytest.param({**INQUIRY, "subject": ""}, "subject", id="empty subject"),
        pytest.param({**INQUIRY, "subject": "   "}, "subject", id="blank subject"),
        pytest.param({**INQUIRY, "contact_phone": "12345"}, "contact_phone", id="bad phone"),
        pytest.param({**INQUIRY, "contact_email": "x@"}, "contact_email", id="bad email"),
        pytest.param({**INQUIRY, "contact_qq": "qq123"}, "contact_qq", id="qq not digits"),
        pytest.param({**INQUIRY, "customer_id": 999999}, "customer_id", id="unknown customer"),
        pytest.param({**INQUIRY, "assignee_id": 999999}, "assignee_id", id="unknown assignee"),
        pytest.param({**INQUIRY, "group_id": 999999}, "group_id", id="unknown group"),
        pytest.param({**INQUIRY, "occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at", id="year 1"),
        pytest.param({**INQUIRY, "occurred_at": _later(48)}, "occurred_at", id="event in the future"),
        pytest.param(
            {"kind": "complaint", "channel": "phone", "subject": "投诉", "answer": "已处理"},
            "answer",
            id="complaint answered on the call",
        ),
        pytest.param(
            {"kind": "after_sales", "channel": "wechat", "subject": "退货"},
            "after_sales.case_type",
            id="after-sales without its type",
        ),
        pytest.param(
            {**INQUIRY, "after_sales": {"case_type": "refund"}}, "after_sales", id="after-sales on an inquiry"
        ),
        pytest.param({**INQUIRY, "priority": "whenever"}, "priority", id="unknown priority"),
    ],
)
def test_create_with_bad_input_is_400_naming_the_field_and_writes_nothing(users, api_as, payload, field):
    response = post(api_as(users["manager"]), "/tickets", payload)
    assert_api_error(response, 400, code="validation_failed", field=field)
    assert not Ticket.objects.exists() and not TicketEvent.objects.exists()


def test_create_with_a_body_that_is_not_json_is_a_clear_400(users, api_as):
    response = api_as(users["agent"]).post(API + "/tickets", "{not json", content_type="application/json")
    assert_api_error(response, 400)


def test_create_with_a_customer_outside_the_scope_is_refused(users, api_as, make_user):
    stranger = make_customer(actor=make_user("agent", department="tech"), department=None)
    response = post(api_as(users["agent"]), "/tickets", {**INQUIRY, "customer_id": stranger.pk})
    assert_api_error(response, 400, field="customer_id")
    assert not Ticket.objects.exists()


def test_role_without_the_right_cannot_open_tickets(users, api_as):
    response = post(api_as(users["technician"]), "/tickets", INQUIRY)
    assert_api_error(response, 403, code="permission_denied")
    assert not Ticket.objects.exists()


def test_an_agent_cannot_hand_a_new_ticket_to_someone_else(users, api_as):
    response = post(api_as(users["agent"]), "/tickets", {**INQUIRY, "assignee_id": users["supervisor"].pk})
    assert_api_error(response, 403)
    assert not Ticket.objects.exists()


# --- list ---------------------------------------------------------------------------------------------


def test_list_filters_by_kind_state_priority_and_queue(users, api_as, open_ticket):
    inquiry = open_ticket(priority="high")
    complaint = open_ticket(kind="complaint", subject="投诉送货延误")
    closed = open_ticket(answer="已答复")
    client = api_as(users["agent"])

    def ids(**params: Any) -> list[int]:
        response = get(client, "/tickets", params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [closed.pk, complaint.pk, inquiry.pk]
    assert ids(kind="complaint") == [complaint.pk]
    assert ids(state="closed") == [closed.pk]
    assert ids(priority="high") == [inquiry.pk]
    assert ids(queue="unassigned") == [complaint.pk, inquiry.pk]
    assert ids(queue="mine") == []
    assert ids(q="送货") == [complaint.pk]
    assert ids(q=complaint.number) == [complaint.pk]
    assert ids(sort="oldest") == [inquiry.pk, complaint.pk, closed.pk]
    assert ids(created_from=timezone.localdate().isoformat(), limit=1, offset=1) == [complaint.pk]
    assert ids(created_to=(timezone.localdate() - dt.timedelta(days=1)).isoformat()) == []
    assert get(client, "/tickets", {"limit": 1}).json()["count"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "gossip"},
        {"queue": "everything"},
        {"sort": "random"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"created_from": "not a date"},
        {"created_to": "9999-12-31"},
        {"assignee": 2**64},
        {"q": "x" * 101},
    ],
    ids=lambda p: next(iter(p)),
)
def test_list_with_a_bad_filter_is_400(users, api_as, params):
    assert_api_error(get(api_as(users["agent"]), "/tickets", params), 400, code="validation_failed")


def test_list_only_shows_tickets_in_the_callers_data_scope(users, api_as, open_ticket, make_user):
    own = open_ticket()
    open_ticket(actor=make_user("agent", department="tech"), customer=None)
    assert [item["id"] for item in get(api_as(users["agent"]), "/tickets").json()["items"]] == [own.pk]
    assert get(api_as(users["manager"]), "/tickets").json()["count"] == 2


def test_list_query_count_does_not_grow_with_rows(users, api_as, open_ticket, make_user, centre_group):
    client = api_as(users["supervisor"])
    open_ticket(assignee=users["agent"], contact_phone="13812345678")
    open_ticket(kind="complaint", group=centre_group)

    def listing() -> Any:
        return get(client, "/tickets", {"limit": 100})

    listing()  # warm caches (content types, permissions) that a real server keeps between requests
    few, response = count_queries(listing)
    assert response.json()["count"] == 2
    for n in range(6):
        customer = make_customer(actor=users["manager"], department=users["agent"].department)
        assignee = make_user("agent")
        open_ticket(
            actor=users["supervisor"],
            customer=customer,
            assignee=assignee,
            group=centre_group,
            contact_phone=f"1391234567{n}",
        )
    many, response = count_queries(listing)
    assert response.json()["count"] == 8
    assert many <= few, (few, many)


def test_agent_sees_the_contact_phone_masked_and_the_manager_in_full(users, api_as, open_ticket):
    ticket = open_ticket(contact_phone="13812345678")
    agent, manager = api_as(users["agent"]), api_as(users["manager"])
    assert get(agent, "/tickets").json()["items"][0]["contact_phone"] == "138****5678"
    assert get(agent, f"/tickets/{ticket.pk}").json()["contact_phone"] == "138****5678"
    assert get(manager, "/tickets").json()["items"][0]["contact_phone"] == "13812345678"
    assert get(manager, f"/tickets/{ticket.pk}").json()["contact_phone"] == "13812345678"


def test_unmasked_phones_are_written_to_the_access_log(users, api_as, open_ticket):
    from kefu.core.models import SensitiveAccess

    ticket = open_ticket(contact_phone="13812345678")
    get(api_as(users["agent"]), f"/tickets/{ticket.pk}")
    assert not SensitiveAccess.objects.exists()
    get(api_as(users["manager"]), f"/tickets/{ticket.pk}")
    access = SensitiveAccess.objects.get()
    assert (access.actor, access.object_type, access.object_id) == (users["manager"], "ticket", ticket.pk)


# --- detail, update -----------------------------------------------------------------------------------


def test_detail_shows_deadlines_and_what_the_reader_may_do(users, api_as, open_ticket):
    ticket = open_ticket()
    body = get(api_as(users["supervisor"]), f"/tickets/{ticket.pk}").json()
    assert body["sla"]["policy_id"] == ticket.sla_policy_id
    assert body["sla"]["next_deadline_at"] is not None and body["sla"]["remaining_minutes"] > 0
    actions = {action["action"]: action for action in body["actions"]}
    assert {"claim", "assign", "wait", "resolve", "close"} <= set(actions)
    assert actions["resolve"]["needs_note"] is True and actions["close"]["allowed"] is True
    agent_actions = {
        a["action"] for a in get(api_as(users["agent"]), f"/tickets/{ticket.pk}").json()["actions"]
    }
    assert "assign" not in agent_actions


def test_detail_of_a_complaint_tells_why_it_cannot_close_yet(users, api_as, open_ticket):
    ticket = open_ticket(kind="complaint")
    actions = {a["action"]: a for a in get(api_as(users["agent"]), f"/tickets/{ticket.pk}").json()["actions"]}
    assert actions["close"]["allowed"] is False and actions["close"]["reason"]


@pytest.mark.parametrize("ticket_id", [999999, 2**63 - 1, 2**70])
def test_unknown_ticket_is_404(users, api_as, ticket_id):
    assert_api_error(get(api_as(users["manager"]), f"/tickets/{ticket_id}"), 404)


def test_ticket_outside_the_data_scope_is_404_for_reading_and_writing(users, api_as, open_ticket, make_user):
    ticket = open_ticket(actor=make_user("agent", department="tech"), customer=None)
    client = api_as(users["agent"])
    assert_api_error(get(client, f"/tickets/{ticket.pk}"), 404)
    assert_api_error(post(client, f"/tickets/{ticket.pk}/claim"), 404)
    assert_api_error(post(client, f"/tickets/{ticket.pk}/replies", {"body": "您好"}), 404)
    assert_api_error(patch(client, f"/tickets/{ticket.pk}", {"subject": "改"}), 404)
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.events.count() == 1


def test_update_changes_the_details_and_bumps_the_version(users, api_as, open_ticket):
    ticket = open_ticket()
    response = patch(
        api_as(users["agent"]),
        f"/tickets/{ticket.pk}",
        {"priority": "urgent", "contact_phone": "021-6288 8888", "place": None, "version": ticket.version},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["priority"] == "urgent" and body["version"] == ticket.version + 1
    ticket.refresh_from_db()
    assert ticket.contact_phone == "02162888888"
    assert ticket.events.filter(kind=EventKind.SLA).exists()


def test_update_with_a_stale_version_is_409_and_changes_nothing(users, api_as, open_ticket):
    ticket = open_ticket()
    client = api_as(users["agent"])
    assert patch(client, f"/tickets/{ticket.pk}", {"subject": "第一次", "version": 1}).status_code == 200
    response = patch(client, f"/tickets/{ticket.pk}", {"subject": "第二次", "version": 1})
    assert_api_error(response, 409, code="conflict")
    assert Ticket.objects.get(pk=ticket.pk).subject == "第一次"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"subject": ""}, "subject"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"callback_due_at": "2001-01-01T08:00:00+08:00"}, "callback_due_at"),
        ({"version": 0}, "version"),
    ],
)
def test_update_with_bad_input_is_400(users, api_as, open_ticket, payload, field):
    ticket = open_ticket()
    response = patch(api_as(users["agent"]), f"/tickets/{ticket.pk}", payload)
    assert_api_error(response, 400, field=field)
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_role_that_may_only_read_cannot_update(users, api_as, open_ticket):
    ticket = open_ticket()
    response = patch(api_as(users["leader"]), f"/tickets/{ticket.pk}", {"subject": "改"})
    assert_api_error(response, 403)


# --- timeline -----------------------------------------------------------------------------------------


def test_reply_note_and_call_land_on_the_timeline_in_order(users, api_as, open_ticket):
    ticket = open_ticket()
    client = api_as(users["agent"])
    for kind, body in (("note", "客户情绪平稳"), ("reply", "您好，已为您查询"), ("call", "电话确认地址")):
        response = post(client, f"/tickets/{ticket.pk}/replies", {"kind": kind, "body": body})
        assert response.status_code == 201, response.content
        assert response.json()["kind"] == kind and response.json()["actor"]["id"] == users["agent"].pk
    page = get(client, f"/tickets/{ticket.pk}/events", {"limit": 2, "offset": 1}).json()
    assert page["count"] == 4
    assert [(e["kind"], e["internal"]) for e in page["items"]] == [("note", True), ("reply", False)]
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


@pytest.mark.parametrize(
    "payload", [{"body": ""}, {"body": "x", "kind": "shout"}, {}, {"body": "x" * 20001}], ids=str
)
def test_reply_with_bad_input_is_400_and_writes_nothing(users, api_as, open_ticket, payload):
    ticket = open_ticket()
    response = post(api_as(users["agent"]), f"/tickets/{ticket.pk}/replies", payload)
    assert_api_error(response, 400, field="kind" if "kind" in payload else "body")
    assert ticket.events.count() == 1


def test_a_read_only_role_may_not_reply(users, api_as, open_ticket):
    ticket = open_ticket()
    assert_api_error(post(api_as(users["leader"]), f"/tickets/{ticket.pk}/replies", {"body": "您好"}), 403)


def test_attachment_is_uploaded_to_the_timeline_and_downloaded_again(users, api_as, open_ticket):
    ticket = open_ticket()
    client = api_as(users["agent"])
    photo = SimpleUploadedFile("裂纹.jpg", b"\xff\xd8\xff\xe0photo", content_type="image/jpeg")
    response = client.post(
        f"{API}/tickets/{ticket.pk}/attachments", {"file": photo, "body": "客户发来的照片", "kind": "note"}
    )
    assert response.status_code == 201, response.content
    event = response.json()
    assert (event["attachment_name"], event["attachment_size"]) == ("裂纹.jpg", 9)
    download = client.get(f"{API}/tickets/{ticket.pk}/events/{event['id']}/attachment")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"\xff\xd8\xff\xe0photo"
    first = ticket.events.get(kind=EventKind.CREATED)
    assert_api_error(client.get(f"{API}/tickets/{ticket.pk}/events/{first.pk}/attachment"), 404)


def test_attachment_with_an_unknown_kind_or_empty_file_is_400(users, api_as, open_ticket):
    ticket = open_ticket()
    client = api_as(users["agent"])
    photo = SimpleUploadedFile("a.jpg", b"abc", content_type="image/jpeg")
    assert_api_error(
        client.post(f"{API}/tickets/{ticket.pk}/attachments", {"file": photo, "kind": "shout"}),
        400,
        field="kind",
    )
    assert_api_error(
        client.post(f"{API}/tickets/{ticket.pk}/attachments", {"body": "无文件"}), 400, field="file"
    )
    empty = SimpleUploadedFile("a.jpg", b"", content_type="image/jpeg")
    assert_api_error(client.post(f"{API}/tickets/{ticket.pk}/attachments", {"file": empty}), 400)
    assert ticket.events.count() == 1


# --- claim, assign, transitions, call-back ----------------------------------------------------------


def test_claim_takes_the_ticket_and_a_second_claim_is_409_naming_who_has_it(
    users, api_as, open_ticket, make_user
):
    ticket = open_ticket(actor=users["supervisor"])
    colleague = make_user("agent", full_name="李娜")
    response = post(api_as(colleague), f"/tickets/{ticket.pk}/claim")
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == colleague.pk
    body = assert_api_error(
        post(api_as(users["agent"]), f"/tickets/{ticket.pk}/claim"), 409, code="already_claimed"
    )
    assert "李娜" in body["message"]
    assert Ticket.objects.get(pk=ticket.pk).assignee == colleague


def test_assign_with_a_reason_transfers_and_notifies(
    users, api_as, open_ticket, make_user, django_capture_on_commit_callbacks
):
    ticket = open_ticket(actor=users["supervisor"], assignee=users["agent"])
    colleague = make_user("agent")
    client = api_as(users["supervisor"])
    assert_api_error(
        post(client, f"/tickets/{ticket.pk}/assign", {"assignee_id": colleague.pk}), 400, field="reason"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client, f"/tickets/{ticket.pk}/assign", {"assignee_id": colleague.pk, "reason": "李工更熟悉"}
        )
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == colleague.pk
    assert Notification.objects.filter(recipient=colleague).exists()


def test_assign_to_a_group_picks_its_group(users, api_as, open_ticket, centre_group):
    ticket = open_ticket()
    response = post(
        api_as(users["supervisor"]), f"/tickets/{ticket.pk}/assign", {"group_id": centre_group.pk}
    )
    assert response.status_code == 200, response.content
    assert response.json()["group"]["id"] == centre_group.pk


def test_assign_is_refused_to_an_agent_and_for_unknown_people(users, api_as, open_ticket):
    ticket = open_ticket()
    assert_api_error(
        post(api_as(users["agent"]), f"/tickets/{ticket.pk}/assign", {"assignee_id": users["agent"].pk}), 403
    )
    assert_api_error(
        post(api_as(users["supervisor"]), f"/tickets/{ticket.pk}/assign", {"assignee_id": 999999}),
        400,
        field="assignee_id",
    )
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_assign_to_someone_who_cannot_handle_tickets_is_400(users, api_as, open_ticket):
    ticket = open_ticket()
    response = post(
        api_as(users["supervisor"]), f"/tickets/{ticket.pk}/assign", {"assignee_id": users["technician"].pk}
    )
    assert_api_error(response, 400, field="assignee")


def test_transitions_wait_resume_resolve_close_and_reopen(users, api_as, open_ticket):
    ticket = open_ticket()
    agent, supervisor = api_as(users["agent"]), api_as(users["supervisor"])
    path = f"/tickets/{ticket.pk}/transitions"
    assert post(agent, path, {"action": "wait"}).json()["state"] == "pending"
    assert post(agent, path, {"action": "resume"}).json()["state"] == "open"
    assert_api_error(post(agent, path, {"action": "resolve"}), 400, field="note")
    assert post(agent, path, {"action": "resolve", "note": "已更换滤芯"}).json()["state"] == "resolved"
    assert post(agent, path, {"action": "close"}).json()["state"] == "closed"
    assert_api_error(post(agent, path, {"action": "reopen", "note": "客户反馈仍有问题"}), 403)
    body = post(supervisor, path, {"action": "reopen", "note": "客户反馈仍有问题"}).json()
    assert body["state"] == "open" and body["closed_at"] is None


def test_transition_that_the_state_table_does_not_allow_is_409(users, api_as, open_ticket):
    ticket = open_ticket(answer="已答复")
    response = post(api_as(users["agent"]), f"/tickets/{ticket.pk}/transitions", {"action": "wait"})
    assert_api_error(response, 409, code="invalid_transition")


def test_transition_with_a_stale_version_is_409(users, api_as, open_ticket):
    ticket = open_ticket()
    client = api_as(users["agent"])
    post(client, f"/tickets/{ticket.pk}/replies", {"body": "您好"})
    response = post(
        client, f"/tickets/{ticket.pk}/transitions", {"action": "close", "version": ticket.version}
    )
    assert_api_error(response, 409, code="conflict")
    assert Ticket.objects.get(pk=ticket.pk).state == TicketState.OPEN


def test_transition_with_an_unknown_action_is_400(users, api_as, open_ticket):
    ticket = open_ticket()
    response = post(api_as(users["agent"]), f"/tickets/{ticket.pk}/transitions", {"action": "explode"})
    assert_api_error(response, 400, field="action")


def test_callback_is_recorded_and_needs_a_note(users, api_as, open_ticket):
    ticket = open_ticket(callback_due_at=timezone.now() + dt.timedelta(hours=2))
    client = api_as(users["agent"])
    assert_api_error(post(client, f"/tickets/{ticket.pk}/callback", {"note": ""}), 400)
    response = post(client, f"/tickets/{ticket.pk}/callback", {"note": "已回电告知处理结果"})
    assert response.status_code == 200, response.content
    assert response.json()["callback_done_at"] is not None


# --- complaints ---------------------------------------------------------------------------------------


def test_complaint_goes_through_its_steps_and_the_supervisors_approval(users, api_as, open_ticket):
    ticket = open_ticket(kind="complaint", subject="送货延误三天")
    agent, supervisor = api_as(users["agent"]), api_as(users["supervisor"])
    steps = f"/tickets/{ticket.pk}/complaint/steps"
    assert post(agent, steps, {"step": 2, "note": "核实物流记录"}).json()["complaint"]["step"] == 3
    assert post(agent, steps, {"step": 3, "note": "仓库漏发"}).json()["complaint"]["step"] == 4
    assert_api_error(post(agent, steps, {"step": 4, "note": "x"}), 409, code="needs_approval")
    body = post(
        agent, f"/tickets/{ticket.pk}/complaint/approval-request", {"proposal": "补发并赠送滤芯"}
    ).json()
    assert body["complaint"]["approval_state"] == "requested"
    assert body["complaint"]["proposal"] == "补发并赠送滤芯"
    decision = f"/tickets/{ticket.pk}/complaint/decision"
    assert_api_error(post(agent, decision, {"approve": True}), 403)
    assert "decide" in {a["action"] for a in get(supervisor, f"/tickets/{ticket.pk}").json()["actions"]}
    body = post(supervisor, decision, {"approve": True, "note": "同意"}).json()
    assert body["complaint"]["approval_state"] == "approved" and body["complaint"]["step"] == 5
    assert body["complaint"]["approved_by"]["id"] == users["supervisor"].pk
    post(agent, steps, {"step": 5, "note": "已补发"})
    post(agent, steps, {"step": 6, "note": "客户认可"})
    assert_api_error(post(agent, steps, {"step": 7, "note": "分类"}), 400, field="category")
    assert_api_error(
        post(agent, steps, {"step": 7, "note": "分类", "category_id": 999999}), 400, field="category_id"
    )
    category = ComplaintCategory.objects.filter(active=True).first()
    body = post(agent, steps, {"step": 7, "note": "分类", "category_id": category.pk}).json()
    assert body["complaint"]["category"]["id"] == category.pk
    assert [s["step"] for s in body["complaint"]["steps"]] == [1, 2, 3, 4, 5, 6, 7]
    closed = post(agent, f"/tickets/{ticket.pk}/transitions", {"action": "close"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_complaint_cannot_close_without_approval(users, api_as, open_ticket):
    ticket = open_ticket(kind="complaint")
    response = post(api_as(users["agent"]), f"/tickets/{ticket.pk}/transitions", {"action": "close"})
    assert_api_error(response, 409, code="complaint_step_missing")


def test_complaint_step_out_of_order_or_on_an_inquiry_is_409(users, api_as, open_ticket):
    complaint, inquiry = open_ticket(kind="complaint"), open_ticket()
    client = api_as(users["agent"])
    body = {"step": 5, "note": "x"}
    assert_api_error(post(client, f"/tickets/{complaint.pk}/complaint/steps", body), 409, code="wrong_step")
    body = {"step": 2, "note": "x"}
    assert_api_error(
        post(client, f"/tickets/{inquiry.pk}/complaint/steps", body), 409, code="not_a_complaint"
    )
    assert_api_error(post(client, f"/tickets/{complaint.pk}/complaint/steps", {"step": 10, "note": "x"}), 400)


def test_rejecting_a_solution_needs_a_reason(users, api_as, open_ticket):
    ticket = open_ticket(kind="complaint")
    services.complaint_step_complete(actor=users["agent"], ticket=ticket, step=2, note="核实")
    services.complaint_step_complete(actor=users["agent"], ticket=ticket, step=3, note="分析")
    services.complaint_request_approval(actor=users["agent"], ticket=ticket, proposal="退款")
    client = api_as(users["supervisor"])
    decision = f"/tickets/{ticket.pk}/complaint/decision"
    assert_api_error(post(client, decision, {"approve": False}), 400, field="note")
    body = post(client, decision, {"approve": False, "note": "金额过高"}).json()
    assert body["complaint"]["approval_state"] == ApprovalState.REJECTED
    assert_api_error(post(client, decision, {"approve": True}), 409, code="nothing_to_approve")


# --- after-sales ----------------------------------------------------------------------------------------


def test_after_sales_details_are_changed_and_remarks_added(users, api_as, open_ticket):
    ticket = open_ticket(kind="after_sales", after_sales={"case_type": "return"})
    client = api_as(users["agent"])
    response = patch(
        client,
        f"/tickets/{ticket.pk}/after-sales",
        {"quality_problem": False, "return_tracking_number": "SF1234567890", "refund_amount": "59.90"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["quality_problem"] is False and body["shop_pays_shipping"] is False
    assert body["refund_amount"] == "59.90"
    remark = post(client, f"/tickets/{ticket.pk}/after-sales/remarks", {"change": "收货地址为杭州市西湖区"})
    assert remark.status_code == 201, remark.content
    assert remark.json()["order_remarks"].startswith("客户要求修改成收货地址为杭州市西湖区, 已修改妥当 — ")


def test_after_sales_on_another_kind_is_409_and_bad_amounts_400(users, api_as, open_ticket):
    inquiry = open_ticket()
    client = api_as(users["agent"])
    assert_api_error(
        patch(client, f"/tickets/{inquiry.pk}/after-sales", {"reason": "x"}), 409, code="not_after_sales"
    )
    assert_api_error(post(client, f"/tickets/{inquiry.pk}/after-sales/remarks", {"change": "x"}), 409)
    case = open_ticket(kind="after_sales", after_sales={"case_type": "refund"})
    assert_api_error(patch(client, f"/tickets/{case.pk}/after-sales", {"refund_amount": "-1"}), 400)
    assert_api_error(patch(client, f"/tickets/{case.pk}/after-sales", {"case_type": "steal"}), 400)


# --- bulk, queues -----------------------------------------------------------------------------------------


def test_bulk_assign_reports_done_and_failed_per_id(users, api_as, open_ticket, make_user):
    first, second = open_ticket(), open_ticket()
    closed = open_ticket(answer="已答复")
    hidden = open_ticket(actor=make_user("agent", department="tech"), customer=None)
    colleague = make_user("agent")
    response = post(
        api_as(users["supervisor"]),
        "/tickets/bulk/assign",
        {"ids": [first.pk, second.pk, closed.pk, hidden.pk, 999999, first.pk], "assignee_id": colleague.pk},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["done"] == [first.pk, second.pk]
    assert [f["id"] for f in body["failed"]] == [closed.pk, hidden.pk, 999999]
    assert all(f["message"] for f in body["failed"])
    assert Ticket.objects.get(pk=hidden.pk).assignee is None


def test_bulk_close_reports_done_and_failed_and_agents_may_not(users, api_as, open_ticket):
    inquiry, complaint = open_ticket(), open_ticket(kind="complaint")
    payload = {"ids": [inquiry.pk, complaint.pk], "note": "批量结案"}
    assert_api_error(post(api_as(users["agent"]), "/tickets/bulk/close", payload), 403)
    body = post(api_as(users["supervisor"]), "/tickets/bulk/close", payload).json()
    assert body["done"] == [inquiry.pk] and [f["id"] for f in body["failed"]] == [complaint.pk]
    assert Ticket.objects.get(pk=inquiry.pk).state == TicketState.CLOSED


@pytest.mark.parametrize(
    "ids", [[], [0], [2**64], list(range(1, 502))], ids=["none", "zero", "huge", "too many"]
)
def test_bulk_with_bad_ids_is_400(users, api_as, ids):
    response = post(api_as(users["manager"]), "/tickets/bulk/close", {"ids": ids})
    assert_api_error(response, 400, code="validation_failed")


def test_queue_counts_are_the_callers(users, api_as, open_ticket):
    open_ticket(assignee=users["agent"])
    open_ticket()
    counts = get(api_as(users["agent"]), "/tickets/queues").json()
    assert (counts["mine"], counts["unassigned"], counts["approval"]) == (1, 1, 0)
    assert get(api_as(users["supervisor"]), "/tickets/queues").json()["mine"] == 0


def test_queue_counts_stop_at_the_cap_and_say_so(users, api_as, open_ticket, settings):
    settings.LIST_COUNT_CAP = 2
    for _ in range(3):
        open_ticket(assignee=users["agent"])
    open_ticket()
    counts = get(api_as(users["agent"]), "/tickets/queues").json()
    assert (counts["mine"], counts["unassigned"], counts["cap"]) == (2, 1, 2)
    assert "mine" in counts["capped"] and "unassigned" not in counts["capped"]


# --- canned replies, categories, groups, SLA ---------------------------------------------------------------


def test_canned_replies_are_kept_by_managers_and_rendered_for_a_ticket(users, api_as, open_ticket):
    manager, agent = api_as(users["manager"]), api_as(users["agent"])
    created = post(
        manager,
        "/canned-replies",
        {
            "category": "greeting",
            "title": "问候",
            "body": "{customer_name}您好，我是{agent_name}，工单{ticket_number}",
        },
    )
    assert created.status_code == 201, created.content
    reply_id = created.json()["id"]
    assert reply_id in [r["id"] for r in get(agent, "/canned-replies", {"category": "greeting"}).json()]
    assert_api_error(post(agent, "/canned-replies", {"title": "x", "body": "y"}), 403)
    ticket = open_ticket(contact_name="王先生")
    text = get(agent, f"/canned-replies/{reply_id}/render", {"ticket": ticket.pk}).json()["text"]
    assert text == f"王先生您好，我是{users['agent']}，工单{ticket.number}"
    changed = patch(manager, f"/canned-replies/{reply_id}", {"active": False, "title": "问候语"})
    assert changed.json()["title"] == "问候语" and changed.json()["active"] is False
    assert reply_id not in [r["id"] for r in get(agent, "/canned-replies").json()]
    assert reply_id in [r["id"] for r in get(manager, "/canned-replies", {"include_inactive": True}).json()]
    assert_api_error(client_delete(agent, reply_id), 403)
    assert client_delete(manager, reply_id).status_code == 204
    assert not CannedReply.objects.filter(pk=reply_id).exists()
    assert_api_error(get(agent, f"/canned-replies/{reply_id}/render"), 404)


def client_delete(client: Any, reply_id: int) -> Any:
    return client.delete(f"{API}/canned-replies/{reply_id}")


def test_canned_reply_render_for_a_ticket_out_of_scope_is_404(users, api_as, open_ticket, make_user):
    reply = CannedReply.objects.filter(active=True).first()
    hidden = open_ticket(actor=make_user("agent", department="tech"), customer=None)
    response = get(api_as(users["agent"]), f"/canned-replies/{reply.pk}/render", {"ticket": hidden.pk})
    assert_api_error(response, 404)


def test_complaint_categories_are_listed_in_order(users, api_as):
    body = get(api_as(users["agent"]), "/complaint-categories").json()
    assert [c["id"] for c in body] == list(
        ComplaintCategory.objects.filter(active=True).values_list("pk", flat=True)
    )
    assert body


def test_ticket_groups_are_created_changed_and_listed(users, api_as, departments):
    manager = api_as(users["manager"])
    created = post(
        manager,
        "/ticket-groups",
        {
            "name": "客诉组",
            "department_id": departments["complaints"].pk,
            "assign_mode": "round_robin",
            "member_ids": [users["complaint_specialist"].pk],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["department"]["id"] == departments["complaints"].pk
    assert [m["id"] for m in body["members"]] == [users["complaint_specialist"].pk]
    changed = patch(manager, f"/ticket-groups/{body['id']}", {"assign_mode": "least_load", "active": False})
    assert changed.json()["assign_mode"] == "least_load" and changed.json()["members"]
    assert body["id"] not in [g["id"] for g in get(manager, "/ticket-groups").json()]
    assert body["id"] in [g["id"] for g in get(manager, "/ticket-groups", {"include_inactive": True}).json()]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "组", "department_id": 999999}, "department_id"),
        ({"name": "组", "department_id": None, "member_ids": [999999]}, "department_id"),
        ({"name": "", "department_id": 1}, "name"),
        ({"name": "组", "department_id": 1, "assign_mode": "lottery"}, "assign_mode"),
    ],
)
def test_ticket_group_with_bad_input_is_400(users, api_as, departments, payload, field):
    response = post(api_as(users["manager"]), "/ticket-groups", payload)
    assert_api_error(response, 400, field=field)
    assert not TicketGroup.objects.exists()


def test_ticket_group_members_must_be_able_to_handle_tickets(users, api_as, departments):
    response = post(
        api_as(users["manager"]),
        "/ticket-groups",
        {"name": "技术组", "department_id": departments["tech"].pk, "member_ids": [users["technician"].pk]},
    )
    assert_api_error(response, 400, field="members")
    assert not TicketGroup.objects.exists()


def test_ticket_group_cannot_be_created_by_a_supervisor(users, api_as, departments):
    body = {"name": "组", "department_id": departments["centre"].pk}
    assert_api_error(post(api_as(users["supervisor"]), "/ticket-groups", body), 403)


def test_sla_policies_listed_current_and_a_new_version_created(users, api_as):
    client = api_as(users["manager"])
    current = get(client, "/sla-policies/current").json()
    assert current["id"] == SlaPolicy.in_force().pk and current["targets"]
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = post(
        client,
        "/sla-policies",
        {
            "effective_from": tomorrow,
            "at_risk_percent": 75,
            "targets": [
                {"first_response_minutes": 60, "resolution_minutes": 480},
                {
                    "kind": "complaint",
                    "priority": "urgent",
                    "first_response_minutes": 15,
                    "resolution_minutes": 240,
                },
            ],
            "note": "旺季",
        },
    )
    assert response.status_code == 201, response.content
    assert len(response.json()["targets"]) == 2
    assert get(client, "/sla-policies/current").json()["id"] == current["id"]
    assert get(client, "/sla-policies").json()[0]["id"] == response.json()["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"targets": [{"kind": "complaint", "first_response_minutes": 60, "resolution_minutes": 480}]},
            "targets",
        ),
        (
            {"targets": [{"first_response_minutes": 600, "resolution_minutes": 60}]},
            "targets.0.resolution_minutes",
        ),
        (
            {"targets": [{"tier": "D", "first_response_minutes": 1, "resolution_minutes": 2}]},
            "targets.0.tier",
        ),
        ({"targets": []}, "targets"),
        ({"effective_from": "2001-01-01"}, "effective_from"),
        ({"at_risk_percent": 100}, "at_risk_percent"),
    ],
)
def test_sla_policy_with_bad_input_is_400_and_nothing_written(users, api_as, payload, field):
    before = SlaPolicy.objects.count()
    body = {
        "effective_from": timezone.localdate().isoformat(),
        "targets": [{"first_response_minutes": 60, "resolution_minutes": 480}],
        **payload,
    }
    assert_api_error(post(api_as(users["manager"]), "/sla-policies", body), 400, field=field)
    assert SlaPolicy.objects.count() == before


def test_sla_policies_are_closed_to_agents(users, api_as):
    assert_api_error(get(api_as(users["agent"]), "/sla-policies"), 403)
    assert_api_error(get(api_as(users["agent"]), "/sla-policies/current"), 403)
    body = {
        "effective_from": timezone.localdate().isoformat(),
        "targets": [{"first_response_minutes": 60, "resolution_minutes": 480}],
    }
    assert_api_error(post(api_as(users["supervisor"]), "/sla-policies", body), 403)


# --- notifications ---------------------------------------------------------------------------------------


def test_notifications_are_mine_only_and_marked_read(users, api_as):
    notify([users["agent"]], "工单 GD2026-000001 已分派给您", url="/tickets/1/")
    notify([users["agent"]], "工单 GD2026-000002 已分派给您", url="/tickets/2/")
    notify([users["supervisor"]], "别人的通知")
    client = api_as(users["agent"])
    page = get(client, "/notifications").json()
    assert (page["count"], page["unread"]) == (2, 2)
    assert [item["message"] for item in page["items"]] == [
        "工单 GD2026-000002 已分派给您",
        "工单 GD2026-000001 已分派给您",
    ]
    newest, oldest = page["items"][0]["id"], page["items"][1]["id"]
    others = Notification.objects.get(recipient=users["supervisor"])
    marked = post(client, "/notifications/read", {"ids": [newest, others.pk]}).json()
    assert marked == {"marked": 1}
    assert Notification.objects.get(pk=others.pk).read_at is None
    assert [item["id"] for item in get(client, "/notifications", {"unread": True}).json()["items"]] == [
        oldest
    ]
    assert post(client, "/notifications/read", {}).json() == {"marked": 1}
    assert get(client, "/notifications").json()["unread"] == 0


def test_api_requires_authentication(db):
    from django.test import Client

    assert_api_error(Client().get(API + "/tickets"), 401, code="not_authenticated")
    assert_api_error(Client().get(API + "/notifications"), 401)
