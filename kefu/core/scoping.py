"""Data scope (数据权限): which rows a user may see, applied in one `visible_to(user)` per model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from django.db import models
from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    """What a user may see: everything, the rows of some departments, and always their own rows."""

    user_id: int | None
    everything: bool = False
    department_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def mine_only(self) -> bool:
        return not self.everything and not self.department_ids


NOBODY = Scope(user_id=None)


def scope_of(user: Any) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOBODY
    return user.data_scope()


class ScopedQuerySet(models.QuerySet):
    """Models using this define `scope_q(scope) -> Q` saying which of their rows a scope covers."""

    def visible_to(self, user: Any) -> Self:
        scope = scope_of(user)
        if scope.user_id is None:
            return self.none()
        if scope.everything:
            return self.all()
        return self.filter(self.model.scope_q(scope))


def department_or_owner_covers(scope: Scope, instance: Any) -> bool:
    """`department_or_owner_q` for one row in memory; False when its columns were not read (ask the database)."""
    if scope.user_id is None or instance.pk is None:
        return False
    if {"department_id", "owner_id"} & instance.get_deferred_fields():
        return False
    return (
        scope.everything
        or instance.owner_id == scope.user_id
        or (instance.department_id is not None and instance.department_id in scope.department_ids)
    )


def department_or_owner_q(scope: Scope, *, department: str = "department", owner: str = "owner") -> Q:
    mine = Q(**{f"{owner}_id": scope.user_id})
    if scope.department_ids:
        return Q(**{f"{department}_id__in": sorted(scope.department_ids)}) | mine
    return mine
