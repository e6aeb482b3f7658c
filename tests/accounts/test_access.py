"""Who may open which staff page and call which staff endpoint: every role, allowed and denied.

The tables below are written out by hand on purpose: they are the specification that the roles'
default rights in kefu/accounts/roles.py must meet, not a copy of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kefu.accounts.models import Department, Role, StaffGrade, User
from kefu.accounts.roles import ROLE_CODES

ALL_ROLES = frozenset(ROLE_CODES)
STAFF_ADMINS = frozenset({"admin", "manager"})
STAFF_READERS = STAFF_ADMINS | {"assistant", "supervisor", "leader", "president"}
LOG_READERS = STAFF_READERS
CALENDAR_READERS = STAFF_ADMINS | {"assistant", "supervisor"}

# url name → (roles that may open it, how to build its arguments from the test data)
PAGES: dict[str, tuple[frozenset[str], Callable[[dict[str, Any]], list[Any]]]] = {
    "accounts:users": (STAFF_READERS, lambda d: []),
    "accounts:users_export": (STAFF_READERS, lambda d: []),
    "accounts:user_create": (STAFF_ADMINS, lambda d: []),
    "accounts:user_edit": (STAFF_ADMINS, lambda d: [d["users"]["agent"].pk]),
    "accounts:departments": (STAFF_READERS, lambda d: []),
    "accounts:department_create": (STAFF_ADMINS, lambda d: []),
    "accounts:department_edit": (STAFF_ADMINS, lambda d: [d["departments"]["centre"].pk]),
    "accounts:roles": (STAFF_ADMINS, lambda d: []),
    "accounts:role_edit": (STAFF_ADMINS, lambda d: [Role.objects.get(code="agent").pk]),
    "accounts:grades": (STAFF_ADMINS, lambda d: []),
    "accounts:grade_create": (STAFF_ADMINS, lambda d: []),
    "accounts:grade_edit": (STAFF_ADMINS, lambda d: [d["grade"].pk]),
    "accounts:tokens": (ALL_ROLES, lambda d: []),
    "accounts:password_change": (ALL_ROLES, lambda d: []),
    "core:operation_log": (LOG_READERS, lambda d: []),
    "core:sensitive_access": (STAFF_ADMINS, lambda d: []),
    "core:calendar": (CALENDAR_READERS, lambda d: []),
    "core:calendar_year": (CALENDAR_READERS, lambda d: [2027]),
}

# GET endpoints under /api/v1/ → roles that may call them
API_READS: dict[str, frozenset[str]] = {
    "/me": ALL_ROLES,
    "/users": STAFF_READERS,
    "/departments": STAFF_READERS,
    "/roles": STAFF_ADMINS,
    "/grades": STAFF_ADMINS,
    "/tokens": ALL_ROLES,
    "/operation-log": LOG_READERS,
    "/sensitive-access": STAFF_ADMINS,
    "/calendar/years/2026": CALENDAR_READERS,
    "/calendar/due?hours=4": CALENDAR_READERS,
}


def _cases(table: dict[str, Any], *, allowed: bool) -> list[Any]:
    cases = []
    for name, entry in table.items():
        roles = entry[0] if isinstance(entry, tuple) else entry
        for role in ROLE_CODES:
            if (role in roles) == allowed:
                cases.append(pytest.param(name, role, id=f"{role}-{name}"))
    return cases


@pytest.fixture
def data(users: dict[str, User], departments: dict[str, Department]) -> dict[str, Any]:
    return {
        "users": users,
        "departments": departments,
        "grade": StaffGrade.objects.create(name="P3", level=3),
    }


def _url(name: str, data: dict[str, Any]) -> str:
    return reverse(name, args=PAGES[name][1](data))


@pytest.mark.parametrize(("page", "role"), _cases(PAGES, allowed=True))
def test_role_with_the_right_opens_the_page(
    page: str, role: str, data: dict[str, Any], client_as: Callable[[User], Client]
) -> None:
    response = client_as(data["users"][role]).get(_url(page, data))
    assert response.status_code == 200


@pytest.mark.parametrize(("page", "role"), _cases(PAGES, allowed=False))
def test_role_without_the_right_sees_the_403_page(
    page: str, role: str, data: dict[str, Any], client_as: Callable[[User], Client]
) -> None:
    response = client_as(data["users"][role]).get(_url(page, data))
    assert response.status_code == 403
    assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize("page", list(PAGES))
def test_anonymous_visitor_is_sent_to_sign_in(page: str, data: dict[str, Any]) -> None:
    response = Client().get(_url(page, data))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("path", "role"), _cases(API_READS, allowed=True))
def test_role_with_the_right_reads_the_endpoint(
    path: str, role: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users[role]).get(f"/api/v1{path}")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("path", "role"), _cases(API_READS, allowed=False))
def test_role_without_the_right_gets_403_from_the_endpoint(
    path: str, role: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users[role]).get(f"/api/v1{path}")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("role", ROLE_CODES)
def test_only_staff_administrators_may_add_a_grade_through_the_api(
    role: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users[role]).post(
        "/api/v1/grades", {"name": f"grade-{role}", "base_salary": "3000"}, content_type="application/json"
    )
    assert response.status_code == (201 if role in STAFF_ADMINS else 403)


@pytest.mark.parametrize("role", ROLE_CODES)
def test_only_staff_administrators_may_add_a_department_through_the_api(
    role: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users[role]).post(
        "/api/v1/departments", {"name": f"新组 {role}"}, content_type="application/json"
    )
    assert response.status_code == (201 if role in STAFF_ADMINS else 403)


@pytest.mark.parametrize("role", ROLE_CODES)
def test_only_staff_administrators_may_change_a_role_through_the_api(
    role: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    agent_role = Role.objects.get(code="agent")
    response = api_as(users[role]).patch(
        f"/api/v1/roles/{agent_role.pk}", {"description": f"by {role}"}, content_type="application/json"
    )
    assert response.status_code == (200 if role in STAFF_ADMINS else 403)


def test_agent_cannot_open_staff_list(users: dict[str, User], client_as: Callable[[User], Client]) -> None:
    assert client_as(users["agent"]).get(reverse("accounts:users")).status_code == 403


def test_supervisor_may_read_staff_list_but_not_add_staff(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["supervisor"])
    listing = client.get(reverse("accounts:users"))
    assert listing.status_code == 200
    assert b'data-testid="new-user"' not in listing.content
    assert client.get(reverse("accounts:user_create")).status_code == 403


def test_sidebar_shows_organisation_pages_only_to_those_who_may_open_them(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    manager_home = client_as(users["manager"]).get(reverse("home")).content.decode()
    agent_home = client_as(users["agent"]).get(reverse("home")).content.decode()
    for name in ("accounts:users", "accounts:roles", "core:operation_log"):
        assert f'href="{reverse(name)}"' in manager_home
        assert f'href="{reverse(name)}"' not in agent_home
    assert f'href="{reverse("accounts:tokens")}"' in agent_home


@pytest.mark.parametrize("role", ROLE_CODES)
def test_only_staff_administrators_may_enter_a_holiday_schedule(
    role: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users[role]).put(
        "/api/v1/calendar/years/2027",
        {"holidays": [{"date": "2027-01-01", "name": "元旦"}]},
        content_type="application/json",
    )
    assert response.status_code == (200 if role in STAFF_ADMINS else 403)
