"""Who may open each archive page and call each archive endpoint: every role, allowed and denied.

One table per surface maps each page / endpoint to the rights it needs. Whether a role holds them
is read from ROLE_DEFINITIONS, so the suite follows the role table: grant a right there and the
matching cases move from "denied" to "allowed" without touching this file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.customers import urls as customer_urls
from kefu.customers.api import router
from kefu.customers.models import BorrowState, Contact, Customer, TierSource
from tests.api_endpoints import ApiEndpoint
from tests.customers.conftest import API, World, message_levels, pdf_upload, xlsx_upload
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}


def role_has(role: str, perms: tuple[str, ...], *, any_of: bool = False) -> bool:
    return bool(set(perms) & RIGHTS[role]) if any_of else set(perms) <= RIGHTS[role]


def _week() -> str:
    return (timezone.localdate() + dt.timedelta(days=7)).isoformat()


# --- pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A page answered with the product's 403 page when the right is missing."""

    name: str
    perms: tuple[str, ...]
    args: Callable[[World], list[Any]] = lambda w: []
    query: str = ""
    method: str = "get"
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    ok: int = 200
    any_of: bool = False  # one of the rights is enough

    def url(self, w: World) -> str:
        return reverse(f"customers:{self.name}", args=self.args(w)) + self.query


@dataclass(frozen=True)
class Action:
    """A button (POST) whose service refuses a missing right: back to the page with an error message."""

    name: str
    perms: tuple[str, ...]
    args: Callable[[World], list[Any]]
    data: Callable[[World], dict[str, Any]]
    done: Callable[[World], bool]
    label: str = ""

    def url(self, w: World) -> str:
        return reverse(f"customers:{self.name}", args=self.args(w))


def _customer(w: World) -> list[Any]:
    return [w.customer.pk]


PAGES = [
    Page("list", ("customers.view_customer",)),
    Page("export", ("customers.export_customer",)),
    Page("create", ("customers.add_customer",)),
    Page(
        "validate",
        ("customers.add_customer", "customers.change_customer"),
        method="post",
        any_of=True,
        data=lambda w: {"validate_field": "phone", "phone": "12345"},
    ),
    Page("lookup", ("customers.view_customer",), query="?phone=13800138000"),
    Page("big_customers", ("customers.view_customer",)),
    Page("at_risk", ("customers.view_customer",)),
    Page("birthdays", ("customers.view_customer",)),
    Page("borrowings", ("customers.view_borrowrequest",)),
    Page("imports", ("customers.import_customer",)),
    Page("import_template", ("customers.import_customer",)),
    Page("import_detail", ("customers.import_customer",), args=lambda w: [w.own_import.pk]),
    Page("import_progress", ("customers.import_customer",), args=lambda w: [w.own_import.pk]),
    Page(
        "import_confirm",
        ("customers.import_customer",),
        args=lambda w: [w.own_import.pk],
        method="post",
        ok=302,
    ),
    Page("policies", ("customers.view_tierpolicy",)),
    Page("detail", ("customers.view_customer",), args=_customer),
    Page("edit", ("customers.change_customer",), args=_customer),
    Page("contact_create", ("customers.add_contact",), args=_customer),
    Page("contact_edit", ("customers.change_contact",), args=lambda w: [w.customer.pk, w.contact.pk]),
    Page("document_upload", ("customers.add_customerdocument",), args=_customer),
    Page(
        "document_download",
        ("customers.view_customerdocument",),
        args=lambda w: [w.customer.pk, w.document.pk],
    ),
    Page("borrow_request", ("customers.add_borrowrequest",), args=lambda w: [w.customer.pk, w.document.pk]),
    Page("trade_create", ("customers.add_traderecord",), args=_customer),
    Page("contact_record_create", ("customers.add_contactrecord",), args=_customer),
]


def _refreshed(instance: Any) -> Any:
    return type(instance).objects.get(pk=instance.pk)


ACTIONS = [
    Action(
        "tier",
        ("customers.set_tier",),
        _customer,
        lambda w: {"tier": "A", "reason": "战略客户"},
        lambda w: _refreshed(w.customer).tier_source == TierSource.MANUAL,
    ),
    Action(
        "bulk",
        ("customers.assign_customer",),
        lambda w: [],
        lambda w: {"ids": [w.customer.pk], "owner": w.borrower.pk},
        lambda w: _refreshed(w.customer).owner_id == w.borrower.pk,
    ),
    Action(
        "contact_delete",
        ("customers.delete_contact",),
        lambda w: [w.customer.pk, w.contact.pk],
        lambda w: {},
        lambda w: not Contact.objects.filter(pk=w.contact.pk).exists(),
    ),
    Action(
        "borrowing_transition",
        ("customers.approve_borrowrequest",),
        lambda w: [w.requested_borrow.pk, "approve"],
        lambda w: {},
        lambda w: _refreshed(w.requested_borrow).state == BorrowState.APPROVED,
        label="approve",
    ),
    Action(
        "borrowing_transition",
        ("customers.check_borrowrequest",),
        lambda w: [w.returned_borrow.pk, "check"],
        lambda w: {"check_passed": "1"},
        lambda w: _refreshed(w.returned_borrow).state == BorrowState.CHECKED,
        label="check",
    ),
]


def _page_id(entry: Page | Action) -> str:
    return f"{entry.name}:{entry.label}" if isinstance(entry, Action) and entry.label else entry.name


def _open(client: Client, entry: Page, w: World) -> Any:
    if entry.method == "post":
        return client.post(entry.url(w), entry.data(w))
    return client.get(entry.url(w))


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("entry", PAGES, ids=_page_id)
def test_page_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role, entry, make_user, client_as, world
):
    user = make_user(role, username=role)
    w = world(user)
    response = _open(client_as(user), entry, w)
    if role_has(role, entry.perms, any_of=entry.any_of):
        assert response.status_code == entry.ok, (role, entry.name, response.status_code)
    else:
        assert response.status_code == 403, (role, entry.name, response.status_code)
        assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("entry", ACTIONS, ids=_page_id)
def test_page_action_is_done_for_roles_with_its_right_and_refused_with_a_message(
    role, entry, make_user, client_as, world
):
    user = make_user(role, username=role)
    w = world(user)
    response = client_as(user).post(entry.url(w), entry.data(w))
    assert response.status_code == 302
    if role_has(role, entry.perms):
        assert "success" in message_levels(response), (role, entry.name)
        assert entry.done(w)
    else:
        assert message_levels(response) == ["error"], (role, entry.name)
        assert not entry.done(w)


@pytest.mark.parametrize("entry", PAGES, ids=_page_id)
def test_user_without_a_role_gets_the_403_page(entry, make_user, client_as, world):
    user = make_user(None, department="centre")
    response = _open(client_as(user), entry, world(user))
    assert response.status_code == 403
    assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize("entry", PAGES + ACTIONS, ids=_page_id)
def test_anonymous_visitor_is_sent_to_the_login_page(entry, make_user, world):
    w = world(make_user("manager"))
    url = entry.url(w)
    client = Client()
    response = (
        client.post(url, entry.data(w))
        if isinstance(entry, Action) or entry.method == "post"
        else client.get(url)
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_every_archive_page_is_in_the_permission_table():
    names = {p.name for p in customer_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {e.name for e in PAGES} | {e.name for e in ACTIONS}


# --- API -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint(ApiEndpoint):
    action: str = ""  # which action of a route that takes one

    @property
    def id(self) -> str:
        return f"{self.operation} {self.action}".strip()


PATH_PARAMETERS = {
    "{w.customer.pk}": "{customer_id}",
    "{w.contact.pk}": "{contact_id}",
    "{w.document.pk}": "{document_id}",
    "{w.own_import.pk}": "{import_id}",
}
Endpoint.PATH_PARAMETERS = PATH_PARAMETERS


C = "/customers/{w.customer.pk}"

ENDPOINTS = [
    Endpoint("GET", "/customers", ("customers.view_customer",)),
    Endpoint("POST", "/customers", ("customers.add_customer",), 201, json=lambda w: {"name": "接口新建客户"}),
    Endpoint(
        "GET",
        "/customers/lookup?phone={w.customer.phone}",
        ("customers.view_customer",),
        route="/customers/lookup",
    ),
    Endpoint(
        "POST",
        "/customers/assign",
        ("customers.assign_customer",),
        json=lambda w: {"ids": [w.customer.pk], "owner_id": w.user.pk},
    ),
    Endpoint("GET", C, ("customers.view_customer",)),
    Endpoint("PATCH", C, ("customers.change_customer",), json=lambda w: {"city": "杭州"}),
    Endpoint(
        "POST", C + "/tier", ("customers.set_tier",), json=lambda w: {"tier": "A", "reason": "战略客户"}
    ),
    Endpoint("GET", C + "/tier-changes", ("customers.view_customer",)),
    Endpoint("GET", C + "/history", ("customers.view_customer",)),
    Endpoint("GET", C + "/contacts", ("customers.view_contact",)),
    Endpoint(
        "POST",
        C + "/contacts",
        ("customers.add_contact",),
        201,
        json=lambda w: {"name": "王经理", "mobile": "13911112222"},
    ),
    Endpoint(
        "PATCH", "/contacts/{w.contact.pk}", ("customers.change_contact",), json=lambda w: {"title": "经理"}
    ),
    Endpoint("DELETE", "/contacts/{w.contact.pk}", ("customers.delete_contact",), 204),
    Endpoint("GET", C + "/documents", ("customers.view_customerdocument",)),
    Endpoint(
        "POST",
        C + "/documents",
        ("customers.add_customerdocument",),
        201,
        form=lambda w: {"file": pdf_upload(), "kind": "contract"},
    ),
    Endpoint("GET", "/documents/{w.document.pk}/download", ("customers.view_customerdocument",)),
    Endpoint("GET", C + "/trades", ("customers.view_traderecord",)),
    Endpoint(
        "POST",
        C + "/trades",
        ("customers.add_traderecord",),
        201,
        json=lambda w: {"traded_on": timezone.localdate().isoformat(), "amount": "100.00"},
    ),
    Endpoint("GET", C + "/contact-records", ("customers.view_contactrecord",)),
    Endpoint(
        "POST",
        C + "/contact-records",
        ("customers.add_contactrecord",),
        201,
        json=lambda w: {"summary": "电话回访，客户满意", "channel": "phone"},
    ),
    Endpoint("GET", "/lists/big-customers", ("customers.view_customer",)),
    Endpoint("GET", "/lists/at-risk", ("customers.view_customer",)),
    Endpoint("GET", "/lists/birthdays", ("customers.view_customer",)),
    Endpoint("GET", "/borrowings", ("customers.view_borrowrequest",)),
    Endpoint(
        "POST",
        "/borrowings",
        ("customers.add_borrowrequest",),
        201,
        json=lambda w: {"document_id": w.document.pk, "purpose": "核对合同", "due_back_on": _week()},
    ),
    Endpoint(
        "POST",
        "/borrowings/{w.requested_borrow.pk}/approve",
        ("customers.approve_borrowrequest",),
        json=lambda w: {},
        route="/borrowings/{borrow_id}/{action}",
        action="approve",
    ),
    Endpoint(
        "POST",
        "/borrowings/{w.returned_borrow.pk}/check",
        ("customers.check_borrowrequest",),
        json=lambda w: {"check_passed": True},
        route="/borrowings/{borrow_id}/{action}",
        action="check",
    ),
    Endpoint("GET", "/policies/tier", ("customers.view_tierpolicy",)),
    Endpoint(
        "POST",
        "/policies/tier",
        ("customers.add_tierpolicy",),
        201,
        json=lambda w: {
            "effective_from": timezone.localdate().isoformat(),
            "a_min_tons": "30000",
            "b_min_tons": "12000",
        },
    ),
    Endpoint("GET", "/policies/churn", ("customers.view_churnpolicy",)),
    Endpoint(
        "POST",
        "/policies/churn",
        ("customers.add_churnpolicy",),
        201,
        json=lambda w: {
            "effective_from": timezone.localdate().isoformat(),
            "days_without_trade": 120,
            "days_without_contact": 60,
            "birthday_days_ahead": 10,
        },
    ),
    Endpoint("POST", "/imports", ("customers.import_customer",), 201, form=lambda w: {"file": xlsx_upload()}),
    Endpoint("GET", "/imports/{w.own_import.pk}", ("customers.import_customer",)),
    Endpoint("POST", "/imports/{w.own_import.pk}/confirm", ("customers.import_customer",), 201),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_endpoint_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role, endpoint, make_user, api_as, world
):
    user = make_user(role, username=role)
    w = world(user)
    response = endpoint.call(api_as(user), w)
    if role_has(role, endpoint.perms):
        assert response.status_code == endpoint.ok, (role, endpoint.id, response.content[:300])
    else:
        assert response.status_code == 403, (role, endpoint.id, response.status_code, response.content[:300])
        body = response.json()
        assert body["code"] == "permission_denied" and body["message"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_user_without_a_role_is_refused_by_every_endpoint(endpoint, make_user, api_as, world):
    user = make_user(None, department="centre")
    response = endpoint.call(api_as(user), world(user))
    assert response.status_code == 403, response.content[:300]
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_anonymous_caller_gets_401_json(endpoint, make_user, world):
    w = world(make_user("manager"))
    response = endpoint.call(Client(), w)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated" and body["message"]


def test_a_wrong_token_is_401_json(users):
    response = Client(HTTP_AUTHORIZATION="Bearer not-a-real-token").get(f"{API}/customers")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_every_archive_endpoint_is_in_the_permission_table():
    routes = {
        f"{method} {path}"
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert routes == {e.operation for e in ENDPOINTS}


# --- data scope ----------------------------------------------------------------------------------------


@dataclass
class Outsider:
    viewer: str
    owner: str
    label: str


OUTSIDERS = [
    Outsider("agent", "big_customer_specialist", "agent of 客服中心 opening a 大客户组 customer"),
    Outsider("technician", "coordinator", "technician opening a customer he does not own"),
]

SCOPED_PAGES = {
    "detail",
    "edit",
    "contact_create",
    "document_upload",
    "trade_create",
    "contact_record_create",
}
SCOPED_ENDPOINTS = {
    ("GET", C),
    ("PATCH", C),
    ("GET", C + "/contacts"),
    ("GET", C + "/history"),
    ("GET", C + "/tier-changes"),
    ("POST", C + "/tier"),
    ("POST", C + "/contacts"),
}

# Only the pages and endpoints the viewer has the right for: without it he gets 403 before any lookup.
SCOPE_PAGE_CASES = [
    pytest.param(case, page, id=f"{case.viewer}-{page.name}")
    for case in OUTSIDERS
    for page in PAGES
    if page.name in SCOPED_PAGES and role_has(case.viewer, page.perms)
]
SCOPE_API_CASES = [
    pytest.param(case, endpoint, id=f"{case.viewer}-{endpoint.id}")
    for case in OUTSIDERS
    for endpoint in ENDPOINTS
    if (endpoint.method, endpoint.path) in SCOPED_ENDPOINTS and role_has(case.viewer, endpoint.perms)
]


def _outside_customer(case: Outsider, users: dict[str, Any]) -> Customer:
    return make_customer(actor=users[case.owner], name="别组的客户")


def test_the_scope_cases_cover_both_viewers():
    assert {c.values[0].viewer for c in SCOPE_PAGE_CASES} == {"agent", "technician"}
    assert {c.values[0].viewer for c in SCOPE_API_CASES} == {"agent", "technician"}


@pytest.mark.parametrize(("case", "page"), SCOPE_PAGE_CASES)
def test_a_customer_outside_the_data_scope_is_404_on_its_pages(case, page, users, client_as):
    customer = _outside_customer(case, users)
    response = client_as(users[case.viewer]).get(reverse(f"customers:{page.name}", args=[customer.pk]))
    assert response.status_code == 404
    assert b'data-testid="error-page"' in response.content
    assert customer.name.encode() not in response.content


@pytest.mark.parametrize(("case", "endpoint"), SCOPE_API_CASES)
def test_a_customer_outside_the_data_scope_is_404_in_the_api(case, endpoint, users, api_as, make_user):
    customer = _outside_customer(case, users)
    w = World(users[case.viewer], make_user)
    w.customer = customer  # the records of World are cached properties; this one is someone else's
    response = endpoint.call(api_as(users[case.viewer]), w)
    assert response.status_code == 404, response.content[:300]
    assert response.json()["code"] == "not_found"
    customer.refresh_from_db()
    assert (customer.city, customer.tier_source, customer.contacts.count()) == ("", TierSource.POLICY, 0)


@pytest.mark.parametrize("case", OUTSIDERS, ids=lambda c: c.label)
def test_a_customer_outside_the_data_scope_is_missing_from_lists_and_search(case, users, api_as, client_as):
    customer = _outside_customer(case, users)
    viewer = users[case.viewer]
    own = make_customer(actor=viewer, name="自己的客户")
    ids = [item["id"] for item in api_as(viewer).get(f"{API}/customers?limit=500").json()["items"]]
    assert ids == [own.pk]
    lookup = api_as(viewer).get(f"{API}/customers/lookup", {"phone": customer.phone})
    assert (lookup.status_code, lookup.json()) == (200, [])
    page = client_as(viewer).get(reverse("customers:list"), {"q": customer.archive_number})
    assert page.status_code == 200
    assert customer.name.encode() not in page.content


def test_the_owner_of_a_customer_sees_it_whatever_his_department(users, api_as):
    """Data scope "only mine": the technician sees the customer he owns, even one filed under 大客户组."""
    customer = make_customer(
        actor=users["manager"], owner=users["technician"], department=users["salesperson"].department
    )
    response = api_as(users["technician"]).get(f"{API}/customers/{customer.pk}")
    assert response.status_code == 200
    assert response.json()["archive_number"] == customer.archive_number
