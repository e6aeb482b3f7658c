"""The staff API: staff, departments, roles, grades, personal tokens and the records.

Every endpoint calls a selector or a service; none writes a model. Reads check the same rights as
the pages; writes are checked again by the services.
"""

# No `from __future__ import annotations` here: ninja resolves the annotations of paginated
# endpoints in the module of its @paginate wrapper, where postponed names are not defined.
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate
from ninja.responses import Status

from kefu.accounts import selectors, services
from kefu.accounts.models import ApiToken, Department, Role, StaffGrade, User
from kefu.accounts.schemas import (
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    GradeIn,
    GradeOut,
    GradePatch,
    OperationLogFilterIn,
    OperationLogOut,
    PasswordIn,
    RoleOut,
    RolePatch,
    SensitiveAccessFilterIn,
    SensitiveAccessOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    UnlockOut,
    UserFilterIn,
    UserIn,
    UserOut,
    UserPatch,
)
from kefu.core.errors import NotFound
from kefu.core.masking import can_view_sensitive
from kefu.core.pagination import BoundedLimitOffsetPagination
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS
from kefu.core.selectors import (
    OperationLogFilters,
    SensitiveAccessFilters,
    operation_log_list,
    sensitive_access_list,
)

router = Router(tags=["staff"])


class ApiRequest(HttpRequest):
    """The API's auth (token or session) guarantees a signed-in, active staff member."""

    user: User


# API field names that differ from the service's: ids in JSON, records in Python.
RENAMES = {
    "department_id": "department",
    "grade_id": "grade",
    "parent_id": "parent",
    "head_id": "head",
    "scope_department_ids": "scope_departments",
}


def _service_data(payload: Any) -> dict[str, Any]:
    """Only the fields the caller sent (PATCH semantics), under the service's names."""
    data = payload.dict(exclude_unset=True)
    return {RENAMES.get(key, key): value for key, value in data.items()}


def _one(queryset: Any, pk: int) -> Any:
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


class MeOut(UserOut):
    can_view_sensitive: bool

    @staticmethod
    def resolve_can_view_sensitive(user: User) -> bool:
        return can_view_sensitive(user)


@router.get("/me", response={200: MeOut, **ERRORS}, summary="The signed-in staff member")
def me(request: ApiRequest) -> Any:
    return _one(selectors.user_list(actor=request.user), request.user.id)


# --- staff -----------------------------------------------------------------------------------


@router.get("/users", response={200: list[UserOut], **ERRORS}, summary="Staff, searched and filtered")
@paginate(BoundedLimitOffsetPagination)
def list_users(request: ApiRequest, filters: Query[UserFilterIn]) -> Any:
    require_perm(request.user, "accounts.view_user")
    sort = filters.sort if filters.sort in selectors.USER_SORTS else "username"
    return selectors.user_list(
        actor=request.user,
        filters=selectors.UserFilters(
            q=filters.q,
            department=filters.department_id,
            role=filters.role,
            active=filters.active,
            sort=sort,
        ),
    )


@router.get("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="One staff member")
def get_user(request: ApiRequest, user_id: int) -> Any:
    require_perm(request.user, "accounts.view_user")
    return _one(selectors.user_list(actor=request.user), user_id)


@router.post("/users", response={201: UserOut, **ERRORS}, summary="Add a staff member")
def create_user(request: ApiRequest, payload: UserIn) -> Any:
    user = services.user_create(
        actor=request.user, data=_service_data(payload) | {"password": payload.password}
    )
    return Status(201, selectors.user_list(actor=request.user).get(pk=user.pk))


@router.patch("/users/{user_id}", response={200: UserOut, **ERRORS}, summary="Change a staff member")
def update_user(request: ApiRequest, user_id: int, payload: UserPatch) -> Any:
    require_perm(request.user, "accounts.change_user")
    user = _one(selectors.visible_users(request.user), user_id)
    services.user_update(actor=request.user, user=user, data=_service_data(payload))
    return selectors.user_list(actor=request.user).get(pk=user.pk)


@router.post(
    "/users/{user_id}/password", response={204: None, **ERRORS}, summary="Reset a staff member's password"
)
def reset_password(request: ApiRequest, user_id: int, payload: PasswordIn) -> Any:
    require_perm(request.user, "accounts.change_user")
    user = _one(selectors.visible_users(request.user), user_id)
    services.user_set_password(actor=request.user, user=user, password=payload.password)
    return Status(204, None)


@router.post("/users/{user_id}/unlock", response={200: UnlockOut, **ERRORS}, summary="Lift a sign-in lockout")
def unlock_user(request: ApiRequest, user_id: int) -> Any:
    require_perm(request.user, "accounts.change_user")
    user = _one(selectors.visible_users(request.user), user_id)
    return {"cleared_attempts": services.user_unlock(actor=request.user, user=user)}


# --- departments -----------------------------------------------------------------------------


@router.get(
    "/departments", response={200: list[DepartmentOut], **ERRORS}, summary="All departments, in tree order"
)
def list_departments(request: ApiRequest) -> Any:
    require_perm(request.user, "accounts.view_department")
    return selectors.department_tree()


def _department_out(pk: int) -> Department:
    return next(department for department in selectors.department_tree() if department.pk == pk)


@router.post("/departments", response={201: DepartmentOut, **ERRORS}, summary="Add a department")
def create_department(request: ApiRequest, payload: DepartmentIn) -> Any:
    department = services.department_create(actor=request.user, data=_service_data(payload))
    return Status(201, _department_out(department.pk))


@router.patch(
    "/departments/{department_id}",
    response={200: DepartmentOut, **ERRORS},
    summary="Change or move a department",
)
def update_department(request: ApiRequest, department_id: int, payload: DepartmentPatch) -> Any:
    require_perm(request.user, "accounts.change_department")
    department = _one(Department.objects.all(), department_id)
    services.department_update(actor=request.user, department=department, data=_service_data(payload))
    return _department_out(department.pk)


@router.delete(
    "/departments/{department_id}", response={204: None, **ERRORS}, summary="Delete an empty department"
)
def delete_department(request: ApiRequest, department_id: int) -> Any:
    require_perm(request.user, "accounts.delete_department")
    services.department_delete(actor=request.user, department=_one(Department.objects.all(), department_id))
    return Status(204, None)


# --- roles -----------------------------------------------------------------------------------


def _roles() -> Any:
    return selectors.role_list().prefetch_related("group__permissions__content_type")


@router.get("/roles", response={200: list[RoleOut], **ERRORS}, summary="Roles with their scope and rights")
def list_roles(request: ApiRequest) -> Any:
    require_perm(request.user, "accounts.view_role")
    return _roles()


@router.get("/roles/{role_id}", response={200: RoleOut, **ERRORS}, summary="One role")
def get_role(request: ApiRequest, role_id: int) -> Any:
    require_perm(request.user, "accounts.view_role")
    return _one(_roles(), role_id)


@router.patch(
    "/roles/{role_id}", response={200: RoleOut, **ERRORS}, summary="Change a role's scope or rights"
)
def update_role(request: ApiRequest, role_id: int, payload: RolePatch) -> Any:
    require_perm(request.user, "accounts.change_role")
    role = _one(Role.objects.all(), role_id)
    services.role_update(actor=request.user, role=role, data=_service_data(payload))
    return _one(_roles(), role_id)


# --- staff grades ----------------------------------------------------------------------------


@router.get("/grades", response={200: list[GradeOut], **ERRORS}, summary="Staff grades and salary standards")
def list_grades(request: ApiRequest) -> Any:
    require_perm(request.user, "accounts.view_staffgrade")
    return selectors.grade_list()


@router.get("/grades/{grade_id}", response={200: GradeOut, **ERRORS}, summary="One staff grade")
def get_grade(request: ApiRequest, grade_id: int) -> Any:
    require_perm(request.user, "accounts.view_staffgrade")
    return _one(selectors.grade_list(), grade_id)


@router.post("/grades", response={201: GradeOut, **ERRORS}, summary="Add a staff grade")
def create_grade(request: ApiRequest, payload: GradeIn) -> Any:
    grade = services.staff_grade_create(actor=request.user, data=_service_data(payload))
    return Status(201, _one(selectors.grade_list(), grade.pk))


@router.patch("/grades/{grade_id}", response={200: GradeOut, **ERRORS}, summary="Change a staff grade")
def update_grade(request: ApiRequest, grade_id: int, payload: GradePatch) -> Any:
    require_perm(request.user, "accounts.change_staffgrade")
    grade = _one(StaffGrade.objects.all(), grade_id)
    services.staff_grade_update(actor=request.user, grade=grade, data=_service_data(payload))
    return _one(selectors.grade_list(), grade_id)


@router.delete("/grades/{grade_id}", response={204: None, **ERRORS}, summary="Delete an unused staff grade")
def delete_grade(request: ApiRequest, grade_id: int) -> Any:
    require_perm(request.user, "accounts.delete_staffgrade")
    services.staff_grade_delete(actor=request.user, grade=_one(StaffGrade.objects.all(), grade_id))
    return Status(204, None)


# --- personal API tokens ---------------------------------------------------------------------


@router.get("/tokens", response={200: list[TokenOut], **ERRORS}, summary="My API tokens")
def list_tokens(request: ApiRequest) -> Any:
    return selectors.tokens_of(request.user)


@router.post(
    "/tokens", response={201: TokenCreatedOut, **ERRORS}, summary="Create a token; the key is shown once"
)
def create_token(request: ApiRequest, payload: TokenIn) -> Any:
    token, key = services.api_token_create(
        actor=request.user, name=payload.name, expires_at=payload.expires_at
    )
    return Status(201, {**TokenOut.from_orm(token).dict(), "key": key})


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS}, summary="Revoke one of my tokens")
def revoke_token(request: ApiRequest, token_id: int) -> Any:
    _one(ApiToken.objects.filter(user=request.user), token_id)
    services.api_token_revoke(actor=request.user, token_id=token_id)
    return Status(204, None)


# --- records ---------------------------------------------------------------------------------


@router.get(
    "/operation-log",
    response={200: list[OperationLogOut], **ERRORS},
    tags=["records"],
    summary="Who did what, when, from where",
)
@paginate(BoundedLimitOffsetPagination)
def list_operation_log(request: ApiRequest, filters: Query[OperationLogFilterIn]) -> Any:
    require_perm(request.user, "core.view_operationlog")
    return operation_log_list(actor=request.user, filters=OperationLogFilters(**filters.dict()))


@router.get(
    "/sensitive-access",
    response={200: list[SensitiveAccessOut], **ERRORS},
    tags=["records"],
    summary="When phone and ID numbers were shown unmasked",
)
@paginate(BoundedLimitOffsetPagination)
def list_sensitive_access(request: ApiRequest, filters: Query[SensitiveAccessFilterIn]) -> Any:
    require_perm(request.user, "core.view_sensitiveaccess")
    return sensitive_access_list(actor=request.user, filters=SensitiveAccessFilters(**filters.dict()))
