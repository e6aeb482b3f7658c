"""Excel exports of customer lists; masking and the access log apply as on screen."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _

from kefu.core.access import log_sensitive_bulk
from kefu.core.excel import xlsx_response
from kefu.core.masking import can_view_sensitive, masked
from kefu.customers.models import Contact, Customer


def _headers() -> list[str]:
    return [
        _("Archive number"),
        _("Name"),
        _("Kind"),
        _("Tier"),
        _("Lifecycle"),
        _("Main phone"),
        _("Unified social credit code"),
        _("ID number"),
        _("Primary contact"),
        _("Contact mobile"),
        _("Province"),
        _("City"),
        _("Address"),
        _("Industry"),
        _("Scale (tons/year)"),
        _("Credit rating"),
        _("Owner"),
        _("Department"),
        _("Last trade"),
        _("Last contact"),
        _("Created at"),
    ]


def _rows(queryset: QuerySet[Customer], reveal: bool) -> Iterator[Sequence[Any]]:
    primary: dict[int, tuple[str, str]] = {}
    batch: list[Customer] = []

    def flush() -> Iterator[Sequence[Any]]:
        primary.clear()
        for customer_id, name, mobile in Contact.objects.filter(
            customer_id__in=[c.pk for c in batch], is_primary=True
        ).values_list("customer_id", "name", "mobile"):
            primary[customer_id] = (name, mobile)
        for c in batch:
            contact_name, contact_mobile = primary.get(c.pk, ("", ""))
            yield [
                c.archive_number,
                c.name,
                c.get_kind_display(),
                c.tier or "",
                c.get_lifecycle_display(),
                masked(c.phone, "phone", reveal=reveal),
                c.credit_code or "",
                masked(c.id_number, "id_number", reveal=reveal),
                contact_name,
                masked(contact_mobile, "phone", reveal=reveal),
                c.province,
                c.city,
                c.address,
                c.industry,
                c.annual_tons,
                c.credit_rating,
                str(c.owner or ""),
                str(c.department or ""),
                c.last_trade_at,
                c.last_contact_at,
                c.created_at,
            ]

    for customer in queryset.select_related("owner", "department").iterator(chunk_size=2000):
        batch.append(customer)
        if len(batch) >= 2000:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


class _Counter:
    def __init__(self, rows: Iterator[Sequence[Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def customers_xlsx_response(
    *, actor: Any, queryset: QuerySet[Customer], request: Any = None, filename: str | None = None
) -> FileResponse:
    reveal = can_view_sensitive(actor)
    counter = _Counter(_rows(queryset, reveal))
    response = xlsx_response(
        filename=filename or _("customers"), sheet=_("Customers"), headers=_headers(), rows=counter
    )
    log_sensitive_bulk(
        actor=actor,
        object_type="customer",
        count=counter.count,
        fields=["phone", "id_number"],
        channel="export",
        request=request,
        detail=filename or "customers",
    )
    return response


def birthdays_xlsx_response(*, actor: Any, rows: list[Any], request: Any = None) -> FileResponse:
    reveal = can_view_sensitive(actor)
    headers = [
        _("Birthday"),
        _("Days until"),
        _("Name"),
        _("Customer"),
        _("Archive number"),
        _("Phone"),
        _("Owner"),
    ]
    data = [
        [
            row.next_birthday,
            row.days_until,
            row.name,
            row.customer.name,
            row.customer.archive_number,
            masked(row.contact.mobile if row.contact else row.customer.phone, "phone", reveal=reveal),
            str(row.customer.owner or ""),
        ]
        for row in rows
    ]
    log_sensitive_bulk(
        actor=actor,
        object_type="customer",
        count=len(data),
        fields=["phone"],
        channel="export",
        request=request,
        detail="birthdays",
    )
    return xlsx_response(filename=_("birthdays"), sheet=_("Birthdays"), headers=headers, rows=data)
