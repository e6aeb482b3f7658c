from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from kefu.customers.models import Customer, Lifecycle, Tier
from kefu.customers.selectors import at_risk_customers, upcoming_birthdays


def health_live(request: HttpRequest) -> JsonResponse:
    """Liveness for a load balancer in front of several app servers: answers without the database.

    The benchmarks use it as the floor, the cost of the server and the middleware alone.
    """
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {}
    if request.user.has_perm("customers.view_customer"):
        visible = Customer.objects.visible_to(request.user)
        by_tier = dict(visible.values_list("tier").annotate(n=Count("id")).values_list("tier", "n"))
        by_lifecycle = dict(
            visible.values_list("lifecycle").annotate(n=Count("id")).values_list("lifecycle", "n")
        )
        context.update(
            total=sum(by_lifecycle.values()),
            vip_count=sum(n for tier, n in by_tier.items() if tier),
            at_risk_count=at_risk_customers(user=request.user).count(),
            birthdays=upcoming_birthdays(user=request.user)[:8],
            recent=visible.select_related("owner").order_by("-id")[:8],
            tier_chart={
                "title": _("Customers by tier"),
                "data": [
                    {"name": str(label), "value": by_tier.get(value, 0)} for value, label in Tier.choices
                ],
            },
            lifecycle_chart={
                "title": _("Customers by lifecycle"),
                "labels": [str(label) for _value, label in Lifecycle.choices],
                "values": [by_lifecycle.get(value, 0) for value, _label in Lifecycle.choices],
            },
        )
    return render(request, "core/home.html", context)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render(request, "403.html", status=403)
