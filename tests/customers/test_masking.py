"""Phone and ID numbers (数据脱敏): masked for roles without customers.view_sensitive, shown and logged
for the others, the same on pages, in the API and in Excel exports."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kefu.accounts.roles import ROLE_DEFINITIONS
from kefu.core.models import SensitiveAccess
from kefu.customers import services
from tests.customers.conftest import API, text_of_testid, xlsx_rows
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

PHONE = "13855501234"
PHONE_SHOWN = "138 5550 1234"  # pages format numbers for reading
PHONE_MASKED_PAGE = "138****1234"
PHONE_MASKED = "138****1234"
NEW_PHONE = "13944402345"
ID_NUMBER = "11010519491231002X"
ID_MASKED = "110105********002X"
MOBILE = "13966607777"
MOBILE_SHOWN = "139 6660 7777"
MOBILE_MASKED_PAGE = "139****7777"
MOBILE_MASKED = "139****7777"
# The hidden middle digits: none of them may reach a viewer without the right, in any format.
SECRETS = ["5550", "4440", "6660", "19491231"]

RIGHTS = {d.code: set(d.permissions) for d in ROLE_DEFINITIONS}


# Times in the answers (history entries, "…T16:14:44.440123+08:00") may hold the same digits by chance.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def assert_no_secret(text: str) -> None:
    text = TIMESTAMP.sub("<time>", text)
    for secret in SECRETS:
        assert secret not in text, secret


@pytest.fixture
def member(users):
    """A member of the 客服中心, so the agent (own department) and the manager (all) both see it."""
    customer = make_customer(
        actor=users["agent"], name="张三", kind="person", phone=PHONE, id_number=ID_NUMBER
    )
    make_contact(actor=users["agent"], customer=customer, name="张小三", mobile=MOBILE)
    return customer


def test_the_roles_under_test_differ_in_the_sensitive_right():
    assert "customers.view_sensitive" not in RIGHTS["agent"]
    assert "customers.view_sensitive" in RIGHTS["manager"]


# --- pages -----------------------------------------------------------------------------------------


def test_agent_sees_phone_and_id_number_masked_in_the_customer_file(users, member, client_as):
    response = client_as(users["agent"]).get(reverse("customers:detail", args=[member.pk]))
    assert response.status_code == 200
    assert text_of_testid(response, "customer-phone") == PHONE_MASKED_PAGE
    assert text_of_testid(response, "customer-id-number") == ID_MASKED
    assert_no_secret(response.content.decode())


def test_manager_sees_phone_and_id_number_in_the_customer_file(users, member, client_as):
    response = client_as(users["manager"]).get(reverse("customers:detail", args=[member.pk]))
    assert text_of_testid(response, "customer-phone") == PHONE_SHOWN
    assert text_of_testid(response, "customer-id-number") == ID_NUMBER


def test_contact_mobiles_are_masked_for_the_agent_in_the_contacts_tab(users, member, client_as):
    url = reverse("customers:detail", args=[member.pk]) + "?tab=contacts"
    agent_page = client_as(users["agent"]).get(url).content.decode()
    assert MOBILE_MASKED_PAGE in agent_page
    assert_no_secret(agent_page)
    assert MOBILE_SHOWN in client_as(users["manager"]).get(url).content.decode()


def test_agent_sees_phones_masked_in_the_customer_list(users, member, client_as):
    response = client_as(users["agent"]).get(reverse("customers:list"))
    html = response.content.decode()
    assert member.name in html
    assert PHONE_MASKED_PAGE in html
    assert_no_secret(html)


def test_manager_sees_phones_in_the_customer_list(users, member, client_as):
    html = client_as(users["manager"]).get(reverse("customers:list")).content.decode()
    assert PHONE_SHOWN in html


def test_agent_sees_the_callers_file_with_contact_phones_masked_in_the_lookup(users, member, client_as):
    response = client_as(users["agent"]).get(reverse("customers:lookup"), {"phone": PHONE})
    html = response.content.decode()
    assert 'data-testid="lookup-match"' in html
    assert member.name in html
    assert MOBILE_MASKED_PAGE in html
    # The number the agent typed is echoed back in the search box; nothing else may be revealed.
    assert "6660" not in html and ID_NUMBER not in html


def test_manager_sees_contact_phones_in_the_lookup(users, member, client_as):
    html = client_as(users["manager"]).get(reverse("customers:lookup"), {"phone": PHONE}).content.decode()
    assert MOBILE_SHOWN in html


@pytest.fixture
def changed_member(users, member):
    services.customer_update(actor=users["manager"], customer=member, data={"phone": NEW_PHONE})
    return member


def test_history_tab_masks_old_and_new_phone_for_the_agent(users, changed_member, client_as):
    url = reverse("customers:detail", args=[changed_member.pk]) + "?tab=history"
    html = client_as(users["agent"]).get(url).content.decode()
    assert 'data-testid="history-table"' in html
    assert f"{PHONE_MASKED_PAGE} → 139****2345" in html
    assert_no_secret(html)


def test_history_tab_shows_old_and_new_phone_to_the_manager(users, changed_member, client_as):
    url = reverse("customers:detail", args=[changed_member.pk]) + "?tab=history"
    html = client_as(users["manager"]).get(url).content.decode()
    assert f"{PHONE_SHOWN} → 139 4440 2345" in html


# --- API ---------------------------------------------------------------------------------------------


def test_agent_gets_phones_masked_from_the_list_endpoint(users, member, api_as):
    items = api_as(users["agent"]).get(f"{API}/customers").json()["items"]
    assert [(i["id"], i["phone"]) for i in items] == [(member.pk, PHONE_MASKED)]


def test_manager_gets_phones_from_the_list_endpoint(users, member, api_as):
    items = api_as(users["manager"]).get(f"{API}/customers").json()["items"]
    assert [(i["id"], i["phone"]) for i in items] == [(member.pk, PHONE)]


def test_agent_gets_phone_and_id_number_masked_from_the_detail_endpoint(users, member, api_as):
    body = api_as(users["agent"]).get(f"{API}/customers/{member.pk}").json()
    assert (body["phone"], body["id_number"]) == (PHONE_MASKED, ID_MASKED)


def test_manager_gets_phone_and_id_number_from_the_detail_endpoint(users, member, api_as):
    body = api_as(users["manager"]).get(f"{API}/customers/{member.pk}").json()
    assert (body["phone"], body["id_number"]) == (PHONE, ID_NUMBER)


def test_agent_gets_contact_mobiles_masked_from_the_contacts_endpoint(users, member, api_as):
    agent = api_as(users["agent"]).get(f"{API}/customers/{member.pk}/contacts").json()
    manager = api_as(users["manager"]).get(f"{API}/customers/{member.pk}/contacts").json()
    assert [c["mobile"] for c in agent] == [MOBILE_MASKED]
    assert [c["mobile"] for c in manager] == [MOBILE]


def test_caller_lookup_endpoint_masks_for_the_agent(users, member, api_as):
    agent = api_as(users["agent"]).get(f"{API}/customers/lookup", {"phone": PHONE}).json()
    assert [(c["id"], c["phone"]) for c in agent] == [(member.pk, PHONE_MASKED)]


def _phone_changes(body: list[dict]) -> list[list[str]]:
    return [
        entry["changes"]["phone"]
        for entry in body
        if entry["record_type"] == "customer" and "phone" in entry["changes"]
    ]


def test_history_endpoint_masks_old_and_new_phone_for_the_agent(users, changed_member, api_as):
    response = api_as(users["agent"]).get(f"{API}/customers/{changed_member.pk}/history")
    assert response.status_code == 200
    assert [PHONE_MASKED, "139****2345"] in _phone_changes(response.json())
    assert_no_secret(response.content.decode())


def test_history_endpoint_shows_old_and_new_phone_to_the_manager(users, changed_member, api_as):
    body = api_as(users["manager"]).get(f"{API}/customers/{changed_member.pk}/history").json()
    assert [PHONE, NEW_PHONE] in _phone_changes(body)


# --- Excel export -------------------------------------------------------------------------------------

# Export needs its own right, which the agent lacks; the masking rule is the same for every role without
# view_sensitive, so the masked side is checked with a role that may export but not see the numbers.
MASKED_EXPORTERS = sorted(
    code
    for code, rights in RIGHTS.items()
    if "customers.export_customer" in rights and "customers.view_sensitive" not in rights
)
COLUMN = {"archive_number": 0, "phone": 5, "id_number": 7, "contact_mobile": 9}


def test_some_role_may_export_without_seeing_the_numbers():
    assert MASKED_EXPORTERS, "no role exports masked data any more: pick another masked exporter"


def test_agent_may_not_export_at_all(users, member, client_as):
    assert client_as(users["agent"]).get(reverse("customers:export")).status_code == 403


@pytest.mark.parametrize("role", MASKED_EXPORTERS)
def test_export_masks_phone_id_number_and_contact_mobile_for_a_role_without_the_right(
    role, users, member, client_as
):
    response = client_as(users[role]).get(reverse("customers:export"))
    assert response.status_code == 200
    row = next(r for r in xlsx_rows(response) if r[COLUMN["archive_number"]] == member.archive_number)
    assert row[COLUMN["phone"]] == PHONE_MASKED
    assert row[COLUMN["id_number"]] == ID_MASKED
    assert row[COLUMN["contact_mobile"]] == MOBILE_MASKED
    assert not SensitiveAccess.objects.exists()


def test_export_shows_the_numbers_to_the_manager_and_logs_it(users, member, client_as):
    response = client_as(users["manager"]).get(reverse("customers:export"))
    rows = xlsx_rows(response)
    row = next(r for r in rows if r[COLUMN["archive_number"]] == member.archive_number)
    assert (row[COLUMN["phone"]], row[COLUMN["id_number"]], row[COLUMN["contact_mobile"]]) == (
        PHONE,
        ID_NUMBER,
        MOBILE,
    )
    access = SensitiveAccess.objects.get()
    assert (access.actor, access.channel, access.count) == (users["manager"], "export", len(rows))


# --- the access log -----------------------------------------------------------------------------------


def _page(users, client_as, role, url):
    response = client_as(users[role]).get(url)
    assert response.status_code == 200
    return response


def _api(users, api_as, role, url):
    response = api_as(users[role]).get(url)
    assert response.status_code == 200
    return response


VIEWS = [
    pytest.param("page", lambda m: reverse("customers:detail", args=[m.pk]), "customer", id="customer file"),
    pytest.param(
        "page",
        lambda m: reverse("customers:detail", args=[m.pk]) + "?tab=history",
        "customer",
        id="history tab",
    ),
    pytest.param("page", lambda m: reverse("customers:list"), "customer", id="customer list"),
    pytest.param(
        "page", lambda m: reverse("customers:lookup") + f"?phone={MOBILE}", "customer", id="caller lookup"
    ),
    pytest.param("api", lambda m: f"{API}/customers", "customer", id="api list"),
    pytest.param("api", lambda m: f"{API}/customers/{m.pk}", "customer", id="api detail"),
    pytest.param("api", lambda m: f"{API}/customers/{m.pk}/contacts", "contact", id="api contacts"),
    pytest.param("api", lambda m: f"{API}/customers/{m.pk}/history", "customer", id="api history"),
    pytest.param("api", lambda m: f"{API}/customers/lookup?phone={MOBILE}", "customer", id="api lookup"),
]


@pytest.mark.parametrize(("channel", "url", "object_type"), VIEWS)
def test_unmasked_view_writes_an_access_log_line_with_the_viewer(
    channel, url, object_type, users, changed_member, client_as, api_as
):
    SensitiveAccess.objects.all().delete()
    opener = _page if channel == "page" else _api
    opener(users, client_as if channel == "page" else api_as, "manager", url(changed_member))
    lines = list(SensitiveAccess.objects.all())
    assert [(a.actor, a.channel, a.object_type) for a in lines] == [(users["manager"], channel, object_type)]
    assert lines[0].fields


@pytest.mark.parametrize(("channel", "url", "object_type"), VIEWS)
def test_masked_view_writes_no_access_log_line(
    channel, url, object_type, users, changed_member, client_as, api_as
):
    SensitiveAccess.objects.all().delete()
    opener = _page if channel == "page" else _api
    opener(users, client_as if channel == "page" else api_as, "agent", url(changed_member))
    assert not SensitiveAccess.objects.exists()


def test_access_log_of_the_customer_file_names_the_record(users, member, client_as):
    client_as(users["manager"]).get(reverse("customers:detail", args=[member.pk]))
    access = SensitiveAccess.objects.get()
    assert (access.object_id, access.object_label, access.channel) == (member.pk, member.name, "page")
    assert "phone" in access.fields and "id_number" in access.fields
