"""Django's model backend, with the signed-in user's rights kept between requests (see access.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from kefu.accounts.access import GENERATION_ATTRIBUTE, access_of, generation_subquery


class AccessCachingModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        # The access generation comes in the same query as the user: no extra round trip.
        user_model = get_user_model()
        users = user_model._default_manager.annotate(**{GENERATION_ATTRIBUTE: generation_subquery()})
        try:
            user = users.get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = set(access_of(user_obj).permissions)
        return user_obj._perm_cache
