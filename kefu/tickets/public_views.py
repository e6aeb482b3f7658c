"""The public service page (/service/): open a case and look up its status, without signing in.

Both forms are limited per client address; a status look-up answers the same "not found" whether
the number or the phone is wrong, so the page never tells which case numbers exist.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from kefu.core.errors import DomainError
from kefu.core.oplog import note_operation_target
from kefu.core.pages import form_error_from_domain
from kefu.core.ratelimit import rate_limited
from kefu.core.requests import client_ip
from kefu.tickets.public_forms import PublicCaseForm, PublicStatusForm
from kefu.tickets.public_services import PublicCaseInput, public_ticket_status, public_ticket_submit

SESSION_KEY = "kefu_public_submitted"


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "tickets/public/rate_limited.html", status=429)
    response["Retry-After"] = "60"
    return response


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "tickets/public/submit.html", {"form": PublicCaseForm()})
    if rate_limited("public-submit", client_ip(request), limit=settings.PUBLIC_SUBMIT_PER_MINUTE):
        return _too_many(request)
    form = PublicCaseForm(request.POST)
    if form.is_valid():
        data = PublicCaseInput(
            name=form.cleaned_data["name"],
            phone=form.cleaned_data["phone"],
            email=form.cleaned_data["email"],
            kind=form.cleaned_data["kind"],
            subject=form.cleaned_data["subject"],
            description=form.cleaned_data["description"],
        )
        try:
            ticket = public_ticket_submit(data=data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            note_operation_target(request, ticket.number)
            # Post/redirect/get: reloading the confirmation must not submit the case again.
            request.session[SESSION_KEY] = ticket.number
            return redirect("public:submitted")
    return render(request, "tickets/public/submit.html", {"form": form}, status=400)


@never_cache
@require_http_methods(["GET"])
def submitted(request: HttpRequest) -> HttpResponse:
    number = request.session.get(SESSION_KEY)
    if not number:
        return redirect("public:submit")
    return render(request, "tickets/public/submitted.html", {"number": number})


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    # A POST keeps the phone number out of addresses, logs and the browser history.
    if request.method != "POST":
        initial = {"number": request.GET.get("number", "")[:20]}
        return render(request, "tickets/public/status.html", {"form": PublicStatusForm(initial=initial)})
    if rate_limited("public-status", client_ip(request), limit=settings.PUBLIC_STATUS_PER_MINUTE):
        return _too_many(request)
    form = PublicStatusForm(request.POST)
    context: dict[str, object] = {"form": form}
    if form.is_valid():
        case = public_ticket_status(number=form.cleaned_data["number"], phone=form.cleaned_data["phone"])
        context.update(case=case, not_found=case is None, looked_up=True)
        return render(request, "tickets/public/status.html", context)
    return render(request, "tickets/public/status.html", context, status=400)
