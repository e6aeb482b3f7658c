"""Reads for staff, departments, roles and grades."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from kefu.accounts.models import ApiToken, Department, Role, StaffGrade, User
from kefu.core.scoping import scope_of

USER_SORTS: dict[str, tuple[str, ...]] = {
    "username": ("username",),
    "-username": ("-username",),
    "name": ("full_name", "username"),
    "-name": ("-full_name", "-username"),
    "employee_number": ("employee_number", "username"),
    "department": ("department__sort_order", "department__id", "username"),
    "newest": ("-date_joined", "-id"),
    "last_login": ("-last_login", "username"),
}

# Rights that make no sense on a role: logs are written by the system and never edited,
# numbering counters are internal, and API tokens are personal.
NOT_GRANTABLE_MODELS = {("core", "sequence"), ("accounts", "apitoken")}
NOT_GRANTABLE = {
    "core.add_operationlog",
    "core.change_operationlog",
    "core.delete_operationlog",
    "core.add_sensitiveaccess",
    "core.change_sensitiveaccess",
    "core.delete_sensitiveaccess",
}


def visible_users(actor: Any) -> QuerySet[User]:
    """Staff within the actor's data scope (and the actor), as for every other record."""
    scope = scope_of(actor)
    if scope.user_id is None:
        return User.objects.none()
    if scope.everything:
        return User.objects.all()
    return User.objects.filter(Q(department_id__in=sorted(scope.department_ids)) | Q(pk=scope.user_id))


@dataclass
class UserFilters:
    q: str = ""
    department: int | None = None
    role: str = ""
    active: bool | None = None
    sort: str = "username"


def user_list(*, actor: Any, filters: UserFilters | None = None) -> QuerySet[User]:
    """Staff for the list page and the API: searched, filtered, sorted, with what a row shows."""
    filters = filters or UserFilters()
    users = visible_users(actor)
    # PostgreSQL refuses NUL characters in a query; nobody means to search for one.
    text = (filters.q or "").replace("\x00", "").strip()
    if text:
        users = users.filter(
            Q(username__icontains=text)
            | Q(full_name__icontains=text)
            | Q(employee_number__icontains=text)
            | Q(phone__contains=text)
        )
    if filters.department:
        department = Department.objects.filter(pk=filters.department).first()
        ids = sorted(department.subtree_ids()) if department else []
        users = users.filter(department_id__in=ids)
    if filters.role:
        users = users.filter(groups__role__code=filters.role.replace("\x00", ""))
    if filters.active is not None:
        users = users.filter(is_active=filters.active)
    order = USER_SORTS.get(filters.sort, USER_SORTS["username"])
    roles = Group.objects.select_related("role").order_by("role__sort_order", "role__id")
    return (
        users.select_related("department", "grade")
        .prefetch_related(Prefetch("groups", queryset=roles))
        .order_by(*order)
        .distinct()
    )


def role_names(user: User) -> list[str]:
    """The user's role names from the prefetched groups of user_list (no query per row)."""
    return [group.role.name for group in user.groups.all() if hasattr(group, "role")]


def department_tree() -> list[Department]:
    """All departments in tree order, each with `tree_depth` and `member_count`."""
    counts = dict(
        User.objects.filter(is_active=True, department__isnull=False)
        .values_list("department")
        .annotate(n=Count("id"))
        .values_list("department", "n")
    )
    departments = list(Department.objects.with_tree_fields().select_related("parent", "head"))
    for department in departments:
        department.member_count = counts.get(department.pk, 0)
    return departments


def department_choices(*, exclude: Department | None = None) -> list[tuple[int, str]]:
    """(id, indented name) for selects; a department's own subtree is left out when moving it."""
    skip = exclude.subtree_ids() if exclude is not None and exclude.pk else set()
    return [
        (department.pk, "\u3000" * department.tree_depth + department.name)
        for department in Department.objects.with_tree_fields()
        if department.pk not in skip
    ]


def role_list() -> QuerySet[Role]:
    return (
        Role.objects.select_related("group")
        .annotate(member_count=Count("group__user", filter=Q(group__user__is_active=True), distinct=True))
        .prefetch_related("scope_departments")
    )


def role_permission_names(role: Role) -> list[str]:
    return sorted(
        f"{app}.{code}"
        for app, code in role.group.permissions.values_list("content_type__app_label", "codename")
    )


def grantable_permissions() -> QuerySet[Permission]:
    """The rights a role can be given: those of Kefu's own apps, minus the system-only ones."""
    labels = [config.label for config in apps.get_app_configs() if config.name.startswith("kefu.")]
    permissions = Permission.objects.filter(content_type__app_label__in=labels).select_related("content_type")
    for app_label, model in NOT_GRANTABLE_MODELS:
        permissions = permissions.exclude(content_type__app_label=app_label, content_type__model=model)
    for name in NOT_GRANTABLE:
        app_label, codename = name.split(".")
        permissions = permissions.exclude(content_type__app_label=app_label, codename=codename)
    return permissions.order_by("content_type__app_label", "content_type__model", "id")


@dataclass
class PermissionGroup:
    """The rights on one kind of record, for the grouped checkboxes of the role page."""

    app: str
    model: str
    permissions: list[tuple[str, str]]  # ("app.codename", label)


def permission_groups() -> list[PermissionGroup]:
    groups: dict[tuple[str, str], PermissionGroup] = {}
    for permission in grantable_permissions():
        content_type = permission.content_type
        model = content_type.model_class()
        app_name = str(apps.get_app_config(content_type.app_label).verbose_name)
        model_name = str(model._meta.verbose_name_plural) if model else content_type.model
        group = groups.setdefault(
            (content_type.app_label, content_type.model),
            PermissionGroup(app=app_name, model=model_name, permissions=[]),
        )
        group.permissions.append((f"{content_type.app_label}.{permission.codename}", permission.name))
    return list(groups.values())


def grade_list() -> QuerySet[StaffGrade]:
    return StaffGrade.objects.annotate(member_count=Count("members", filter=Q(members__is_active=True)))


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def is_locked_out(user: User) -> bool:
    """True while django-axes refuses this user name at sign-in."""
    from axes.helpers import get_cool_off
    from axes.models import AccessAttempt

    attempts = AccessAttempt.objects.filter(
        username=user.username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    )
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return attempts.exists()
