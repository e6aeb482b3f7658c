"""The staff member's notifications: the bell's page, read and marked read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.core.models import Notification
from kefu.core.notifications import notifications_mark_read
from kefu.core.pages import ids_from, paginate


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    inbox = Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id")
    if unread_only:
        inbox = inbox.filter(read_at__isnull=True)
    return render(
        request, "core/notifications.html", {"page_obj": paginate(request, inbox), "unread_only": unread_only}
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    """Mark the ticked (or all) notifications read; opening one marks it and follows its link."""
    ids = ids_from(request.POST.getlist("ids"))
    if request.POST.get("all") == "1":
        count = notifications_mark_read(actor=request.user)
    else:
        count = notifications_mark_read(actor=request.user, ids=ids) if ids else 0
    follow = request.POST.get("follow", "")
    if len(ids) == 1 and follow:
        target = (
            Notification.objects.filter(recipient=request.user, pk=ids[0])
            .values_list("url", flat=True)
            .first()
        )
        if target and target.startswith("/") and not target.startswith("//"):
            return redirect(target)
    if count:
        messages.success(request, _("%(count)d notifications were marked read.") % {"count": count})
    return redirect("notifications")
