from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_backends
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from tree_queries.models import TreeNode
from tree_queries.query import TreeQuerySet

from kefu.core.scoping import Scope


class DataScope(models.TextChoices):
    ALL = "all", _("All data")
    DEPARTMENTS = "departments", _("Chosen departments")
    OWN_DEPARTMENT = "own_department", _("Own department")
    OWN_DEPARTMENT_AND_BELOW = "own_department_and_below", _("Own department and below")
    MINE = "mine", _("Only mine")


class Department(TreeNode):
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    head = models.ForeignKey(
        "accounts.User",
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_departments",
    )
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = TreeQuerySet.as_manager(with_tree_fields=False)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name

    def subtree_ids(self) -> set[int]:
        return set(Department.objects.descendants(self, include_self=True).values_list("id", flat=True))


class Role(models.Model):
    """A role of SPEC §1: a permission group plus the data scope its members get."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="role")
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    data_scope = models.CharField(
        _("data scope"), max_length=30, choices=DataScope.choices, default=DataScope.MINE
    )
    scope_departments = models.ManyToManyField(
        Department, verbose_name=_("chosen departments"), blank=True, related_name="+"
    )
    builtin = models.BooleanField(_("built in"), default=False)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    # Defaults already granted once; a right a manager later removed is not granted again.
    granted_defaults = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name


class StaffGrade(models.Model):
    """Staff grades (人员定级) with their salary standard (薪资标准)."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    base_salary = models.DecimalField(_("base salary"), max_digits=10, decimal_places=2, default=Decimal("0"))
    allowance = models.DecimalField(_("allowance"), max_digits=10, decimal_places=2, default=Decimal("0"))
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["level", "id"]
        verbose_name = _("staff grade")
        verbose_name_plural = _("staff grades")

    def __str__(self) -> str:
        return self.name


_backends_loaded: dict[tuple[str, ...], tuple[Any, ...]] = {}


def _permission_backends() -> tuple[Any, ...]:
    paths = tuple(settings.AUTHENTICATION_BACKENDS)  # tests may override them
    loaded = _backends_loaded.get(paths)
    if loaded is None:
        loaded = tuple(backend for backend in get_backends() if hasattr(backend, "has_perm"))
        _backends_loaded[paths] = loaded
    return loaded


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    employee_number = models.CharField(_("employee number"), max_length=30, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    grade = models.ForeignKey(
        StaffGrade,
        verbose_name=_("grade"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    title = models.CharField(_("job title"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    objects = UserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Django's check over the same backends, loaded once per process: Django imports the
        backend list again on every call, and a page or an API answer asks dozens of times."""
        if self.is_active and self.is_superuser:
            return True
        for backend in _permission_backends():
            try:
                if backend.has_perm(self, perm, obj):
                    return True
            except PermissionDenied:
                return False
        return False

    def role_list(self) -> list[Role]:
        from kefu.accounts.access import access_of

        return list(access_of(self).roles)

    def has_role(self, *codes: str) -> bool:
        return any(role.code in codes for role in self.role_list())

    def data_scope(self) -> Scope:
        """The union of what the user's roles may see (kept with the user's other rights, see access.py)."""
        from kefu.accounts.access import access_of

        return access_of(self).scope

    def compute_roles(self) -> list[Role]:
        return list(Role.objects.filter(group__user=self).order_by("sort_order", "id"))

    def compute_scope(self, roles: list[Role]) -> Scope:
        """Worked out from the database: use data_scope(), which keeps the answer."""
        everything = self.is_superuser
        departments: set[int] = set()
        for role in roles:
            if role.data_scope == DataScope.ALL:
                everything = True
            elif role.data_scope == DataScope.DEPARTMENTS:
                # Only this scope needs the chosen departments: read them for these roles alone.
                for dept in role.scope_departments.all():
                    departments |= dept.subtree_ids()
            elif role.data_scope == DataScope.OWN_DEPARTMENT and self.department_id:
                departments.add(self.department_id)
            elif role.data_scope == DataScope.OWN_DEPARTMENT_AND_BELOW and self.department:
                departments |= self.department.subtree_ids()
        return Scope(user_id=self.pk, everything=everything, department_ids=frozenset(departments))


class AccessGeneration(models.Model):
    """One row: raised by every change to anyone's rights, so cached rights are never used stale."""

    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return str(self.value)


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token; only its hash is stored, the key is shown once at creation."""

    user = models.ForeignKey(
        User, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def generate_key() -> str:
        return "kefu_" + secrets.token_urlsafe(32)

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
