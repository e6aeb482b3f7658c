"""Writes for staff, departments, roles, grades and API tokens.

Pages, the API, the CLI and jobs all come through here: each function checks the actor's right,
validates, writes in one transaction and attributes the history (django-auditlog) to the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.access import GENERATION_ATTRIBUTE, forget_access, generation_sql
from kefu.accounts.models import ApiToken, DataScope, Department, Role, StaffGrade, User, hash_token
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kefu.core.history import acting
from kefu.core.permissions import require_perm
from kefu.core.phones import normalize_phone
from kefu.core.pinyin import pinyin_full
from kefu.core.rows import one_row

# Writing last_used_at on every request would turn each API read into a write.
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=5)
ADMIN_ROLE = "admin"
MAX_ACTIVE_TOKENS = 20
MAX_TOKEN_YEARS = 10
MONEY_PLACES = Decimal("0.01")
MAX_MONEY = Decimal("99999999.99")

USER_FIELDS = {
    "username",
    "full_name",
    "employee_number",
    "email",
    "phone",
    "title",
    "department",
    "grade",
    "roles",
    "is_active",
    "is_superuser",
}
DEPARTMENT_FIELDS = {"name", "code", "parent", "head", "description", "sort_order", "is_active"}
ROLE_FIELDS = {"name", "description", "data_scope", "scope_departments", "permissions"}
GRADE_FIELDS = {"name", "level", "base_salary", "allowance", "description"}

Errors = dict[str, list[str]]
ModelT = TypeVar("ModelT", bound=models.Model)


# --- helpers ---------------------------------------------------------------------------------


def is_administrator(user: Any) -> bool:
    """Superusers and members of the admin role: the only ones who may hand out admin rights."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_role(ADMIN_ROLE)))


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _raise_if(errors: Errors) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, detail=errors)


def _only_known(data: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be set here: %(fields)s.") % {"fields": ", ".join(unknown)},
            detail={name: [_("This field cannot be set here.")] for name in unknown},
        )
    # PostgreSQL refuses NUL characters in text; say so instead of failing inside the database.
    with_nul = sorted(key for key, value in data.items() if _contains_nul(value))
    if with_nul:
        raise ValidationFailed(
            _("Remove the invisible control characters from the input."),
            detail={name: [_("Contains a NUL character.")] for name in with_nul},
        )
    return {key: value.strip() if isinstance(value, str) else value for key, value in data.items()}


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_contains_nul(item) for item in value)
    return False


def _resolve(model: type[ModelT], value: Any, field: str, errors: Errors) -> ModelT | None:
    """A related record given as an instance or an id; a missing one is a field error, not a 500."""
    if value in (None, ""):
        return None
    if isinstance(value, model):
        return value
    try:
        found = model._default_manager.filter(pk=int(value)).first()
    except (TypeError, ValueError, OverflowError):
        found = None
    if found is None:
        _add(errors, field, _("Choose an existing %(kind)s.") % {"kind": model._meta.verbose_name})
    return found


def _to_int(value: Any, field: str, errors: Errors, *, minimum: int = 0, maximum: int = 32767) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        _add(errors, field, _("Enter a whole number."))
        return None
    if not minimum <= number <= maximum:
        _add(errors, field, _("Enter a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum})
        return None
    return number


def _to_money(value: Any, field: str, errors: Errors) -> Decimal | None:
    """Yuan with 2 places, rounded half up (DESIGN rule 6)."""
    if value in (None, ""):
        return Decimal("0.00")
    try:
        amount = Decimal(str(value)).quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        _add(errors, field, _("Enter an amount in yuan, e.g. 3500.00."))
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY:
        _add(errors, field, _("Enter an amount from 0 to 99,999,999.99."))
        return None
    return amount


def _forget_cached_rights(user: User) -> None:
    """Roles, scope and Django's permission caches live on the instance; drop them after a change."""
    forget_access(user)


def _require_can_manage(actor: User, target: User) -> None:
    """An administrator's account is changed by administrators only: no way round the admin rule."""
    if is_administrator(target) and not is_administrator(actor):
        raise PermissionDenied(_("Only an administrator may change an administrator's account."))


def _require_in_scope(actor: User, target: User) -> None:
    from kefu.accounts.selectors import visible_users

    if target.pk and not visible_users(actor).filter(pk=target.pk).exists():
        raise NotFound()


# --- staff -----------------------------------------------------------------------------------


def _resolve_roles(values: Iterable[Any], errors: Errors) -> list[Role]:
    roles: list[Role] = []
    for value in values or []:
        if isinstance(value, Role):
            roles.append(value)
            continue
        lookup = {"pk": value} if isinstance(value, int) else {"code": str(value)}
        role = Role.objects.select_related("group").filter(**lookup).first()
        if role is None:
            _add(errors, "roles", _("There is no role “%(role)s”.") % {"role": value})
        else:
            roles.append(role)
    return roles


def _apply_user_values(actor: User, user: User, values: dict[str, Any], errors: Errors) -> None:
    for field in ("username", "full_name", "employee_number", "email", "title"):
        if field in values:
            setattr(user, field, values[field] or "")
    if "phone" in values:
        phone = values["phone"] or ""
        if phone and not normalize_phone(phone):
            _add(errors, "phone", _("Enter an 11-digit mobile or a landline with its area code."))
        user.phone = phone
    if "department" in values:
        department = _resolve(Department, values["department"], "department", errors)
        scope = actor.data_scope()
        if department is not None and not scope.everything and department.pk not in scope.department_ids:
            _add(errors, "department", _("You may only place staff in departments of your data scope."))
        user.department = department
    if "grade" in values:
        user.grade = _resolve(StaffGrade, values["grade"], "grade", errors)
    if "is_active" in values:
        user.is_active = bool(values["is_active"])
    if "is_superuser" in values:
        user.is_superuser = bool(values["is_superuser"])
        # Superusers may use Django's admin site, the tool of last resort.
        user.is_staff = user.is_superuser


def _validate_user(user: User, errors: Errors) -> None:
    if not user.username:
        _add(errors, "username", _("Enter a user name for signing in."))
    elif User.objects.filter(username__iexact=user.username).exclude(pk=user.pk).exists():
        _add(errors, "username", _("The user name “%(name)s” is taken.") % {"name": user.username})
    if not user.full_name:
        _add(errors, "full_name", _("Enter the staff member's full name."))
    if user.employee_number and (
        User.objects.filter(employee_number=user.employee_number).exclude(pk=user.pk).exists()
    ):
        _add(errors, "employee_number", _("Another staff member has this employee number."))
    if user.email:
        try:
            validate_email(user.email)
        except ValidationError:
            _add(errors, "email", _("Enter a valid email address."))
    try:
        user.full_clean(
            exclude=["password", "email", "department", "grade"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            if field not in errors:
                errors[field] = list(messages)


def _check_grants(
    actor: User, *, was_superuser: bool, after: User, old_roles: set[str], new_roles: set[str]
) -> None:
    """Admin role and superuser status are handed out (or taken away) by administrators only."""
    if is_administrator(actor):
        return
    if ADMIN_ROLE in old_roles ^ new_roles:
        message = _("Only an administrator may grant or remove the administrator role.")
        raise PermissionDenied(message, detail={"roles": [message]})
    if after.is_superuser != was_superuser:
        message = _("Only an administrator may grant or remove superuser status.")
        raise PermissionDenied(message, detail={"is_superuser": [message]})


@transaction.atomic
def user_create(*, actor: User, data: Mapping[str, Any]) -> User:
    """A new staff member; `data` holds USER_FIELDS plus `password`."""
    require_perm(actor, "accounts.add_user")
    values = _only_known(data, USER_FIELDS | {"password"})
    errors: Errors = {}
    user = User(is_active=True)
    _apply_user_values(actor, user, values, errors)
    roles = _resolve_roles(values.get("roles") or [], errors)
    _validate_user(user, errors)
    password = data.get("password") or ""
    if not password:
        _add(errors, "password", _("Enter an initial password."))
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors.setdefault("password", []).extend(exc.messages)
    _raise_if(errors)
    _check_grants(
        actor, was_superuser=False, after=user, old_roles=set(), new_roles={role.code for role in roles}
    )
    user.set_password(password)
    with acting(actor):
        user.save()
        user.groups.set([role.group for role in roles])
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, data: Mapping[str, Any]) -> User:
    """Change a staff member's details, roles or status; absent keys stay as they are."""
    require_perm(actor, "accounts.change_user")
    user = User.objects.select_for_update().get(pk=user.pk)
    _require_in_scope(actor, user)
    _require_can_manage(actor, user)
    values = _only_known(data, USER_FIELDS)
    was_superuser = user.is_superuser
    errors: Errors = {}
    _apply_user_values(actor, user, values, errors)
    old_roles = {role.code for role in Role.objects.filter(group__user=user)}
    roles = _resolve_roles(values["roles"] or [], errors) if "roles" in values else None
    new_roles = {role.code for role in roles} if roles is not None else old_roles
    _validate_user(user, errors)
    if not user.is_active and user.pk == actor.pk:
        _add(errors, "is_active", _("You cannot deactivate your own account."))
    _raise_if(errors)
    _check_grants(actor, was_superuser=was_superuser, after=user, old_roles=old_roles, new_roles=new_roles)
    with acting(actor):
        user.save()
        if roles is not None:
            user.groups.set([role.group for role in roles])
    _forget_cached_rights(user)
    return user


def user_set_active(*, actor: User, user: User, active: bool) -> User:
    return user_update(actor=actor, user=user, data={"is_active": active})


@transaction.atomic
def users_set_active(*, actor: User, user_ids: Iterable[int], active: bool) -> int:
    """Activate or deactivate many staff at once: all of them, or none when one is refused."""
    require_perm(actor, "accounts.change_user")
    from kefu.accounts.selectors import visible_users

    # An id beyond a 64-bit key names nobody (and SQLite cannot even bind it).
    wanted = [user_id for user_id in user_ids if 0 < user_id < 2**63]
    targets = list(visible_users(actor).filter(pk__in=wanted).select_for_update())
    problems = []
    for target in targets:
        if not active and target.pk == actor.pk:
            problems.append(_("You cannot deactivate your own account."))
        elif is_administrator(target) and not is_administrator(actor):
            problems.append(
                _("%(name)s is an administrator; only an administrator may change that account.")
                % {"name": target}
            )
    if problems:
        raise ValidationFailed(problems[0], detail={"__all__": problems})
    changed = [target for target in targets if target.is_active != active]
    with acting(actor):
        for target in changed:
            target.is_active = active
            target.save(update_fields=["is_active"])
    return len(changed)


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str) -> User:
    """An administrator's reset of someone's password (own password: the password-change page)."""
    require_perm(actor, "accounts.change_user")
    user = User.objects.select_for_update().get(pk=user.pk)
    _require_in_scope(actor, user)
    _require_can_manage(actor, user)
    if not password:
        raise ValidationFailed(_("Enter a new password."), detail={"password": [_("Enter a new password.")]})
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages[0], detail={"password": list(exc.messages)}) from exc
    user.set_password(password)
    with acting(actor):
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def user_unlock(*, actor: User, user: User) -> int:
    """Lift a sign-in lockout (django-axes) before it expires; returns the attempts cleared."""
    from axes.utils import reset

    require_perm(actor, "accounts.change_user")
    _require_in_scope(actor, user)
    _require_can_manage(actor, user)
    return int(reset(username=user.username) or 0)


# --- departments -----------------------------------------------------------------------------


def _unique_department_code(name: str, exclude_pk: int | None) -> str:
    base = (pinyin_full(name) or "dept")[:40]
    code, counter = base, 1
    while Department.objects.filter(code=code).exclude(pk=exclude_pk).exists():
        counter += 1
        code = f"{base}-{counter}"
    return code


def _check_parent(department: Department, parent: Department | None, errors: Errors) -> None:
    if parent is None or department.pk is None:
        return
    if parent.pk == department.pk or parent.pk in department.subtree_ids():
        _add(errors, "parent", _("A department cannot be placed under itself or one of its sub-departments."))


def _apply_department_values(department: Department, values: dict[str, Any], errors: Errors) -> None:
    for field in ("name", "description"):
        if field in values:
            setattr(department, field, values[field] or "")
    if "code" in values:
        department.code = (values["code"] or "").lower()
    if "parent" in values:
        parent = _resolve(Department, values["parent"], "parent", errors)
        _check_parent(department, parent, errors)
        department.parent = parent
    if "head" in values:
        department.head = _resolve(User, values["head"], "head", errors)
    if "sort_order" in values:
        number = _to_int(
            values["sort_order"] if values["sort_order"] not in (None, "") else 0, "sort_order", errors
        )
        department.sort_order = number if number is not None else department.sort_order
    if "is_active" in values:
        department.is_active = bool(values["is_active"])


def _validate_department(department: Department, errors: Errors) -> None:
    if not department.name:
        _add(errors, "name", _("Enter the department's name."))
    elif len(department.name) > 100:
        _add(errors, "name", _("Keep the name under 100 characters."))
    elif (
        Department.objects.filter(parent=department.parent, name=department.name)
        .exclude(pk=department.pk)
        .exists()
    ):
        _add(errors, "name", _("The same parent already has a department with this name."))
    if not department.code:
        department.code = _unique_department_code(department.name, department.pk)
    try:
        validate_slug(department.code)
    except ValidationError:
        _add(errors, "code", _("Use only letters, digits, hyphens and underscores."))
    if len(department.code) > 50:
        _add(errors, "code", _("Keep the code under 50 characters."))
    elif Department.objects.filter(code=department.code).exclude(pk=department.pk).exists():
        _add(errors, "code", _("Another department has this code."))
    if department.head is not None and not department.head.is_active:
        _add(errors, "head", _("The head must be an active staff member."))


@transaction.atomic
def department_create(*, actor: User, data: Mapping[str, Any]) -> Department:
    require_perm(actor, "accounts.add_department")
    values = _only_known(data, DEPARTMENT_FIELDS)
    errors: Errors = {}
    department = Department()
    _apply_department_values(department, values, errors)
    _validate_department(department, errors)
    _raise_if(errors)
    with acting(actor):
        department.save()
    return department


@transaction.atomic
def department_update(*, actor: User, department: Department, data: Mapping[str, Any]) -> Department:
    """Change a department; a new parent goes through the same cycle check as department_move."""
    require_perm(actor, "accounts.change_department")
    department = Department.objects.select_for_update().get(pk=department.pk)
    values = _only_known(data, DEPARTMENT_FIELDS)
    errors: Errors = {}
    _apply_department_values(department, values, errors)
    _validate_department(department, errors)
    _raise_if(errors)
    with acting(actor):
        department.save()
    return department


def department_move(*, actor: User, department: Department, parent: Department | int | None) -> Department:
    return department_update(actor=actor, department=department, data={"parent": parent})


def _department_dependents(department: Department) -> list[str]:
    """What still points at the department: members, sub-departments, customers, and any later app's rows."""
    problems = []
    if department.children.exists():
        problems.append(_("It has sub-departments; move or delete them first."))
    if department.members.exists():
        problems.append(_("It has staff members; move them to another department first."))
    for relation in department._meta.related_objects:
        if relation.many_to_many or relation.related_model in (Department, User):
            continue
        if relation.on_delete is models.SET_NULL:
            continue
        related = relation.related_model._default_manager.filter(**{relation.field.name: department})
        if related.exists():
            problems.append(
                _("%(things)s still belong to it; move them first.")
                % {"things": str(relation.related_model._meta.verbose_name_plural).capitalize()}
            )
    return problems


@transaction.atomic
def department_delete(*, actor: User, department: Department) -> None:
    require_perm(actor, "accounts.delete_department")
    department = Department.objects.select_for_update().get(pk=department.pk)
    problems = _department_dependents(department)
    if problems:
        raise ValidationFailed(problems[0], code="department_in_use", detail={"__all__": problems})
    with acting(actor):
        department.delete()


# --- roles -----------------------------------------------------------------------------------


def _resolve_permissions(values: Iterable[str], errors: Errors) -> list[Permission]:
    from kefu.accounts.selectors import grantable_permissions

    wanted = set(values or [])
    available = {f"{p.content_type.app_label}.{p.codename}": p for p in grantable_permissions()}
    for name in sorted(wanted - set(available)):
        _add(errors, "permissions", _("“%(name)s” is not a right that roles can be given.") % {"name": name})
    return [available[name] for name in sorted(wanted & set(available))]


@transaction.atomic
def role_update(*, actor: User, role: Role, data: Mapping[str, Any]) -> Role:
    """Rename a role, set its data scope and its rights.

    A non-administrator may only hand out rights they hold themselves, so editing a role can never
    raise anyone above the editor.
    """
    require_perm(actor, "accounts.change_role")
    role = Role.objects.select_for_update().select_related("group").get(pk=role.pk)
    if role.code == ADMIN_ROLE and not is_administrator(actor):
        raise PermissionDenied(_("Only an administrator may change the administrator role."))
    values = _only_known(data, ROLE_FIELDS)
    errors: Errors = {}
    for field in ("name", "description"):
        if field in values:
            setattr(role, field, values[field] or "")
    if not role.name:
        _add(errors, "name", _("Enter the role's name."))
    elif len(role.name) > 100:
        _add(errors, "name", _("Keep the name under 100 characters."))
    elif Role.objects.filter(name=role.name).exclude(pk=role.pk).exists():
        _add(errors, "name", _("Another role has this name."))
    if len(role.description) > 300:
        _add(errors, "description", _("Keep the description under 300 characters."))
    if "data_scope" in values:
        if values["data_scope"] not in DataScope.values:
            _add(errors, "data_scope", _("Choose one of the data scopes offered."))
        else:
            role.data_scope = values["data_scope"]
    departments: list[Department] | None = None
    if "scope_departments" in values:
        departments = [
            d
            for d in (
                _resolve(Department, value, "scope_departments", errors)
                for value in values["scope_departments"] or []
            )
            if d is not None
        ]
    chosen = departments if departments is not None else list(role.scope_departments.all())
    if role.data_scope == DataScope.DEPARTMENTS and not chosen:
        _add(errors, "scope_departments", _("Choose at least one department for this data scope."))
    permissions = _resolve_permissions(values["permissions"], errors) if "permissions" in values else None
    _raise_if(errors)
    if permissions is not None and not is_administrator(actor):
        current = set(role.group.permissions.values_list("pk", flat=True))
        beyond = [
            f"{p.content_type.app_label}.{p.codename}"
            for p in permissions
            if p.pk not in current and not actor.has_perm(f"{p.content_type.app_label}.{p.codename}")
        ]
        if beyond:
            message = _("You can only grant rights you hold yourself: %(rights)s.") % {
                "rights": ", ".join(beyond)
            }
            raise PermissionDenied(message, detail={"permissions": [message]})
    with acting(actor):
        role.save()
        if departments is not None:
            role.scope_departments.set(departments)
        if permissions is not None:
            # Rights outside the grantable list (none today) are left as the installer set them.
            from kefu.accounts.selectors import grantable_permissions

            kept = role.group.permissions.exclude(pk__in=grantable_permissions().values("pk"))
            role.group.permissions.set([*kept, *permissions])
    return role


# --- staff grades ----------------------------------------------------------------------------


def _apply_grade_values(grade: StaffGrade, values: dict[str, Any], errors: Errors) -> None:
    for field in ("name", "description"):
        if field in values:
            setattr(grade, field, values[field] or "")
    if "level" in values:
        level = _to_int(values["level"], "level", errors, minimum=1, maximum=99)
        grade.level = level if level is not None else grade.level
    for field in ("base_salary", "allowance"):
        if field in values:
            amount = _to_money(values[field], field, errors)
            if amount is not None:
                setattr(grade, field, amount)
    if not grade.name:
        _add(errors, "name", _("Enter the grade's name."))
    elif len(grade.name) > 50:
        _add(errors, "name", _("Keep the name under 50 characters."))
    elif StaffGrade.objects.filter(name=grade.name).exclude(pk=grade.pk).exists():
        _add(errors, "name", _("Another grade has this name."))
    if len(grade.description) > 300:
        _add(errors, "description", _("Keep the description under 300 characters."))


@transaction.atomic
def staff_grade_create(*, actor: User, data: Mapping[str, Any]) -> StaffGrade:
    require_perm(actor, "accounts.add_staffgrade")
    values = _only_known(data, GRADE_FIELDS)
    errors: Errors = {}
    grade = StaffGrade()
    _apply_grade_values(grade, values, errors)
    _raise_if(errors)
    with acting(actor):
        grade.save()
    return grade


@transaction.atomic
def staff_grade_update(*, actor: User, grade: StaffGrade, data: Mapping[str, Any]) -> StaffGrade:
    require_perm(actor, "accounts.change_staffgrade")
    grade = StaffGrade.objects.select_for_update().get(pk=grade.pk)
    values = _only_known(data, GRADE_FIELDS)
    errors: Errors = {}
    _apply_grade_values(grade, values, errors)
    _raise_if(errors)
    with acting(actor):
        grade.save()
    return grade


@transaction.atomic
def staff_grade_delete(*, actor: User, grade: StaffGrade) -> None:
    require_perm(actor, "accounts.delete_staffgrade")
    grade = StaffGrade.objects.select_for_update().get(pk=grade.pk)
    members = grade.members.count()
    if members:
        # Deleting would silently clear the grade (and so the salary standard) of these staff.
        raise ValidationFailed(
            _("%(count)s staff members have this grade; give them another grade first.") % {"count": members},
            code="grade_in_use",
        )
    with acting(actor):
        grade.delete()


# --- API tokens ------------------------------------------------------------------------------


def api_token_authenticate(*, key: str) -> User | None:
    if not key or not key.startswith("kefu_") or len(key) > 100:
        return None
    # Every API call starts here: the token and its owner in one statement built once (core.rows),
    # not compiled each time — the ORM's compiling cost ten times the lookup itself.
    token = one_row(
        ApiToken,
        by="key_hash",
        value=hash_token(key),
        fields=("expires_at", "last_used_at", "revoked_at"),
        join="user",
        extra={GENERATION_ATTRIBUTE: generation_sql()},
    )
    if token is None or not token.is_usable:
        return None
    user = token.user
    if not user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    # Read with the token, so the user's rights can come from the cache (see access.py).
    setattr(user, GENERATION_ATTRIBUTE, getattr(token, GENERATION_ATTRIBUTE))
    return user


def _token_expiry(expires_at: dt.datetime) -> dt.datetime:
    """In UTC (PostgreSQL refuses offsets beyond ±16 h), in the future, and within MAX_TOKEN_YEARS."""
    now = timezone.now()
    try:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        expires_at = expires_at.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationFailed(
            _("Choose an expiry within the next 10 years."),
            detail={"expires_at": [_("Not a usable date.")]},
        ) from exc
    if expires_at <= now:
        raise ValidationFailed(
            _("The expiry must be in the future."), detail={"expires_at": [_("In the past.")]}
        )
    if expires_at > now + dt.timedelta(days=365 * MAX_TOKEN_YEARS):
        raise ValidationFailed(
            _("Choose an expiry within the next 10 years."),
            detail={"expires_at": [_("Too far ahead.")]},
        )
    return expires_at


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new personal token; the key is returned once and never stored."""
    if not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied()
    name = (name or "").strip()
    if _contains_nul(name):
        raise ValidationFailed(
            _("Remove the invisible control characters from the input."),
            detail={"name": [_("Contains a NUL character.")]},
        )
    if not name:
        raise ValidationFailed(
            _("Give the token a name, e.g. the program that will use it."),
            detail={"name": [_("This field is required.")]},
        )
    if len(name) > 100:
        raise ValidationFailed(
            _("Keep the name under 100 characters."),
            detail={"name": [_("Keep the name under 100 characters.")]},
        )
    if expires_at is not None:
        expires_at = _token_expiry(expires_at)
    # Lock the owner's row so two requests at once cannot both pass the limit.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    if ApiToken.objects.filter(user=actor, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ValidationFailed(_("You already have 20 active tokens; revoke one first."))
    key = ApiToken.generate_key()
    token = ApiToken(user=actor, name=name, prefix=key[:12], key_hash=hash_token(key), expires_at=expires_at)
    with acting(actor):
        token.save()
    return token, key


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke one's own token; staff administrators may also revoke anyone's."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or (token.user_id != actor.pk and not actor.has_perm("accounts.change_user")):
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        with acting(actor):
            token.save(update_fields=["revoked_at"])
    return token


def user_display(user: Any) -> str:
    return str(user) if user else ""
