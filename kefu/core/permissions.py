"""Right checks used by every service, so pages, API, CLI and jobs share one gate."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kefu.core.errors import NotFound, PermissionDenied
from kefu.core.scoping import scope_of


def require_perm(actor: Any, *perms: str) -> None:
    """Raise PermissionDenied unless the actor holds every right listed."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        raise PermissionDenied(_("Please sign in first."))
    missing = [perm for perm in perms if not actor.has_perm(perm)]
    if missing:
        raise PermissionDenied(_("You do not have the right to do this."), detail={"missing": missing})


def require_visible(actor: Any, instance: Any) -> None:
    """The object must be inside the actor's data scope; outside it, it does not exist for them."""
    model = type(instance)
    covers = getattr(model, "scope_covers", None)
    if covers is not None and covers(scope_of(actor), instance):
        # Decided from the row as the caller just read it, without asking the database again.
        return
    if not model.objects.visible_to(actor).filter(pk=instance.pk).exists():
        raise NotFound()
