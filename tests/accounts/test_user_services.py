"""Staff services: validation, the admin rule, self-deactivation, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from auditlog.models import LogEntry

from kefu.accounts.models import Department, Role, User
from kefu.accounts.services import (
    user_create,
    user_set_active,
    user_set_password,
    user_update,
    users_set_active,
)
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed

GOOD_PASSWORD = "Kefu-new-2026"


def _new(**extra: Any) -> dict[str, Any]:
    data = {"username": "zhangsan", "full_name": "张三", "password": GOOD_PASSWORD}
    data.update(extra)
    return data


def test_manager_adds_an_agent_with_role_and_department(
    users: dict[str, User], departments: dict[str, Department]
) -> None:
    user = user_create(
        actor=users["manager"],
        data=_new(department=departments["centre"].pk, roles=["agent"], phone="138 0013 8000"),
    )
    assert user.has_role("agent")
    assert user.department == departments["centre"]
    assert user.check_password(GOOD_PASSWORD)


def test_user_name_is_unique_whatever_the_case(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_create(actor=users["manager"], data=_new(username="AGENT"))
    assert "username" in caught.value.detail


def test_weak_password_is_refused_with_the_password_rules(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_create(actor=users["manager"], data=_new(password="12345678"))
    assert caught.value.detail["password"]
    assert not User.objects.filter(username="zhangsan").exists()


def test_full_name_and_a_valid_phone_are_required(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_create(actor=users["manager"], data=_new(full_name="", phone="12345"))
    assert set(caught.value.detail) >= {"full_name", "phone"}


def test_unknown_department_is_a_field_error_not_a_crash(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_create(actor=users["manager"], data=_new(department=999999))
    assert "department" in caught.value.detail


def test_unknown_role_is_refused(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_create(actor=users["manager"], data=_new(roles=["wizard"]))
    assert "roles" in caught.value.detail


def test_fields_the_service_does_not_know_are_refused(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_update(actor=users["manager"], user=users["agent"], data={"password": "x", "is_staff": True})
    assert set(caught.value.detail) == {"password", "is_staff"}


def test_agent_cannot_add_staff(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        user_create(actor=users["agent"], data=_new())


def test_manager_cannot_grant_the_admin_role(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied) as caught:
        user_update(actor=users["manager"], user=users["agent"], data={"roles": ["agent", "admin"]})
    assert "roles" in caught.value.detail
    assert not User.objects.get(pk=users["agent"].pk).has_role("admin")


def test_manager_cannot_make_a_superuser(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        user_create(actor=users["manager"], data=_new(is_superuser=True))


def test_admin_may_grant_the_admin_role(users: dict[str, User]) -> None:
    user_update(actor=users["admin"], user=users["manager"], data={"roles": ["manager", "admin"]})
    assert User.objects.get(pk=users["manager"].pk).has_role("admin")


def test_manager_cannot_change_an_administrators_account(users: dict[str, User]) -> None:
    with pytest.raises(PermissionDenied):
        user_update(actor=users["manager"], user=users["admin"], data={"full_name": "改名"})
    with pytest.raises(PermissionDenied):
        user_set_password(actor=users["manager"], user=users["admin"], password=GOOD_PASSWORD)


def test_manager_cannot_deactivate_themself(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        user_set_active(actor=users["manager"], user=users["manager"], active=False)
    assert "is_active" in caught.value.detail
    assert User.objects.get(pk=users["manager"].pk).is_active


def test_bulk_deactivation_including_oneself_changes_nobody(users: dict[str, User]) -> None:
    ids = [users["agent"].pk, users["manager"].pk]
    with pytest.raises(ValidationFailed):
        users_set_active(actor=users["manager"], user_ids=ids, active=False)
    assert User.objects.get(pk=users["agent"].pk).is_active


def test_bulk_deactivation_deactivates_the_ticked_staff(users: dict[str, User]) -> None:
    changed = users_set_active(
        actor=users["manager"], user_ids=[users["agent"].pk, users["technician"].pk], active=False
    )
    assert changed == 2
    assert not User.objects.get(pk=users["agent"].pk).is_active


def test_admin_resets_a_password_that_passes_the_rules(users: dict[str, User]) -> None:
    with pytest.raises(ValidationFailed):
        user_set_password(actor=users["admin"], user=users["agent"], password="password")
    user_set_password(actor=users["admin"], user=users["agent"], password=GOOD_PASSWORD)
    assert User.objects.get(pk=users["agent"].pk).check_password(GOOD_PASSWORD)


def test_staff_outside_the_editors_data_scope_do_not_exist_for_them(
    users: dict[str, User], make_user: Callable[..., User]
) -> None:
    # A custom role that may edit staff, but only of its own department.
    role = Role.objects.get(code="supervisor")
    from django.contrib.auth.models import Permission

    role.group.permissions.add(Permission.objects.get(codename="change_user"))
    supervisor = User.objects.get(pk=users["supervisor"].pk)
    with pytest.raises(NotFound):
        user_update(actor=supervisor, user=users["technician"], data={"title": "组长"})
    user_update(actor=supervisor, user=users["agent"], data={"title": "资深客服"})
    with pytest.raises(ValidationFailed) as caught:
        user_update(
            actor=supervisor, user=users["agent"], data={"department": users["technician"].department_id}
        )
    assert "department" in caught.value.detail


def test_changes_are_recorded_with_the_actor(users: dict[str, User]) -> None:
    user_update(actor=users["manager"], user=users["agent"], data={"title": "热线组长"})
    updates = LogEntry.objects.get_for_object(users["agent"]).filter(action=LogEntry.Action.UPDATE)
    title_changes = [(e.actor, e.changes["title"]) for e in updates if "title" in e.changes]
    assert title_changes == [(users["manager"], ["", "热线组长"])]
