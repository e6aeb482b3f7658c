"""Archive pages beyond "it renders": forms, conflicts, bulk hand-over, export, query counts, caller lookup."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from kefu.customers import importing, services
from kefu.customers.models import Customer, CustomerImport
from tests.customers.conftest import count_queries, message_levels, xlsx_rows, xlsx_upload
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

ARCHIVE_NUMBER_COLUMN = 0


def form_data(**fields):
    return {"kind": "company", "lifecycle": "potential", **fields}


# --- create and edit ---------------------------------------------------------------------------------


def test_creating_a_customer_through_the_form_opens_its_file_with_the_archive_number(users, client_as):
    client = client_as(users["agent"])
    response = client.post(
        reverse("customers:create"), form_data(name="宁波港贸易有限公司", phone="0574-88886666")
    )
    customer = Customer.objects.get(name="宁波港贸易有限公司")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert message_levels(response) == ["success"]
    page = client.get(response["Location"]).content.decode()
    assert customer.archive_number.startswith("KH")
    assert customer.archive_number in page
    assert (customer.owner, customer.department) == (users["agent"], users["agent"].department)


def test_a_bad_phone_re_renders_the_form_with_the_error_on_the_field_and_writes_nothing(users, client_as):
    response = client_as(users["agent"]).post(
        reverse("customers:create"), form_data(name="坏号码公司", phone="12345")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-field-error="phone">[^<]*12345', html), (
        "the phone error is not shown at the phone field"
    )
    assert 'value="坏号码公司"' in html  # what was typed is kept
    assert not Customer.objects.exists()


def test_a_missing_name_is_shown_at_the_name_field(users, client_as):
    response = client_as(users["agent"]).post(reverse("customers:create"), form_data(name=""))
    assert 'data-field-error="name"' in response.content.decode()
    assert not Customer.objects.exists()


def test_an_agent_cannot_file_a_new_customer_under_another_department(users, client_as, departments):
    client_as(users["agent"]).post(
        reverse("customers:create"), form_data(name="想转走的客户", department=departments["big"].pk)
    )
    customer = Customer.objects.get(name="想转走的客户")
    assert customer.department == users["agent"].department


def test_editing_with_a_stale_version_shows_the_conflict_and_keeps_the_other_change(users, client_as):
    customer = make_customer(actor=users["agent"], name="原名公司")
    services.customer_update(actor=users["supervisor"], customer=customer, data={"city": "上海"}, version=1)
    response = client_as(users["manager"]).post(
        reverse("customers:edit", args=[customer.pk]), form_data(name="我改的名字", version=1)
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "原名公司" in errors[0]
    assert errors[0] in response.content.decode()
    customer.refresh_from_db()
    assert (customer.name, customer.city, customer.version) == ("原名公司", "上海", 2)


def test_editing_with_the_current_version_saves(users, client_as):
    customer = make_customer(actor=users["manager"], name="原名公司")
    response = client_as(users["manager"]).post(
        reverse("customers:edit", args=[customer.pk]), form_data(name="新名公司", version=1)
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.version) == ("新名公司", 2)


def test_agent_editing_a_member_keeps_the_phone_and_id_number_she_cannot_see(users, client_as):
    member = make_customer(
        actor=users["agent"], name="张三", kind="person", phone="13855501234", id_number="11010519491231002X"
    )
    client = client_as(users["agent"])
    form_page = client.get(reverse("customers:edit", args=[member.pk])).content.decode()
    assert "5550" not in form_page and "19491231" not in form_page
    # The browser does not send disabled fields; a crafted POST must not change them either.
    response = client.post(
        reverse("customers:edit", args=[member.pk]),
        form_data(kind="person", name="张三", city="杭州", version=1, id_number="", phone=""),
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.city, member.phone, member.id_number) == ("杭州", "13855501234", "11010519491231002X")


# --- bulk hand-over ------------------------------------------------------------------------------------


def test_supervisor_hands_ticked_customers_to_another_agent_from_the_list(users, client_as, make_user):
    colleague = make_user("agent", department="centre")
    ticked = [make_customer(actor=users["agent"]) for _ in range(2)]
    untouched = make_customer(actor=users["agent"])
    response = client_as(users["supervisor"]).post(
        reverse("customers:bulk"),
        {"ids": [c.pk for c in ticked], "owner": colleague.pk, "next": reverse("customers:list") + "?page=1"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:list") + "?page=1"
    assert message_levels(response) == ["success"]
    assert set(Customer.objects.filter(owner=colleague)) == set(ticked)
    untouched.refresh_from_db()
    assert untouched.owner == users["agent"]


def test_agent_bulk_hand_over_is_refused_with_a_message(users, client_as):
    customers = [make_customer(actor=users["agent"]) for _ in range(2)]
    response = client_as(users["agent"]).post(
        reverse("customers:bulk"), {"ids": [c.pk for c in customers], "owner": users["manager"].pk}
    )
    assert response.status_code == 302
    assert message_levels(response) == ["error"]
    assert Customer.objects.filter(owner=users["agent"]).count() == 2


def test_bulk_hand_over_without_ticks_asks_for_them(users, client_as):
    response = client_as(users["supervisor"]).post(reverse("customers:bulk"), {"owner": users["agent"].pk})
    assert message_levels(response) == ["warning"]


def test_bulk_hand_over_does_not_redirect_off_site(users, client_as):
    customer = make_customer(actor=users["agent"])
    response = client_as(users["supervisor"]).post(
        reverse("customers:bulk"),
        {"ids": [customer.pk], "owner": users["supervisor"].pk, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("customers:list")


def test_list_offers_the_hand_over_controls_only_to_those_who_may_assign(users, client_as):
    make_customer(actor=users["agent"])
    assert 'name="ids"' in client_as(users["supervisor"]).get(reverse("customers:list")).content.decode()
    assert 'name="ids"' not in client_as(users["agent"]).get(reverse("customers:list")).content.decode()


# --- export -------------------------------------------------------------------------------------------


def test_export_of_a_filtered_list_holds_exactly_the_filtered_rows(users, client_as):
    manager = users["manager"]
    tier_a = [make_customer(actor=manager, name=f"大客户{i}", annual_tons=20000 + i) for i in range(3)]
    make_customer(actor=manager, name="普通客户", annual_tons=100)
    make_customer(actor=manager, name="B级客户", annual_tons=15000)
    response = client_as(manager).get(reverse("customers:export"), {"tier": "A"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    exported = sorted(row[ARCHIVE_NUMBER_COLUMN] for row in xlsx_rows(response))
    assert exported == sorted(c.archive_number for c in tier_a)


def test_export_follows_the_search_box_and_the_ticked_ids(users, client_as):
    manager = users["manager"]
    zhang = make_customer(actor=manager, name="张三", kind="person")
    zhang_feng = make_customer(actor=manager, name="张三丰")
    make_customer(actor=manager, name="李四")
    client = client_as(manager)
    by_search = [
        r[ARCHIVE_NUMBER_COLUMN] for r in xlsx_rows(client.get(reverse("customers:export"), {"q": "zs"}))
    ]
    assert sorted(by_search) == sorted([zhang.archive_number, zhang_feng.archive_number])
    by_ids = xlsx_rows(client.get(reverse("customers:export"), {"q": "zs", "ids": [zhang.pk]}))
    assert [r[ARCHIVE_NUMBER_COLUMN] for r in by_ids] == [zhang.archive_number]


def test_export_holds_only_the_exporters_data_scope(users, client_as):
    own = make_customer(actor=users["agent"])
    make_customer(actor=users["big_customer_specialist"])
    rows = xlsx_rows(client_as(users["supervisor"]).get(reverse("customers:export")))
    assert [r[ARCHIVE_NUMBER_COLUMN] for r in rows] == [own.archive_number]


# --- query counts ------------------------------------------------------------------------------------------


def _add_customers(users, count):
    for i in range(count):
        owner = users["agent"] if i % 2 else users["supervisor"]
        customer = make_customer(
            actor=users["manager"],
            name=f"客户{i}",
            owner=owner,
            department=owner.department,
            annual_tons=25000 if i % 3 == 0 else None,
        )
        make_contact(actor=users["manager"], customer=customer)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("list", ""),
        ("list", "?q=kh&sort=name"),
        ("big_customers", ""),
    ],
)
def test_list_page_query_count_does_not_grow_with_rows(
    users, client_as, django_assert_max_num_queries, name, query
):
    client = client_as(users["manager"])
    url = reverse(f"customers:{name}") + query
    _add_customers(users, 5)
    client.get(url)  # warm per-process caches, as a running server has them
    few, response = count_queries(lambda: client.get(url))
    shown = len(response.context["page_obj"].object_list)
    _add_customers(users, 35)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert len(response.context["page_obj"].object_list) >= shown


def test_list_page_shows_a_full_page_of_twenty(users, client_as):
    _add_customers(users, 25)
    response = client_as(users["manager"]).get(reverse("customers:list"))
    assert len(response.context["page_obj"].object_list) == 20
    assert response.context["page_obj"].paginator.count == 25


# --- caller lookup --------------------------------------------------------------------------------------


def test_lookup_of_an_unknown_number_offers_quick_create_with_the_number_prefilled(users, client_as):
    client = client_as(users["agent"])
    response = client.get(reverse("customers:lookup"), {"phone": "139 1234 5678"})
    html = response.content.decode()
    assert 'data-testid="lookup-unknown"' in html
    link = re.search(r'href="([^"]*/customers/new/\?phone=[^"]*)"', html)
    assert link, "no quick-create link"
    form = client.get(link.group(1).replace("&amp;", "&"))
    assert form.status_code == 200
    assert form.context["form"]["phone"].value() == "139 1234 5678"
    assert 'value="139 1234 5678"' in form.content.decode()


def test_lookup_of_an_unknown_number_offers_no_quick_create_without_the_right(users, client_as):
    html = (
        client_as(users["technician"])
        .get(reverse("customers:lookup"), {"phone": "13912345678"})
        .content.decode()
    )
    assert 'data-testid="lookup-unknown"' in html
    assert "/customers/new/" not in html


def test_lookup_of_a_known_number_in_any_format_opens_the_callers_file(users, client_as):
    customer = make_customer(actor=users["agent"], name="来电客户", phone="13812345678")
    html = (
        client_as(users["agent"])
        .get(reverse("customers:lookup"), {"phone": "+86 138-1234-5678"})
        .content.decode()
    )
    assert 'data-testid="lookup-match"' in html
    assert reverse("customers:detail", args=[customer.pk]) in html


def test_lookup_of_an_incomplete_number_says_so(users, client_as):
    html = client_as(users["agent"]).get(reverse("customers:lookup"), {"phone": "1381234"}).content.decode()
    assert 'data-testid="lookup-unknown"' not in html and 'data-testid="lookup-match"' not in html
    assert "1381234" in html


# --- imports -----------------------------------------------------------------------------------------------


def test_imports_page_lists_only_own_imports_for_an_importer_who_cannot_see_numbers(
    make_user, client_as, users, django_capture_on_commit_callbacks
):
    """A manager may give the import right to a role without view_sensitive; that role sees its own jobs only."""
    group = Group.objects.create(name="导入员")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="customers",
            codename__in=["view_customer", "add_customer", "import_customer"],
        )
    )
    importer = make_user(None, department="archive")
    importer.groups.add(group)
    with django_capture_on_commit_callbacks(execute=True):
        mine = importing.customer_import_start(actor=importer, uploaded=xlsx_upload(name="我的.xlsx"))
        other = importing.customer_import_start(
            actor=users["archive_specialist"], uploaded=xlsx_upload(name="别人.xlsx")
        )
    response = client_as(importer).get(reverse("customers:imports"))
    assert response.status_code == 200
    assert [job.pk for job in response.context["jobs"]] == [mine.pk]
    assert client_as(importer).get(reverse("customers:import_detail", args=[other.pk])).status_code == 404
    assert CustomerImport.objects.count() == 2
