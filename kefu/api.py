"""The one JSON API at /api/v1/: token auth (personal API tokens) or the browser session."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from kefu.core.errors import DomainError
from kefu.core.oplog import note_operation_action


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from kefu.accounts.services import api_token_authenticate

        user = api_token_authenticate(key=token)
        if user is not None:
            # Pages and the operation log read request.user; a token stands in for the session.
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session, with Django's CSRF check on writes."""

    from django.conf import settings as _settings

    param_name = _settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="Kefu API",
    version="1",
    description="客服部管理系统 API. Authenticate with a personal API token: `Authorization: Bearer <token>`.",
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
)


def _named_for_the_operation_log(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The operation log names an API call after the operation that answers it.

    django-ninja serves every method of one path through one URL whose name is the first
    operation's (GET and POST /tickets both resolve to `api:list_tickets`); this wraps each
    operation's run so that the request carries its own operation's name (`api:create_ticket`),
    whatever the answer — a refused token or invalid input included.
    """
    operation = getattr(run, "__self__", None)
    if operation is None:
        return run
    action = f"api:{getattr(operation, 'url_name', None) or operation.view_func.__name__}"

    @wraps(run)
    def run_named(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        note_operation_action(request, action)
        return run(request, *args, **kwargs)

    return run_named


api.add_decorator(_named_for_the_operation_log, mode="view")


def error_response(
    request: HttpRequest, status: int, code: str, message: str, detail: Any = None
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "detail": detail}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.detail)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", [])]
        # Only the leading parts say where the value came from (body → payload, file, query); a
        # field of the same name further in (a reply's "body") is the field itself.
        if location and location[0] in ("body", "query", "path", "form", "file", "header", "cookie"):
            location.pop(0)
        if location and location[0] == "payload":
            location.pop(0)
        detail.setdefault(".".join(location) or "__all__", []).append(str(error.get("msg", "")))
    first_field, messages = next(iter(detail.items()), ("", [""]))
    message = _("Invalid input in “%(field)s”: %(error)s") % {"field": first_field, "error": messages[0]}
    return error_response(request, 400, "validation_failed", message, detail)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "not_authenticated", _("Sign in or send a valid API token."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Errors raised inside django-ninja itself, such as a body that is not JSON."""
    if exc.status_code == 400:
        return error_response(
            request, 400, "bad_request", _("The request body is not valid JSON or form data.")
        )
    return error_response(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("The record does not exist or is not visible to you."))


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Unknown API paths answer in JSON like every other API error, not with the HTML page."""
    return error_response(
        request, 404, "not_found", _("There is no such API endpoint: %(path)s") % {"path": request.path}
    )


def _register_routers() -> None:
    from kefu.accounts.api import router as accounts_router
    from kefu.core.calendar_api import router as calendar_router
    from kefu.customers.api import router as customers_router
    from kefu.messaging.api import router as messaging_router
    from kefu.surveys.api import router as surveys_router
    from kefu.tickets.api import router as tickets_router
    from kefu.tickets.mail_api import router as mail_router
    from kefu.tickets.report_api import router as complaint_report_router
    from kefu.visits.api import router as visits_router

    api.add_router("/", accounts_router)
    api.add_router("/", customers_router)
    api.add_router("/", calendar_router)
    api.add_router("/", tickets_router)
    api.add_router("/", mail_router)
    api.add_router("/", visits_router)
    api.add_router("/", surveys_router)
    api.add_router("/", messaging_router)
    api.add_router("/", complaint_report_router)


_register_routers()
