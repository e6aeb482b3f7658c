"""Kefu's middleware: the operation log of every write request, whoever makes it, through pages or
the API; NUL characters refused at the door; and the page-only middleware that an API call carrying
a token passes by."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware

from kefu.core.oplog import UNSAFE, operation_begin, operation_end, operation_record


class OperationLogMiddleware:
    """One operation-log row for every write request (kefu.core.oplog)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in UNSAFE:
            return self.get_response(request)
        token = operation_begin(request)
        try:
            try:
                response = self.get_response(request)
            except Exception:
                operation_record(request, 500)
                raise
            operation_record(request, response.status_code)
            return response
        finally:
            operation_end(token)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class RejectNulCharactersMiddleware:
    """A NUL character is never meaningful input, and PostgreSQL refuses to store or compare text
    holding one: without this check it surfaces as a 500 far from where it came in. Forms already
    refuse it field by field; this covers query strings, posted values and JSON bodies alike."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            from django.utils.translation import gettext as _

            message = _("The request contains a NUL character (\\u0000), which no field accepts.")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"code": "invalid_characters", "message": message, "detail": None}, status=400
                )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        if "\x00" in request.path or any(
            _has_nul(v) for _k, values in request.GET.lists() for v in [_k, *values]
        ):
            return True
        content_type = request.content_type or ""
        if request.method in UNSAFE and content_type == "application/json":
            # JSON can carry a NUL only escaped (a raw control character is not valid JSON), so a
            # body without the escape is not parsed twice.
            if b"\\u0000" not in request.body:
                return False
            try:
                return _has_nul(json.loads(request.body or b"null"))
            except (ValueError, UnicodeDecodeError):
                return False  # not JSON at all: the API answers that itself
        if request.method in UNSAFE and content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            return any(_has_nul(v) for _k, values in request.POST.lists() for v in [_k, *values])
        return False


def token_api_call(request: HttpRequest) -> bool:
    """An API call carrying a bearer token. It is judged by its token alone: no session is read
    (so no CSRF check either), no flash messages kept, no page's Content-Security-Policy built."""
    return request.path_info.startswith("/api/") and (
        request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
    )


class _PagesOnly:
    """Put first among the bases of a page-only middleware: a token API call passes it by."""

    async_capable = False
    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if token_api_call(request):
            return self.get_response(request)
        page_middleware: Any = super()
        return page_middleware.__call__(request)


class PageSessionMiddleware(_PagesOnly, SessionMiddleware):
    pass


class PageCsrfViewMiddleware(_PagesOnly, CsrfViewMiddleware):
    """The API's views are exempt from Django's check; its session auth checks by itself."""


class PageAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if token_api_call(request):
            request.user = AnonymousUser()  # until the token authenticates (kefu.api.TokenAuth)
            return
        super().process_request(request)


class PageMessageMiddleware(_PagesOnly, MessageMiddleware):
    pass


class PageCSPMiddleware(_PagesOnly, CSPMiddleware):
    pass
