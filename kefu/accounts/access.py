"""A user's rights (permissions, roles, data scope), computed once and shared between requests.

Working them out costs four to six queries (user and group permissions, roles, their chosen
departments, department subtrees) on every request; on PostgreSQL those round trips were most of
a phone lookup's time. The result is kept in the cache under the user and the *access
generation*, a counter in the database that every change to rights raises (see the receivers
below). The generation is read in the same query as the signed-in user (see
`kefu.accounts.backends`), so a change is seen by the very next request in every process, and a
stale entry is simply never asked for again.

A user object loaded any other way (CLI, jobs, services loading staff) carries no generation and
computes its rights from the database, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

from kefu.core.scoping import Scope

if TYPE_CHECKING:
    from kefu.accounts.models import Role, User

# The attribute the signed-in user carries: the generation read with it, or None.
KEY_PREFIX = "kefu:access"
GENERATION_ATTRIBUTE = "access_generation"
# Short enough that a database restored from a backup (its generation going back) cannot meet
# rights cached before the restore for long; a miss costs only the few queries it saves.
CACHE_SECONDS = 600


@dataclass(frozen=True)
class Access:
    permissions: frozenset[str]
    roles: tuple[Role, ...]
    scope: Scope


def generation_sql() -> str:
    """The current access generation as a subquery, read in the same statement as the signed-in user."""
    from kefu.accounts.models import AccessGeneration

    quote = connection.ops.quote_name
    return f"(SELECT {quote('value')} FROM {quote(AccessGeneration._meta.db_table)} WHERE {quote('id')} = 1)"


def _cache_key(user: User, generation: int) -> str:
    # The user's own row holds part of what the rights depend on; a change there makes a new key.
    # The database name keeps two installations (or test databases) sharing one Redis apart.
    return (
        f"{KEY_PREFIX}:{connection.settings_dict['NAME']}:{user.pk}:{generation}:"
        f"{int(user.is_active)}:{int(user.is_superuser)}:{user.department_id or 0}"
    )


def _compute(user: User) -> Access:
    permissions = frozenset(ModelBackend().get_all_permissions(user)) if user.is_active else frozenset()
    roles = user.compute_roles()
    return Access(permissions=permissions, roles=tuple(roles), scope=user.compute_scope(roles))


def access_of(user: User) -> Access:
    """The user's rights: from the instance, else the cache (when the generation is known), else the database."""
    known = user.__dict__.get("_kefu_access")
    if known is not None:
        return known
    generation = getattr(user, GENERATION_ATTRIBUTE, None)
    access = None
    if generation is not None and user.pk is not None:
        key = _cache_key(user, generation)
        access = cache.get(key)
        if access is None:
            access = _compute(user)
            # Kept only once committed: rights read inside a transaction that changes them and
            # then rolls back would otherwise be kept under a generation that stays current.
            transaction.on_commit(lambda: cache.set(key, access, CACHE_SECONDS))
    else:
        access = _compute(user)
    user.__dict__["_kefu_access"] = access
    return access


def forget_access(user: User) -> None:
    """Drop what this instance knows of its rights (after changing them in the same request)."""
    for attribute in ("_kefu_access", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)
    # The generation read with the user predates the change: compute afresh from the database.
    user.__dict__.pop(GENERATION_ATTRIBUTE, None)


def raise_generation() -> None:
    """Every cached set of rights becomes unreachable; called inside the changing transaction."""
    from kefu.accounts.models import AccessGeneration

    if not AccessGeneration.objects.filter(pk=1).update(value=F("value") + 1):
        AccessGeneration.objects.get_or_create(pk=1, defaults={"value": 1})


# --- what changes rights ----------------------------------------------------------------------
# Bulk queryset updates and raw SQL bypass these; rights are only changed through the services
# (kefu.accounts.services, kefu.accounts.roles), which use ordinary saves and m2m methods.


def _on_change(**kwargs: Any) -> None:
    if kwargs.get("raw"):  # fixtures being loaded
        return
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return
    raise_generation()


def connect_receivers() -> None:
    from kefu.accounts.models import Department, Role, User

    for model in (Role, Department, Group, Permission):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"kefu.access.save.{model.__name__}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"kefu.access.delete.{model.__name__}")
    for through in (
        User.groups.through,
        User.user_permissions.through,
        Group.permissions.through,
        Role.scope_departments.through,
    ):
        m2m_changed.connect(_on_change, sender=through, dispatch_uid=f"kefu.access.m2m.{through.__name__}")
