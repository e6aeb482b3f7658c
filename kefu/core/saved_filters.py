"""Saved filters of a list: each staff member keeps their own under a name."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.models import SavedFilter
from kefu.core.permissions import require_perm

# Parameters that say where one is in the list, not what it shows.
NOT_FILTERS = {"page", "per_page", "csrfmiddlewaretoken"}


def saved_filters(user: Any, page: str) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(user=user, page=page).order_by("name")


@transaction.atomic
def saved_filter_save(*, actor: Any, page: str, name: str, query: str) -> SavedFilter:
    """Save (or overwrite, under the same name) the list's current filters."""
    require_perm(actor)
    name = str(name or "").strip()[:50]
    if not name:
        raise ValidationFailed(_("Give the filter a name."), detail={"name": [_("This field is required.")]})
    from django.http import QueryDict

    params = QueryDict(str(query or "")[:1000], mutable=True)
    for key in NOT_FILTERS:
        params.pop(key, None)
    saved, _created = SavedFilter.objects.update_or_create(
        user=actor, page=page, name=name, defaults={"query": params.urlencode()[:1000]}
    )
    return saved


@transaction.atomic
def saved_filter_delete(*, actor: Any, pk: int) -> None:
    """Only one's own filters can be deleted; another's does not exist for them."""
    require_perm(actor)
    deleted, _rows = SavedFilter.objects.filter(user=actor, pk=pk).delete()
    if not deleted:
        raise NotFound()
