"""Django's model backend, with the signed-in user's rights kept between requests (see access.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from kefu.accounts.access import GENERATION_ATTRIBUTE, access_of, generation_sql
from kefu.core.rows import one_row


class AccessCachingModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        # Every signed-in request reads its user: a statement built once (core.rows), with the
        # access generation in the same row, so no extra round trip and no compiling per request.
        user = one_row(
            get_user_model(), by="id", value=user_id, extra={GENERATION_ATTRIBUTE: generation_sql()}
        )
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = set(access_of(user_obj).permissions)
        return user_obj._perm_cache
