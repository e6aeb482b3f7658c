"""Helpers shared by the server-rendered pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.http import HttpRequest

from kefu.core.errors import DomainError

PER_PAGE_CHOICES = (20, 50, 100)


def paginate(request: HttpRequest, queryset: Any, per_page: int = 20) -> Page:
    try:
        requested = int(request.GET.get("per_page", per_page))
    except ValueError:
        requested = per_page
    size = requested if requested in PER_PAGE_CHOICES else per_page
    paginator = Paginator(queryset, size)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


def form_error_from_domain(form: forms.BaseForm, exc: DomainError) -> None:
    """Show a service's error on the form: on its fields when it names them, else on top."""
    placed = False
    if isinstance(exc.detail, dict):
        for field, problems in exc.detail.items():
            target = field if field in form.fields else None
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(target, str(problem))
                placed = True
    if not placed:
        form.add_error(None, exc.message)


def flash_domain_error(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)


def int_or_none(value: Any) -> int | None:
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    # A number no database column can hold names no row; passed on, it would be a 500.
    return number if number is None or -(2**63) <= number < 2**63 else None
