"""The staff API: CRUD through the services, JSON errors for bad input, flat query counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from kefu.accounts.models import Department, Role, User

JSON = "application/json"


@pytest.fixture
def manager_api(users: dict[str, User], api_as: Callable[[User], Client]) -> Client:
    return api_as(users["manager"])


def test_manager_adds_and_changes_staff_through_the_api(
    manager_api: Client, departments: dict[str, Department]
) -> None:
    created = manager_api.post(
        "/api/v1/users",
        {
            "username": "zhaoliu",
            "full_name": "赵六",
            "password": "Kefu-zhao-2026",
            "roles": ["agent"],
            "department_id": departments["centre"].pk,
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["roles"] == ["agent"] and body["department_name"] == "客服中心"
    assert "password" not in body
    changed = manager_api.patch(
        f"/api/v1/users/{body['id']}", {"title": "夜班", "roles": ["agent", "salesperson"]}, content_type=JSON
    )
    assert changed.status_code == 200
    assert changed.json()["title"] == "夜班"
    assert sorted(changed.json()["roles"]) == ["agent", "salesperson"]
    assert changed.json()["full_name"] == "赵六"  # untouched by the PATCH


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"full_name": "无名"}, "username"),
        ({"username": "x y z", "full_name": "空格", "password": "Kefu-xyz-2026"}, "username"),
        ({"username": "ok", "full_name": "弱", "password": "password"}, "password"),
        (
            {"username": "ok", "full_name": "部门", "password": "Kefu-ok-2026", "department_id": 10**12},
            "department",
        ),
        ({"username": "ok", "full_name": "角色", "password": "Kefu-ok-2026", "roles": "agent"}, "roles"),
        ({"username": "ok", "full_name": "电话", "password": "Kefu-ok-2026", "phone": "phone"}, "phone"),
    ],
)
def test_bad_staff_input_is_a_400_with_the_field_named(
    manager_api: Client, payload: dict[str, Any], field: str
) -> None:
    response = manager_api.post("/api/v1/users", payload, content_type=JSON)
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"]


def test_manager_granting_admin_through_the_api_gets_403(manager_api: Client, users: dict[str, User]) -> None:
    response = manager_api.patch(
        f"/api/v1/users/{users['agent'].pk}", {"roles": ["admin"]}, content_type=JSON
    )
    assert response.status_code == 403
    assert "roles" in response.json()["detail"]


def test_unknown_ids_are_404_not_500(manager_api: Client) -> None:
    for path in (
        "/api/v1/users/999999",
        f"/api/v1/users/{2**63}",
        "/api/v1/roles/999999",
        "/api/v1/grades/0",
    ):
        response = manager_api.get(path)
        assert response.status_code in (404, 400), path
        assert "code" in response.json()


def test_malformed_json_is_a_400(manager_api: Client) -> None:
    response = manager_api.post("/api/v1/grades", "{not json", content_type=JSON)
    assert response.status_code == 400


def test_users_list_is_paginated_and_filtered_by_department_subtree(
    manager_api: Client, departments: dict[str, Department]
) -> None:
    first = manager_api.get("/api/v1/users", {"department_id": departments["service"].pk, "limit": 2}).json()
    assert first["count"] >= 5 and len(first["items"]) == 2
    everyone = manager_api.get(
        "/api/v1/users", {"department_id": departments["service"].pk, "limit": 100}
    ).json()
    assert "technician" not in {user["username"] for user in everyone["items"]}
    assert manager_api.get("/api/v1/users", {"limit": 0}).status_code == 400


def test_users_list_query_count_does_not_grow_with_rows(
    manager_api: Client, make_user: Callable[..., User], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(10):
        manager_api.get("/api/v1/users", {"limit": 200})
    for number in range(40):
        make_user("agent", username=f"more{number}")
    with django_assert_max_num_queries(10):
        response = manager_api.get("/api/v1/users", {"limit": 200})
    assert len(response.json()["items"]) == 54


def test_department_tree_create_move_and_delete(
    manager_api: Client, departments: dict[str, Department]
) -> None:
    created = manager_api.post(
        "/api/v1/departments", {"name": "回访组", "parent_id": departments["centre"].pk}, content_type=JSON
    )
    assert created.status_code == 201
    new = created.json()
    assert new["depth"] == 3 and new["code"] == "huifangzu"
    tree = manager_api.get("/api/v1/departments").json()
    assert [d["id"] for d in tree].index(new["id"]) == [d["id"] for d in tree].index(
        departments["centre"].pk
    ) + 1
    moved = manager_api.patch(
        f"/api/v1/departments/{new['id']}", {"parent_id": departments["tech"].pk}, content_type=JSON
    )
    assert moved.json()["parent_id"] == departments["tech"].pk
    assert manager_api.delete(f"/api/v1/departments/{new['id']}").status_code == 204


def test_department_moved_under_its_descendant_is_a_400(
    manager_api: Client, departments: dict[str, Department]
) -> None:
    response = manager_api.patch(
        f"/api/v1/departments/{departments['top'].pk}",
        {"parent_id": departments["centre"].pk},
        content_type=JSON,
    )
    assert response.status_code == 400
    assert "parent" in response.json()["detail"]


def test_department_in_use_is_not_deleted(manager_api: Client, departments: dict[str, Department]) -> None:
    response = manager_api.delete(f"/api/v1/departments/{departments['centre'].pk}")
    assert response.status_code == 400
    assert response.json()["code"] == "department_in_use"


def test_role_rights_are_read_and_replaced(manager_api: Client) -> None:
    role = Role.objects.get(code="team_leader")
    before = manager_api.get(f"/api/v1/roles/{role.pk}").json()
    assert "customers.view_customer" in before["permissions"]
    after = manager_api.patch(
        f"/api/v1/roles/{role.pk}",
        {"permissions": ["customers.view_customer"], "data_scope": "own_department"},
        content_type=JSON,
    )
    assert after.status_code == 200
    assert after.json()["permissions"] == ["customers.view_customer"]
    assert after.json()["data_scope"] == "own_department"


def test_role_with_unknown_data_scope_is_a_400(manager_api: Client) -> None:
    role = Role.objects.get(code="agent")
    response = manager_api.patch(f"/api/v1/roles/{role.pk}", {"data_scope": "galaxy"}, content_type=JSON)
    assert response.status_code == 400 and "data_scope" in response.json()["detail"]


def test_grades_crud_keeps_money_exact(manager_api: Client) -> None:
    created = manager_api.post(
        "/api/v1/grades", {"name": "P4", "level": 4, "base_salary": "5200.5"}, content_type=JSON
    )
    assert created.status_code == 201
    grade = created.json()
    assert grade["base_salary"] == "5200.50"
    patched = manager_api.patch(f"/api/v1/grades/{grade['id']}", {"allowance": 300}, content_type=JSON)
    assert patched.json()["allowance"] == "300.00" and patched.json()["base_salary"] == "5200.50"
    assert manager_api.get("/api/v1/grades").json()[0]["name"] == "P4"
    assert manager_api.delete(f"/api/v1/grades/{grade['id']}").status_code == 204
    assert manager_api.get(f"/api/v1/grades/{grade['id']}").status_code == 404


def test_negative_salary_is_a_400(manager_api: Client) -> None:
    response = manager_api.post("/api/v1/grades", {"name": "P0", "base_salary": "-1"}, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"


def test_password_reset_through_the_api(manager_api: Client, users: dict[str, User]) -> None:
    weak = manager_api.post(
        f"/api/v1/users/{users['agent'].pk}/password", {"password": "1234"}, content_type=JSON
    )
    assert weak.status_code == 400
    done = manager_api.post(
        f"/api/v1/users/{users['agent'].pk}/password", {"password": "Kefu-api-2026"}, content_type=JSON
    )
    assert done.status_code == 204
    assert User.objects.get(pk=users["agent"].pk).check_password("Kefu-api-2026")


def test_me_says_who_is_signed_in(users: dict[str, User], api_as: Callable[[User], Client]) -> None:
    me = api_as(users["agent"]).get("/api/v1/me").json()
    assert me["username"] == "agent" and me["roles"] == ["agent"] and me["can_view_sensitive"] is False


def test_token_expiry_with_an_odd_offset_or_far_future_is_a_400(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    api = api_as(users["agent"])
    odd = api.post(
        "/api/v1/tokens", {"name": "x", "expires_at": "2030-07-25T13:29:44+23:48"}, content_type=JSON
    )
    assert odd.status_code == 201
    far = api.post(
        "/api/v1/tokens", {"name": "y", "expires_at": "3241-07-25T13:29:44+08:00"}, content_type=JSON
    )
    assert far.status_code == 400 and "expires_at" in far.json()["detail"]


def test_text_with_a_nul_character_is_a_400(manager_api: Client) -> None:
    response = manager_api.post("/api/v1/grades", {"name": "P\x001"}, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_characters"
    assert manager_api.get("/api/v1/users", {"q": "a\x00"}).status_code == 400
