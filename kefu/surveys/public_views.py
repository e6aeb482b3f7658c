"""The public survey page /survey/<token>/: no sign-in, made for a phone screen.

A link that is tampered with, expired, already answered or withdrawn shows a page saying so and
stores nothing; a second submit of the same survey is the "already answered" page, never a
second answer.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from kefu.core.errors import DomainError, ValidationFailed
from kefu.core.oplog import note_operation_target
from kefu.core.ratelimit import rate_limited
from kefu.core.requests import client_ip
from kefu.surveys import services
from kefu.surveys.forms import answers_from_post, question_rows
from kefu.surveys.tokens import LinkProblem


def _problem(request: HttpRequest, exc: LinkProblem) -> HttpResponse:
    return render(request, "surveys/public/problem.html", {"problem": exc}, status=exc.status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.survey_public_invitation(token)
    except LinkProblem as exc:
        return _problem(request, exc)
    errors: dict[str, list[str]] = {}
    given: dict[str, object] = {}
    if request.method == "POST":
        if rate_limited("survey-submit", client_ip(request), limit=settings.PUBLIC_SUBMIT_PER_MINUTE * 4):
            response = render(request, "tickets/public/rate_limited.html", status=429)
            response["Retry-After"] = "60"
            return response
        given = answers_from_post(request.POST, invitation.template)
        try:
            services.survey_public_submit(token=token, answers=given)
        except LinkProblem as exc:
            return _problem(request, exc)
        except ValidationFailed as exc:
            errors = exc.detail or {}
        except DomainError as exc:
            # Anything else (a rule of another app refusing the follow-up case): nothing was stored.
            return render(request, "surveys/public/problem.html", {"problem": exc}, status=exc.status)
        else:
            note_operation_target(request, invitation.number)
            return redirect("survey_thanks")
    context = {
        "invitation": invitation,
        "template": invitation.template,
        "rows": question_rows(invitation.template, given, errors),
        "has_errors": bool(errors),
    }
    return render(request, "surveys/public/survey.html", context, status=400 if errors else 200)


@never_cache
def thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "surveys/public/thanks.html")
