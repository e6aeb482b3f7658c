"""Typed shapes of the staff API: what comes in, what goes out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema

# --- staff -----------------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    employee_number: str
    email: str
    phone: str
    title: str
    department_id: int | None
    department_name: str | None = Field(None, alias="department.name")
    grade_id: int | None
    grade_name: str | None = Field(None, alias="grade.name")
    roles: list[str]
    is_active: bool
    is_superuser: bool
    last_login: dt.datetime | None
    date_joined: dt.datetime

    @staticmethod
    def resolve_roles(user: Any) -> list[str]:
        # Reads the groups prefetched by the selector, so a page of users costs no query per row.
        return [group.role.code for group in user.groups.all() if hasattr(group, "role")]


class UserFilterIn(Schema):
    q: str = Field(
        "", max_length=100, description="Part of the user name, full name, employee number or phone"
    )
    department_id: int | None = Field(None, description="This department and all below it")
    role: str = Field("", max_length=50, description="Role code, e.g. agent")
    active: bool | None = None
    sort: str = Field(
        "username",
        description="username, -username, name, -name, employee_number, department, newest, last_login",
    )


class UserIn(Schema):
    username: str = Field(..., max_length=150)
    full_name: str = Field(..., max_length=50)
    password: str = Field(..., max_length=128)
    employee_number: str = Field("", max_length=30)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=30)
    title: str = Field("", max_length=50)
    department_id: int | None = None
    grade_id: int | None = None
    roles: list[str] = Field(default_factory=list, description="Role codes")
    is_active: bool = True
    is_superuser: bool = False


class UserPatch(Schema):
    username: str | None = Field(None, max_length=150)
    full_name: str | None = Field(None, max_length=50)
    employee_number: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=30)
    title: str | None = Field(None, max_length=50)
    department_id: int | None = None
    grade_id: int | None = None
    roles: list[str] | None = Field(None, description="Role codes; replaces the current roles")
    is_active: bool | None = None
    is_superuser: bool | None = None


class PasswordIn(Schema):
    password: str = Field(..., max_length=128)


class UnlockOut(Schema):
    cleared_attempts: int


# --- departments -----------------------------------------------------------------------------


class DepartmentOut(Schema):
    id: int
    name: str
    code: str
    parent_id: int | None
    head_id: int | None
    description: str
    sort_order: int
    is_active: bool
    depth: int = Field(0, alias="tree_depth")
    member_count: int = 0


class DepartmentIn(Schema):
    name: str = Field(..., max_length=100)
    code: str = Field("", max_length=50, description="Made from the name when empty")
    parent_id: int | None = None
    head_id: int | None = None
    description: str = Field("", max_length=300)
    sort_order: int = Field(0, ge=0, le=32767)
    is_active: bool = True


class DepartmentPatch(Schema):
    name: str | None = Field(None, max_length=100)
    code: str | None = Field(None, max_length=50)
    parent_id: int | None = None
    head_id: int | None = None
    description: str | None = Field(None, max_length=300)
    sort_order: int | None = Field(None, ge=0, le=32767)
    is_active: bool | None = None


# --- roles -----------------------------------------------------------------------------------


class RoleOut(Schema):
    id: int
    code: str
    name: str
    description: str
    data_scope: str
    scope_department_ids: list[int]
    permissions: list[str]
    member_count: int = 0
    builtin: bool

    @staticmethod
    def resolve_scope_department_ids(role: Any) -> list[int]:
        return [department.pk for department in role.scope_departments.all()]

    @staticmethod
    def resolve_permissions(role: Any) -> list[str]:
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in role.group.permissions.all())


class RolePatch(Schema):
    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=300)
    data_scope: str | None = Field(
        None, description="all, departments, own_department, own_department_and_below, mine"
    )
    scope_department_ids: list[int] | None = None
    permissions: list[str] | None = Field(
        None, description="Rights as app.codename; replaces the current ones"
    )


# --- staff grades ----------------------------------------------------------------------------


class GradeOut(Schema):
    id: int
    name: str
    level: int
    base_salary: Decimal
    allowance: Decimal
    description: str
    member_count: int = 0


class GradeIn(Schema):
    name: str = Field(..., max_length=50)
    level: int = Field(1, ge=1, le=99)
    base_salary: Decimal = Field(
        Decimal("0.00"), ge=0, le=Decimal("99999999.99"), description="Yuan per month"
    )
    allowance: Decimal = Field(Decimal("0.00"), ge=0, le=Decimal("99999999.99"), description="Yuan per month")
    description: str = Field("", max_length=300)


class GradePatch(Schema):
    name: str | None = Field(None, max_length=50)
    level: int | None = Field(None, ge=1, le=99)
    base_salary: Decimal | None = Field(None, ge=0, le=Decimal("99999999.99"))
    allowance: Decimal | None = Field(None, ge=0, le=Decimal("99999999.99"))
    description: str | None = Field(None, max_length=300)


# --- API tokens ------------------------------------------------------------------------------


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    key: str = Field(..., description="Shown this once; only its hash is kept")


class TokenIn(Schema):
    name: str = Field(..., max_length=100)
    expires_at: dt.datetime | None = None


# --- records ---------------------------------------------------------------------------------


class OperationLogFilterIn(Schema):
    user: str = Field("", max_length=150)
    action: str = Field("", max_length=100)
    result: str = Field("", description="ok, denied, invalid, error")
    ip: str = Field("", max_length=45)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class OperationLogOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    username: str
    action: str
    method: str
    path: str
    target: str
    ip: str | None
    status_code: int | None
    result: str
    duration_ms: int | None


class SensitiveAccessFilterIn(Schema):
    viewer: str = Field("", max_length=150)
    object_type: str = Field("", max_length=50)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class SensitiveAccessOut(Schema):
    id: int
    at: dt.datetime
    actor_id: int | None
    viewer: str | None = Field(None, alias="actor.username")
    object_type: str
    object_id: int | None
    object_label: str
    fields: str
    channel: str
    count: int
    ip: str | None
    detail: str
