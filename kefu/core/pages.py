"""Helpers shared by the server-rendered pages."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.http import HttpRequest

from kefu.core.errors import DomainError

PER_PAGE_CHOICES = (20, 50, 100)


class CappedPaginator(Paginator):
    """Counts at most `cap` rows.

    Past a thousand matches nobody reads the exact number, and counting every match of a broad
    filter over a million customers costs far more than fetching the page itself. Lists say
    "more than 1,000" and ask for narrower filters instead.
    """

    def __init__(self, object_list: Any, per_page: int, *, cap: int) -> None:
        super().__init__(object_list, per_page)
        self.cap = cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        if not hasattr(self.object_list, "query"):
            return len(self.object_list)
        found, self.capped = capped_count(self.object_list, self.cap)
        return found


def capped_count(queryset: Any, cap: int) -> tuple[int, bool]:
    """How many rows match, counting at most `cap`; and whether there were more."""
    rows = queryset.select_related(None)  # display joins do not change a count
    if connections[rows.db].vendor != "sqlite":
        # How many of the first cap + 1 rows match is the same in any order. Kept in list
        # order, PostgreSQL walks the whole table in that order to find sparse matches (an
        # agent's search for 上海: 0.7-1.3 s; 75 ms unordered). SQLite is the other way round:
        # in list order it reads the search's ids in order and stops at the cap, unordered it
        # starts from the data scope's indexes and tests every row of the department.
        rows = rows.order_by()
    found = rows[: cap + 1].count()
    return min(found, cap), found > cap


def paginate(request: HttpRequest, queryset: Any, per_page: int = 20) -> Page:
    try:
        requested = int(request.GET.get("per_page", per_page))
    except ValueError:
        requested = per_page
    size = requested if requested in PER_PAGE_CHOICES else per_page
    paginator = CappedPaginator(queryset, size, cap=settings.LIST_COUNT_CAP)
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


def ids_from(values: list[str]) -> list[int]:
    """Record ids ticked in a list; anything that is not a plausible id is dropped."""
    return [
        number
        for number in (int_or_none(v) for v in values if v.isascii())
        if number is not None and number > 0
    ]
