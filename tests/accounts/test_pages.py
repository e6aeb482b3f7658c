"""The staff pages: forms with inline errors, filters, bulk actions, export, query counts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.test import Client
from django.urls import reverse

from kefu.accounts.models import Department, Role, StaffGrade, User
from kefu.core.excel import XLSX_TYPE
from tests.conftest import PASSWORD


def _user_form(**extra: Any) -> dict[str, Any]:
    data = {
        "username": "lisi",
        "full_name": "李四",
        "password": "Kefu-lisi-2026",
        "password_again": "Kefu-lisi-2026",
        "is_active": "on",
    }
    data.update(extra)
    return data


def test_manager_adds_staff_through_the_form(
    users: dict[str, User], departments: dict[str, Department], client_as: Callable[[User], Client]
) -> None:
    agent_role = Role.objects.get(code="agent")
    response = client_as(users["manager"]).post(
        reverse("accounts:user_create"),
        _user_form(department=departments["centre"].pk, roles=[agent_role.pk]),
    )
    created = User.objects.get(username="lisi")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_edit", args=[created.pk])
    assert created.has_role("agent") and created.department == departments["centre"]


def test_weak_password_shows_inline_under_the_password_field(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    response = client_as(users["manager"]).post(
        reverse("accounts:user_create"), _user_form(password="12345678", password_again="12345678")
    )
    assert response.status_code == 200
    assert b'data-field-error="password"' in response.content
    assert not User.objects.filter(username="lisi").exists()


def test_taken_user_name_shows_inline(users: dict[str, User], client_as: Callable[[User], Client]) -> None:
    response = client_as(users["manager"]).post(reverse("accounts:user_create"), _user_form(username="agent"))
    assert b'data-field-error="username"' in response.content


def test_admin_role_is_not_offered_to_a_manager(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    admin_role = Role.objects.get(code="admin")
    manager_page = client_as(users["manager"]).get(reverse("accounts:user_create")).content.decode()
    admin_page = client_as(users["admin"]).get(reverse("accounts:user_create")).content.decode()
    admin_box = f'name="roles" value="{admin_role.pk}"'
    assert admin_box not in manager_page
    assert admin_box in admin_page


def test_manager_editing_own_account_cannot_deactivate_it(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    manager = users["manager"]
    response = client_as(manager).post(
        reverse("accounts:user_edit", args=[manager.pk]),
        {"username": "manager", "full_name": "经理", "roles": [Role.objects.get(code="manager").pk]},
    )
    assert response.status_code == 200
    assert b'data-field-error="is_active"' in response.content
    assert User.objects.get(pk=manager.pk).is_active


def test_manager_resets_a_password_on_the_edit_page(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    url = reverse("accounts:user_password", args=[users["agent"].pk])
    refused = client_as(users["manager"]).post(url, {"password": "abc", "password_again": "abc"})
    assert refused.status_code == 200 and b'data-field-error="password"' in refused.content
    done = client_as(users["manager"]).post(
        url, {"password": "Kefu-reset-2026", "password_again": "Kefu-reset-2026"}
    )
    assert done.status_code == 302
    assert User.objects.get(pk=users["agent"].pk).check_password("Kefu-reset-2026")


def test_list_searches_by_employee_number_and_filters_by_department_subtree(
    users: dict[str, User],
    departments: dict[str, Department],
    make_user: Callable[..., User],
    client_as: Callable[[User], Client],
) -> None:
    make_user("agent", username="wangwu", employee_number="KF-0042", department="complaints")
    client = client_as(users["manager"])
    found = client.get(reverse("accounts:users"), {"q": "0042"})
    assert [u.username for u in found.context["page_obj"].object_list] == ["wangwu"]
    below_service = client.get(reverse("accounts:users"), {"department": departments["service"].pk})
    names = {u.username for u in below_service.context["page_obj"].object_list}
    assert {"agent", "wangwu", "manager", "archive_specialist"} <= names
    assert "technician" not in names


def test_supervisor_sees_only_staff_of_their_data_scope(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    page = client_as(users["supervisor"]).get(reverse("accounts:users"), {"per_page": 100})
    names = {u.username for u in page.context["page_obj"].object_list}
    assert names == {"supervisor", "agent"}


def test_htmx_filter_returns_only_the_table(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    response = client_as(users["manager"]).get(
        reverse("accounts:users"), {"q": "agent"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert 'data-testid="user-table"' in body
    assert "<html" not in body


def test_bulk_deactivate_from_the_list(users: dict[str, User], client_as: Callable[[User], Client]) -> None:
    response = client_as(users["manager"]).post(
        reverse("accounts:users_bulk"),
        {"action": "deactivate", "ids": [users["agent"].pk, users["technician"].pk], "next": "/staff/?q=a"},
    )
    assert response.status_code == 302 and response["Location"] == "/staff/?q=a"
    assert not User.objects.filter(
        pk__in=[users["agent"].pk, users["technician"].pk], is_active=True
    ).exists()


def test_bulk_action_does_not_redirect_off_site(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    response = client_as(users["manager"]).post(
        reverse("accounts:users_bulk"),
        {"action": "activate", "ids": [users["agent"].pk], "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("accounts:users")


def test_staff_list_exports_to_excel(users: dict[str, User], client_as: Callable[[User], Client]) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    response = client_as(users["manager"]).get(reverse("accounts:users_export"), {"role": "agent"})
    assert response["Content-Type"] == XLSX_TYPE
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == ["agent"]


def test_staff_list_queries_do_not_grow_with_rows(
    users: dict[str, User],
    make_user: Callable[..., User],
    client_as: Callable[[User], Client],
    django_assert_max_num_queries: Any,
) -> None:
    client = client_as(users["manager"])
    client.get(reverse("accounts:users"))  # warm the session and content-type caches
    with django_assert_max_num_queries(20):
        client.get(reverse("accounts:users"), {"per_page": 100})
    for number in range(60):
        make_user("agent", username=f"extra{number}", department="centre")
    with django_assert_max_num_queries(20):
        response = client.get(reverse("accounts:users"), {"per_page": 100})
    assert len(response.context["page_obj"].object_list) == 74


def test_department_tree_page_lists_departments_in_tree_order(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    page = client_as(users["manager"]).get(reverse("accounts:departments"))
    names = [department.name for department in page.context["departments"]]
    assert names.index("运营总监") < names.index("客服部") < names.index("客服中心") < names.index("技术部")


def test_department_moved_under_its_child_shows_the_error_inline(
    users: dict[str, User], departments: dict[str, Department], client_as: Callable[[User], Client]
) -> None:
    service = departments["service"]
    # The form offers no such parent; a hand-made request gets a form error, not a 500.
    response = client_as(users["manager"]).post(
        reverse("accounts:department_edit", args=[service.pk]),
        {"name": "客服部", "code": "service", "parent": departments["centre"].pk},
    )
    assert response.status_code == 200
    assert b'data-field-error="parent"' in response.content


def test_deleting_a_department_with_staff_explains_why_not(
    users: dict[str, User], departments: dict[str, Department], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["manager"])
    response = client.post(
        reverse("accounts:department_delete", args=[departments["centre"].pk]), follow=True
    )
    assert "alert-danger" in response.content.decode()
    assert Department.objects.filter(pk=departments["centre"].pk).exists()


def test_role_page_saves_scope_and_grouped_rights(
    users: dict[str, User], departments: dict[str, Department], client_as: Callable[[User], Client]
) -> None:
    role = Role.objects.get(code="technician")
    client = client_as(users["manager"])
    page = client.get(reverse("accounts:role_edit", args=[role.pk])).content.decode()
    assert 'value="customers.view_customer"' in page and 'value="accounts.view_user"' in page
    response = client.post(
        reverse("accounts:role_edit", args=[role.pk]),
        {
            "name": "技术员",
            "data_scope": "departments",
            "scope_departments": [departments["tech"].pk],
            "permissions": ["customers.view_customer", "accounts.view_department"],
        },
    )
    assert response.status_code == 302
    role.refresh_from_db()
    assert role.data_scope == "departments"
    assert list(role.scope_departments.all()) == [departments["tech"]]


def test_grade_form_keeps_yuan_and_rejects_negative_amounts(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["manager"])
    refused = client.post(
        reverse("accounts:grade_create"), {"name": "P1", "level": 1, "base_salary": "-5", "allowance": "0"}
    )
    assert b'data-field-error="base_salary"' in refused.content
    client.post(
        reverse("accounts:grade_create"),
        {"name": "P1", "level": 1, "base_salary": "4200.50", "allowance": "300"},
    )
    assert StaffGrade.objects.get(name="P1").base_salary == Decimal("4200.50")
    listing = client.get(reverse("accounts:grades")).content.decode()
    # Chinese number formats have no thousands separator; English ones a comma.
    assert "¥4200.50" in listing.replace(",", "")


def test_own_password_change_needs_the_old_password(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["agent"])
    wrong = client.post(
        reverse("accounts:password_change"),
        {"old_password": "not-it", "new_password1": "Kefu-mine-2026", "new_password2": "Kefu-mine-2026"},
    )
    assert b'data-field-error="old_password"' in wrong.content
    right = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "Kefu-mine-2026", "new_password2": "Kefu-mine-2026"},
    )
    assert right.status_code == 302
    assert User.objects.get(pk=users["agent"].pk).check_password("Kefu-mine-2026")


HUGE = str(10**25)


def test_odd_query_strings_never_break_the_pages(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["manager"])
    odd = [
        ("accounts:users", {"department": HUGE, "page": HUGE, "per_page": "x", "sort": "zz", "active": "2"}),
        ("accounts:department_create", {"parent": HUGE}),
        (
            "core:operation_log",
            {"date_from": "0001-01-01", "date_to": "9999-12-31", "ip": "::1", "result": "zz"},
        ),
        ("core:sensitive_access", {"date_from": "yesterday", "object_type": "a"}),
    ]
    for name, query in odd:
        assert client.get(reverse(name), query).status_code == 200, (name, query)
    # A NUL character is refused before any page sees it.
    assert client.get(reverse("accounts:users"), {"q": "a\x00b", "role": "\x00"}).status_code == 400
    assert client.get(reverse("core:sensitive_access"), {"object_type": "a\x00"}).status_code == 400
    assert client.get(reverse("accounts:user_edit", args=[10**25])).status_code == 404


def test_odd_form_posts_are_answered_with_the_form_not_a_500(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["manager"])
    posts = [
        ("accounts:users_bulk", {"action": "deactivate", "ids": [HUGE, "x"]}, 302),
        ("accounts:department_create", {"name": "x", "parent": HUGE, "head": HUGE}, 200),
        ("accounts:user_create", {"username": "a", "department": HUGE, "grade": HUGE}, 200),
        ("accounts:grade_create", {"name": "a\x00", "level": HUGE, "base_salary": "1e30"}, 400),
        ("accounts:grade_create", {"name": "a", "level": HUGE, "base_salary": "1e30"}, 200),
        ("accounts:tokens", {"name": "n", "expires_on": "9999-12-31"}, 200),
    ]
    for name, data, status in posts:
        assert client.post(reverse(name), data).status_code == status, name
    assert not users["manager"].api_tokens.exists()
