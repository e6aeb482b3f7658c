"""Departments, roles and staff grades: the rules their services keep."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from kefu.accounts.models import DataScope, Department, Role, StaffGrade, User
from kefu.accounts.services import (
    department_create,
    department_delete,
    department_move,
    department_update,
    role_update,
    staff_grade_create,
    staff_grade_delete,
    staff_grade_update,
    user_update,
)
from kefu.core.errors import PermissionDenied, ValidationFailed
from tests.factories import make_customer

# --- departments -----------------------------------------------------------------------------


def test_department_cannot_move_under_its_own_sub_department(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        department_move(
            actor=users["manager"], department=departments["service"], parent=departments["centre"]
        )
    assert "parent" in caught.value.detail
    assert Department.objects.get(pk=departments["service"].pk).parent == departments["top"]


def test_department_cannot_be_its_own_parent(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    with pytest.raises(ValidationFailed):
        department_move(
            actor=users["manager"], department=departments["centre"], parent=departments["centre"]
        )


def test_department_moves_under_another_branch(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    department_move(actor=users["manager"], department=departments["big"], parent=departments["tech"])
    assert departments["big"].pk in departments["tech"].subtree_ids()


def test_department_code_is_made_from_the_name_when_left_empty(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    department = department_create(
        actor=users["manager"], data={"name": "回访组", "parent": departments["centre"]}
    )
    assert department.code == "huifangzu"
    twin = department_create(
        actor=users["manager"], data={"name": "回访组", "parent": departments["complaints"]}
    )
    assert twin.code == "huifangzu-2"


def test_sibling_departments_have_different_names(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        department_create(actor=users["manager"], data={"name": "客服中心", "parent": departments["service"]})
    assert "name" in caught.value.detail


def test_department_code_must_be_a_slug_and_unique(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        department_update(actor=users["manager"], department=departments["big"], data={"code": "centre"})
    assert "code" in caught.value.detail
    with pytest.raises(ValidationFailed):
        department_update(actor=users["manager"], department=departments["big"], data={"code": "大 客户"})


def test_department_with_members_cannot_be_deleted(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        department_delete(actor=users["manager"], department=departments["centre"])
    assert caught.value.code == "department_in_use"
    assert Department.objects.filter(pk=departments["centre"].pk).exists()


def test_department_with_sub_departments_cannot_be_deleted(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    empty_parent = department_create(actor=users["manager"], data={"name": "空部门"})
    department_create(actor=users["manager"], data={"name": "子部门", "parent": empty_parent})
    with pytest.raises(ValidationFailed):
        department_delete(actor=users["manager"], department=empty_parent)


def test_department_with_customers_cannot_be_deleted(users: dict[str, User]) -> None:
    department = department_create(actor=users["manager"], data={"name": "空部门"})
    make_customer(actor=users["manager"], department=department)
    with pytest.raises(ValidationFailed) as caught:
        department_delete(actor=users["manager"], department=department)
    assert any("ustomer" in problem or "客户" in problem for problem in caught.value.detail["__all__"])


def test_empty_department_is_deleted(users: dict[str, User]) -> None:
    department = department_create(actor=users["manager"], data={"name": "临时组"})
    department_delete(actor=users["manager"], department=department)
    assert not Department.objects.filter(pk=department.pk).exists()


def test_assistant_cannot_delete_departments(users: dict[str, User]) -> None:
    department = department_create(actor=users["manager"], data={"name": "临时组"})
    with pytest.raises(PermissionDenied):
        department_delete(actor=users["assistant"], department=department)


# --- roles -----------------------------------------------------------------------------------


def test_chosen_departments_scope_needs_departments(users: dict[str, User]) -> None:
    role = Role.objects.get(code="agent")
    with pytest.raises(ValidationFailed) as caught:
        role_update(
            actor=users["manager"],
            role=role,
            data={"data_scope": DataScope.DEPARTMENTS, "scope_departments": []},
        )
    assert "scope_departments" in caught.value.detail


def test_role_data_scope_change_widens_what_its_members_see(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    role = Role.objects.get(code="technician")
    role_update(
        actor=users["manager"],
        role=role,
        data={"data_scope": DataScope.DEPARTMENTS, "scope_departments": [departments["service"].pk]},
    )
    scope = User.objects.get(pk=users["technician"].pk).data_scope()
    assert departments["centre"].pk in scope.department_ids
    assert departments["tech"].pk not in scope.department_ids


def test_role_rights_outside_kefu_cannot_be_granted(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        role_update(
            actor=users["admin"],
            role=Role.objects.get(code="agent"),
            data={"permissions": ["auth.add_group", "core.delete_operationlog"]},
        )
    assert len(caught.value.detail["permissions"]) == 2


def test_manager_cannot_grant_a_right_they_do_not_hold(users: dict[str, User]) -> None:
    assert not users["manager"].has_perm("customers.delete_customer")
    with pytest.raises(PermissionDenied) as caught:
        role_update(
            actor=users["manager"],
            role=Role.objects.get(code="agent"),
            data={"permissions": ["customers.view_customer", "customers.delete_customer"]},
        )
    assert "permissions" in caught.value.detail


def test_manager_sets_the_rights_of_a_role(users: dict[str, User]) -> None:
    role = role_update(
        actor=users["manager"],
        role=Role.objects.get(code="technician"),
        data={"permissions": ["customers.view_customer", "accounts.view_department"]},
    )
    names = {f"{p.content_type.app_label}.{p.codename}" for p in role.group.permissions.all()}
    assert names == {"customers.view_customer", "accounts.view_department"}
    assert User.objects.get(pk=users["technician"].pk).has_perm("accounts.view_department")


def test_manager_cannot_change_the_administrator_role(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        role_update(actor=users["manager"], role=Role.objects.get(code="admin"), data={"name": "管理员"})


def test_role_names_are_unique(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        role_update(actor=users["manager"], role=Role.objects.get(code="agent"), data={"name": "技术员"})
    assert "name" in caught.value.detail


def test_superuser_keeps_every_right_whatever_the_roles(users: dict[str, User]) -> None:
    superuser = User.objects.create_superuser("root", password="Kefu-root-2026")
    assert not Permission.objects.filter(group__user=superuser).exists()
    role_update(actor=superuser, role=Role.objects.get(code="agent"), data={"permissions": []})


# --- staff grades ----------------------------------------------------------------------------


def test_salary_standard_is_kept_in_yuan_rounded_half_up(users: dict[str, User]) -> None:
    grade = staff_grade_create(
        actor=users["manager"],
        data={"name": "P2", "level": 2, "base_salary": "3500.005", "allowance": Decimal("200")},
    )
    grade.refresh_from_db()
    assert grade.base_salary == Decimal("3500.01")
    assert grade.allowance == Decimal("200.00")


@pytest.mark.parametrize("amount", ["-1", "abc", "100000000"])
def test_salary_must_be_a_sensible_amount(users: dict[str, User], amount: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        staff_grade_create(actor=users["manager"], data={"name": "P9", "base_salary": amount})
    assert "base_salary" in caught.value.detail


def test_grade_names_are_unique(users: dict[str, User]) -> None:
    staff_grade_create(actor=users["manager"], data={"name": "P1"})
    other = staff_grade_create(actor=users["manager"], data={"name": "P2"})
    with pytest.raises(ValidationFailed):
        staff_grade_update(actor=users["manager"], grade=other, data={"name": "P1"})


def test_grade_in_use_cannot_be_deleted(users: dict[str, User]) -> None:
    grade = staff_grade_create(actor=users["manager"], data={"name": "P1"})
    user_update(actor=users["manager"], user=users["agent"], data={"grade": grade.pk})
    with pytest.raises(ValidationFailed) as caught:
        staff_grade_delete(actor=users["manager"], grade=grade)
    assert caught.value.code == "grade_in_use"
    user_update(actor=users["manager"], user=users["agent"], data={"grade": None})
    staff_grade_delete(actor=users["manager"], grade=grade)
    assert not StaffGrade.objects.filter(pk=grade.pk).exists()


def test_agent_cannot_add_grades(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        staff_grade_create(actor=users["agent"], data={"name": "P1"})
