"""The archive's JSON API at /api/v1/: answers, errors ({"code","message","detail"}), nothing half-written."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kefu.customers import services
from kefu.customers.models import (
    BorrowRequest,
    BorrowState,
    Contact,
    Customer,
    CustomerDocument,
    CustomerImport,
    CustomerPhone,
    TierChange,
    TierPolicy,
    TierSource,
)
from tests.customers.conftest import API, PDF, assert_api_error, count_queries, pdf_upload, xlsx_upload
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

GOOD_CREDIT_CODE = "91350100M000100Y43"


def post(client, path, body):
    return client.post(API + path, json.dumps(body), content_type="application/json")


def patch(client, path, body):
    return client.patch(API + path, json.dumps(body), content_type="application/json")


def get(client, path, params=None):
    return client.get(API + path, params or {})


# --- create ----------------------------------------------------------------------------------------


def test_create_answers_201_with_the_archive_number(users, api_as):
    response = post(
        api_as(users["agent"]),
        "/customers",
        {
            "name": "杭州西湖茶业有限公司",
            "phone": "0571-88886666",
            "credit_code": GOOD_CREDIT_CODE,
            "annual_tons": "15000",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["archive_number"].startswith("KH")
    assert (body["tier"], body["owner"]["id"]) == ("B", users["agent"].pk)
    stored = Customer.objects.get(pk=body["id"])
    assert (stored.archive_number, stored.name) == (body["archive_number"], "杭州西湖茶业有限公司")


def test_a_customer_created_through_the_api_belongs_to_its_creator_who_can_open_it(users, api_as):
    client = api_as(users["agent"])
    body = post(client, "/customers", {"name": "新开户客户"}).json()
    assert (body["owner"]["id"], body["department"]["id"]) == (
        users["agent"].pk,
        users["agent"].department_id,
    )
    assert get(client, f"/customers/{body['id']}").status_code == 200
    assert [item["id"] for item in get(client, "/customers").json()["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({"name": "坏号码公司", "phone": "12345"}, "phone", id="bad phone"),
        pytest.param(
            {"name": "甲公司", "credit_code": "91350100M000100Y44"}, "credit_code", id="bad credit code"
        ),
        pytest.param({"phone": "13800000000"}, "name", id="name missing"),
        pytest.param({"name": "   "}, "name", id="name blank"),
        pytest.param({"name": "乙公司", "kind": "robot"}, "kind", id="unknown kind"),
        pytest.param({"name": "乙公司", "lifecycle": "zombie"}, "lifecycle", id="unknown lifecycle"),
        pytest.param({"name": "乙公司", "annual_tons": "-1"}, "annual_tons", id="negative tons"),
        pytest.param(
            {"name": "李四", "kind": "person", "id_number": "110105194912310021"},
            "id_number",
            id="bad id number",
        ),
        pytest.param({"name": "乙公司", "owner_id": 999999}, "owner_id", id="unknown owner"),
    ],
)
def test_create_with_a_bad_field_is_400_naming_the_field_and_writes_nothing(users, api_as, payload, field):
    response = post(api_as(users["manager"]), "/customers", payload)
    assert_api_error(response, 400, code="validation_failed", field=field)
    assert not Customer.objects.exists()
    assert not CustomerPhone.objects.exists()


def test_create_reports_every_bad_field_at_once(users, api_as):
    response = post(
        api_as(users["manager"]),
        "/customers",
        {"name": "丙公司", "phone": "12345", "credit_code": "91350100M000100Y44"},
    )
    body = assert_api_error(response, 400, field="phone")
    assert "credit_code" in body["detail"]


def test_duplicate_credit_code_is_400_naming_the_other_archive(users, api_as):
    first = make_customer(actor=users["manager"], credit_code=GOOD_CREDIT_CODE)
    response = post(
        api_as(users["manager"]), "/customers", {"name": "丁公司", "credit_code": GOOD_CREDIT_CODE}
    )
    body = assert_api_error(response, 400, field="credit_code")
    assert first.archive_number in body["detail"]["credit_code"][0]
    assert Customer.objects.count() == 1


# --- read, change, conflicts --------------------------------------------------------------------------


def test_patch_changes_the_fields_sent_and_bumps_the_version(users, api_as):
    customer = make_customer(actor=users["manager"], city="杭州", industry="茶叶")
    response = patch(api_as(users["manager"]), f"/customers/{customer.pk}", {"city": "宁波", "version": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["city"], body["industry"], body["version"]) == ("宁波", "茶叶", 2)


def test_patch_with_a_stale_version_is_409_and_changes_nothing(users, api_as):
    customer = make_customer(actor=users["manager"], name="原名公司")
    client = api_as(users["manager"])
    assert patch(client, f"/customers/{customer.pk}", {"city": "上海", "version": 1}).status_code == 200
    response = patch(client, f"/customers/{customer.pk}", {"name": "新名公司", "version": 1})
    assert_api_error(response, 409, code="conflict")
    customer.refresh_from_db()
    assert (customer.name, customer.city, customer.version) == ("原名公司", "上海", 2)


def test_patch_with_a_bad_phone_is_400_and_changes_nothing(users, api_as):
    customer = make_customer(actor=users["manager"], phone="13800001234")
    response = patch(api_as(users["manager"]), f"/customers/{customer.pk}", {"phone": "1", "city": "北京"})
    assert_api_error(response, 400, field="phone")
    customer.refresh_from_db()
    assert (customer.phone, customer.city, customer.version) == ("13800001234", "", 1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/customers/{pk}"),
        ("PATCH", "/customers/{pk}"),
        ("GET", "/customers/{pk}/contacts"),
        ("POST", "/customers/{pk}/tier"),
        ("GET", "/customers/{pk}/history"),
        ("PATCH", "/contacts/{pk}"),
        ("GET", "/documents/{pk}/download"),
    ],
)
def test_an_unknown_id_is_404_json(users, api_as, method, path):
    client = api_as(users["manager"])
    url = path.format(pk=987654)
    response = (
        get(client, url)
        if method == "GET"
        else (
            post(client, url, {"tier": "A", "reason": "x"})
            if method == "POST"
            else patch(client, url, {"city": "x"})
        )
    )
    assert_api_error(response, 404, code="not_found")


def test_an_out_of_scope_customer_is_404_like_an_unknown_one(users, api_as):
    customer = make_customer(actor=users["big_customer_specialist"])
    response = get(api_as(users["agent"]), f"/customers/{customer.pk}")
    unknown = get(api_as(users["agent"]), "/customers/987654")
    assert_api_error(response, 404, code="not_found")
    assert response.json() == unknown.json()


# --- list: filters, sorting, paging, query count -----------------------------------------------------------


@pytest.fixture
def archive(users):
    manager = users["manager"]
    return {
        "zhang": make_customer(actor=manager, name="张三", kind="person", lifecycle="purchasing"),
        "li": make_customer(actor=manager, name="李四商贸", annual_tons=Decimal("25000")),
        "wang": make_customer(
            actor=manager, name="王五实业", annual_tons=Decimal("15000"), lifecycle="opened"
        ),
    }


def names(response):
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"q": "zs"}, ["张三"], id="pinyin initials"),
        pytest.param({"q": "lisi"}, ["李四商贸"], id="full pinyin"),
        pytest.param({"tier": "A"}, ["李四商贸"], id="tier A"),
        pytest.param({"tier": "none"}, ["张三"], id="not a VIP"),
        pytest.param({"lifecycle": "opened"}, ["王五实业"], id="lifecycle"),
        pytest.param({"kind": "person"}, ["张三"], id="kind"),
        pytest.param({"sort": "name"}, ["李四商贸", "王五实业", "张三"], id="sort by pinyin"),
        pytest.param({"sort": "oldest"}, ["张三", "李四商贸", "王五实业"], id="sort oldest"),
        pytest.param(
            {"sort": "tons"}, ["李四商贸", "王五实业", "张三"], id="largest scale first, unknown last"
        ),
        pytest.param({"sort": "nonsense"}, ["王五实业", "李四商贸", "张三"], id="unknown sort is newest"),
    ],
)
def test_list_filters_and_sorts(users, api_as, archive, params, expected):
    assert names(get(api_as(users["manager"]), "/customers", params)) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("last_contact", ["张三", "王五实业", "李四商贸"]),
        ("-last_contact", ["李四商贸", "王五实业", "张三"]),
    ],
)
def test_never_contacted_customers_count_as_longest_without_contact(users, api_as, archive, sort, expected):
    now = timezone.now()
    for key, days_ago in (("wang", 30), ("li", 1)):
        services.contact_record_create(
            actor=users["manager"],
            customer=archive[key],
            summary="回访",
            channel="phone",
            happened_at=now - dt.timedelta(days=days_ago),
        )
    assert names(get(api_as(users["manager"]), "/customers", {"sort": sort})) == expected


def test_list_pages_with_limit_and_offset_and_counts_all(users, api_as):
    made = [make_customer(actor=users["manager"], name=f"分页客户{i}") for i in range(5)]
    newest_first = [c.pk for c in reversed(made)]
    response = get(api_as(users["manager"]), "/customers", {"limit": 2, "offset": 2})
    body = response.json()
    assert body["count"] == 5
    assert [item["id"] for item in body["items"]] == newest_first[2:4]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10000}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_list_refuses_a_bad_window_with_400(users, api_as, params, field):
    assert_api_error(get(api_as(users["manager"]), "/customers", params), 400, field=field)


@pytest.mark.parametrize("path", ["/customers", "/lists/big-customers"])
def test_list_query_count_does_not_grow_with_rows(users, api_as, django_assert_max_num_queries, path):
    manager = users["manager"]
    client = api_as(manager)

    def add(count):
        for i in range(count):
            customer = make_customer(
                actor=manager, name=f"客户{i}", is_vip=True, owner=users["agent"] if i % 2 else manager
            )
            make_contact(actor=manager, customer=customer)

    add(5)
    get(client, path)  # warm caches (content types, permissions) that a real server keeps between requests
    few, response = count_queries(lambda: get(client, path))
    assert len(response.json()["items"]) == 5
    add(35)
    with django_assert_max_num_queries(few):
        response = get(client, path)
    assert len(response.json()["items"]) == 40


# --- contacts --------------------------------------------------------------------------------------------


def test_contacts_can_be_added_listed_changed_and_removed(users, api_as):
    customer = make_customer(actor=users["agent"])
    client = api_as(users["agent"])
    created = post(
        client,
        f"/customers/{customer.pk}/contacts",
        {"name": "王经理", "mobile": "139 1111 2222", "title": "采购经理"},
    )
    assert created.status_code == 201, created.content
    contact = created.json()
    assert (contact["is_primary"], contact["version"]) == (True, 1)
    listed = get(client, f"/customers/{customer.pk}/contacts").json()
    assert [c["name"] for c in listed] == ["王经理"]
    changed = patch(client, f"/contacts/{contact['id']}", {"title": "总经理", "version": 1})
    assert (changed.status_code, changed.json()["title"], changed.json()["version"]) == (200, "总经理", 2)
    stale = patch(client, f"/contacts/{contact['id']}", {"title": "副总", "version": 1})
    assert_api_error(stale, 409)
    assert Contact.objects.get(pk=contact["id"]).title == "总经理"
    assert client.delete(f"{API}/contacts/{contact['id']}").status_code == 204
    assert get(client, f"/customers/{customer.pk}/contacts").json() == []
    assert not CustomerPhone.objects.filter(number="13911112222").exists()


def test_contact_with_a_bad_mobile_is_400_and_not_saved(users, api_as):
    customer = make_customer(actor=users["agent"])
    response = post(
        api_as(users["agent"]), f"/customers/{customer.pk}/contacts", {"name": "赵六", "mobile": "1"}
    )
    assert_api_error(response, 400, field="mobile")
    assert not Contact.objects.exists()


def test_contact_of_an_out_of_scope_customer_is_404(users, api_as):
    customer = make_customer(actor=users["big_customer_specialist"])
    contact = make_contact(actor=users["big_customer_specialist"], customer=customer, title="")
    response = patch(api_as(users["agent"]), f"/contacts/{contact.pk}", {"title": "改"})
    assert_api_error(response, 404)
    contact.refresh_from_db()
    assert contact.title == ""


# --- documents ------------------------------------------------------------------------------------------


def upload(client, customer, file, **fields):
    return client.post(
        f"{API}/customers/{customer.pk}/documents", {"file": file, "kind": "contract", **fields}
    )


def stored_files(media_root):
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def test_upload_of_a_small_pdf_is_201_and_stored(users, api_as, media_root):
    customer = make_customer(actor=users["agent"])
    response = upload(api_as(users["agent"]), customer, pdf_upload(), title="购销合同")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["original_name"], body["size"]) == ("购销合同", "合同.pdf", len(PDF))
    document = CustomerDocument.objects.get(pk=body["id"])
    assert document.file.read() == PDF
    assert len(stored_files(media_root)) == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("empty.pdf", b"", id="0 bytes"),
        pytest.param("setup.exe", b"MZ\x90\x00\x03\x00", id="exe"),
        pytest.param("合同.pdf", b"MZ\x90\x00\x03\x00 this is a program", id="renamed exe"),
    ],
)
def test_bad_upload_is_400_and_nothing_is_saved(users, api_as, media_root, name, content):
    customer = make_customer(actor=users["agent"])
    response = upload(api_as(users["agent"]), customer, SimpleUploadedFile(name, content))
    assert_api_error(response, 400, code="validation_failed", field="file")
    assert not CustomerDocument.objects.exists()
    assert stored_files(media_root) == []


def test_upload_with_an_unknown_kind_is_400(users, api_as, media_root):
    customer = make_customer(actor=users["agent"])
    response = upload(api_as(users["agent"]), customer, pdf_upload(), kind="poem")
    assert_api_error(response, 400, field="kind")
    assert not CustomerDocument.objects.exists()


@pytest.fixture
def important_file(users, api_as):
    """An important contract of a 客服中心 customer, uploaded by the archive specialist."""
    customer = make_customer(actor=users["agent"])
    response = upload(api_as(users["archive_specialist"]), customer, pdf_upload(), important="true")
    assert response.status_code == 201, response.content
    return CustomerDocument.objects.get(pk=response.json()["id"])


def due_in(days):
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def test_important_file_download_needs_an_approved_loan(users, api_as, important_file):
    agent = api_as(users["agent"])
    url = f"{API}/documents/{important_file.pk}/download"
    assert_api_error(agent.get(url), 403, code="permission_denied")
    borrow = post(
        agent,
        "/borrowings",
        {"document_id": important_file.pk, "purpose": "核对合同条款", "due_back_on": due_in(3)},
    )
    assert borrow.status_code == 201
    assert_api_error(agent.get(url), 403)  # requested is not yet approved
    approved = post(api_as(users["manager"]), f"/borrowings/{borrow.json()['id']}/approve", {})
    assert approved.status_code == 200
    response = agent.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


def test_archive_staff_download_an_important_file_without_a_loan(users, api_as, important_file):
    response = api_as(users["archive_specialist"]).get(f"{API}/documents/{important_file.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


def test_ordinary_file_downloads_for_anyone_with_the_view_right(users, api_as):
    customer = make_customer(actor=users["agent"])
    document = upload(api_as(users["agent"]), customer, pdf_upload()).json()
    response = api_as(users["supervisor"]).get(f"{API}/documents/{document['id']}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


# --- borrowing ---------------------------------------------------------------------------------------------


def test_borrowing_goes_request_approve_return_check_through_the_api(users, api_as, important_file):
    agent, manager, archivist = (api_as(users[r]) for r in ("agent", "manager", "archive_specialist"))
    created = post(
        agent,
        "/borrowings",
        {"document_id": important_file.pk, "purpose": "续签合同", "due_back_on": due_in(7)},
    )
    assert created.status_code == 201
    borrow = created.json()
    assert (borrow["state"], borrow["number"][:2]) == (BorrowState.REQUESTED, "JY")
    path = f"/borrowings/{borrow['id']}"
    assert_api_error(post(agent, f"{path}/approve", {}), 403)
    assert post(manager, f"{path}/approve", {"note": "同意"}).json()["state"] == BorrowState.APPROVED
    assert_api_error(post(manager, f"{path}/approve", {}), 409, code="invalid_transition")
    assert post(agent, f"{path}/return", {}).json()["state"] == BorrowState.RETURNED
    assert_api_error(post(archivist, f"{path}/check", {"check_passed": False}), 400, field="note")
    checked = post(archivist, f"{path}/check", {"check_passed": True})
    assert (checked.json()["state"], checked.json()["check_passed"]) == (BorrowState.CHECKED, True)
    assert_api_error(post(agent, f"{path}/return", {}), 409, code="invalid_transition")
    listed = get(agent, "/borrowings", {"mine": "true"}).json()
    assert [(b["id"], b["state"]) for b in listed] == [(borrow["id"], BorrowState.CHECKED)]


def test_borrowing_a_file_already_on_loan_is_409(users, api_as, important_file):
    body = {"document_id": important_file.pk, "purpose": "查阅", "due_back_on": due_in(2)}
    assert post(api_as(users["agent"]), "/borrowings", body).status_code == 201
    assert_api_error(post(api_as(users["supervisor"]), "/borrowings", body), 409)
    assert BorrowRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "查阅", "due_back_on": "2000-01-01"}, "due_back_on"),
        ({"purpose": "", "due_back_on": "TODAY"}, "purpose"),
    ],
)
def test_borrowing_with_bad_fields_is_400(users, api_as, important_file, body, field):
    body = {"document_id": important_file.pk, **body}
    if body["due_back_on"] == "TODAY":
        body["due_back_on"] = due_in(0)
    assert_api_error(post(api_as(users["agent"]), "/borrowings", body), 400, field=field)
    assert not BorrowRequest.objects.exists()


def test_rejecting_needs_a_note_and_an_unknown_action_is_404(users, api_as, important_file):
    created = post(
        api_as(users["agent"]),
        "/borrowings",
        {"document_id": important_file.pk, "purpose": "查阅", "due_back_on": due_in(1)},
    ).json()
    manager = api_as(users["manager"])
    assert_api_error(post(manager, f"/borrowings/{created['id']}/reject", {}), 400, field="note")
    assert_api_error(post(manager, f"/borrowings/{created['id']}/destroy", {}), 404)
    rejected = post(manager, f"/borrowings/{created['id']}/reject", {"note": "无业务必要"})
    assert rejected.json()["state"] == BorrowState.REJECTED


# --- tier, assignment, policies ---------------------------------------------------------------------------


def test_tier_can_be_set_by_hand_with_a_reason_and_given_back_to_the_policy(users, api_as):
    customer = make_customer(actor=users["agent"], annual_tons=Decimal("12000"))
    manager = api_as(users["manager"])
    response = post(manager, f"/customers/{customer.pk}/tier", {"tier": "A", "reason": "品牌推广价值高"})
    assert response.status_code == 200
    assert (response.json()["tier"], response.json()["tier_source"]) == ("A", TierSource.MANUAL)
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.from_tier, change.to_tier, change.actor) == ("B", "A", users["manager"])
    back = post(manager, f"/customers/{customer.pk}/tier", {"tier": None})
    assert (back.json()["tier"], back.json()["tier_source"]) == ("B", TierSource.POLICY)


@pytest.mark.parametrize(
    ("body", "field"), [({"tier": "A", "reason": " "}, "reason"), ({"tier": "Z"}, "tier")]
)
def test_tier_with_bad_input_is_400_and_changes_nothing(users, api_as, body, field):
    customer = make_customer(actor=users["agent"])
    assert_api_error(post(api_as(users["manager"]), f"/customers/{customer.pk}/tier", body), 400, field=field)
    customer.refresh_from_db()
    assert (customer.tier, customer.tier_source, customer.version) == ("", TierSource.POLICY, 1)


def test_supervisor_hands_customers_of_his_centre_to_another_agent(users, api_as, make_user):
    colleague = make_user("agent", department="centre")
    customers = [make_customer(actor=users["agent"]) for _ in range(2)]
    response = post(
        api_as(users["supervisor"]),
        "/customers/assign",
        {"ids": [c.pk for c in customers], "owner_id": colleague.pk},
    )
    assert (response.status_code, response.json()) == (200, {"moved": 2})
    assert Customer.objects.filter(owner=colleague).count() == 2


def test_assign_with_a_customer_outside_the_scope_moves_nothing(users, api_as):
    mine = make_customer(actor=users["agent"])
    theirs = make_customer(actor=users["big_customer_specialist"])
    response = post(
        api_as(users["supervisor"]),
        "/customers/assign",
        {"ids": [mine.pk, theirs.pk], "owner_id": users["supervisor"].pk},
    )
    assert_api_error(response, 404)
    assert not Customer.objects.filter(owner=users["supervisor"]).exists()


@pytest.mark.parametrize(
    ("body", "field"), [({}, None), ({"owner_id": 987654}, "owner_id"), ({"ids": []}, "ids")]
)
def test_assign_with_bad_input_is_400(users, api_as, body, field):
    customer = make_customer(actor=users["agent"])
    payload = {"ids": [customer.pk], **body}
    assert_api_error(post(api_as(users["supervisor"]), "/customers/assign", payload), 400, field=field)
    customer.refresh_from_db()
    assert customer.owner == users["agent"]


def test_agent_may_not_assign(users, api_as):
    customer = make_customer(actor=users["agent"])
    response = post(
        api_as(users["agent"]), "/customers/assign", {"ids": [customer.pk], "owner_id": users["manager"].pk}
    )
    assert_api_error(response, 403, code="permission_denied")
    customer.refresh_from_db()
    assert customer.owner == users["agent"]


def tier_policy(a, b):
    return {"effective_from": timezone.localdate().isoformat(), "a_min_tons": a, "b_min_tons": b}


@pytest.mark.parametrize(("a", "b"), [("10000", "10000"), ("10000", "20000"), ("0", "0")])
def test_tier_policy_with_b_not_below_a_is_400_and_not_saved(users, api_as, a, b):
    before = TierPolicy.objects.count()
    response = post(api_as(users["manager"]), "/policies/tier", tier_policy(a, b))
    assert_api_error(response, 400, code="validation_failed")
    assert TierPolicy.objects.count() == before


def test_new_tier_policy_is_201_and_retiers_customers(users, api_as, django_capture_on_commit_callbacks):
    customer = make_customer(actor=users["agent"], annual_tons=Decimal("15000"))
    assert customer.tier == "B"
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_as(users["manager"]), "/policies/tier", tier_policy("14000", "5000"))
    assert response.status_code == 201
    customer.refresh_from_db()
    assert (customer.tier, customer.tier_policy_id) == ("A", response.json()["id"])


def test_churn_policy_with_zero_days_is_400(users, api_as):
    body = {
        "effective_from": timezone.localdate().isoformat(),
        "days_without_trade": 0,
        "days_without_contact": 30,
        "birthday_days_ahead": 7,
    }
    assert_api_error(post(api_as(users["manager"]), "/policies/churn", body), 400, field="days_without_trade")


# --- import -------------------------------------------------------------------------------------------------


def test_import_runs_a_dry_run_first_and_writes_only_on_confirm(
    users, api_as, django_capture_on_commit_callbacks
):
    client = api_as(users["archive_specialist"])
    rows = [["导入客户甲", "13700001111"], ["", "13700002222"]]
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"{API}/imports", {"file": xlsx_upload(rows)})
    assert started.status_code == 201, started.content
    report = get(client, f"/imports/{started.json()['id']}").json()
    assert (report["dry_run"], report["status"], report["created_count"], report["error_count"]) == (
        True,
        "done",
        1,
        1,
    )
    assert not Customer.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"{API}/imports/{started.json()['id']}/confirm")
    assert confirmed.status_code == 201
    assert list(Customer.objects.values_list("name", flat=True)) == ["导入客户甲"]
    assert_api_error(client.post(f"{API}/imports/{started.json()['id']}/confirm"), 409)


@pytest.mark.parametrize(
    "file",
    [
        pytest.param(SimpleUploadedFile("客户.csv", "名称\n甲\n".encode()), id="csv"),
        pytest.param(SimpleUploadedFile("客户.xlsx", b"not a zip"), id="broken xlsx"),
        pytest.param(SimpleUploadedFile("客户.xlsx", b""), id="empty"),
    ],
)
def test_import_of_a_wrong_file_is_400_at_once(users, api_as, file):
    response = api_as(users["archive_specialist"]).post(f"{API}/imports", {"file": file})
    assert_api_error(response, 400, field="file")
    assert not CustomerImport.objects.exists()


def test_a_body_that_is_not_json_gets_a_json_error(users, api_as):
    response = api_as(users["manager"]).post(
        "/api/v1/customers", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_an_unknown_api_path_answers_json_404(users, api_as):
    response = api_as(users["manager"]).post("/api/v1/no-such-thing", data={})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
