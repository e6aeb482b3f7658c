"""core.rows.one_row gives the instance the ORM would: same values, same types, deferred the rest."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.accounts.models import User
from kefu.core.rows import one_row
from kefu.customers.models import Customer
from kefu.tickets.models import TicketEvent
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _values(instance: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in names}


def test_a_whole_row_equals_the_orm_one(users):
    agent = users["agent"]
    row = one_row(User, by="id", value=agent.pk)
    orm = User.objects.get(pk=agent.pk)
    names = [field.attname for field in User._meta.concrete_fields]
    assert row is not None and _values(row, names) == _values(orm, names)
    assert row._state.adding is False and not row.get_deferred_fields()
    assert type(row.date_joined) is type(orm.date_joined) and row.date_joined.tzinfo is not None


def test_json_and_booleans_come_back_as_python_values(open_ticket_event):
    row = one_row(TicketEvent, by="id", value=open_ticket_event.pk)
    orm = TicketEvent.objects.get(pk=open_ticket_event.pk)
    assert row is not None and row.data == orm.data and isinstance(row.data, dict)
    assert row.internal is orm.internal and row.created_at == orm.created_at


def test_chosen_fields_leave_the_others_deferred(users):
    customer = make_customer(actor=users["agent"])
    with CaptureQueriesContext(connection) as context:
        row = one_row(Customer, by="id", value=customer.pk, fields=("name", "tier", "owner"))
    assert len(context) == 1 and row is not None
    assert (row.pk, row.name, row.tier, row.owner_id) == (
        customer.pk,
        customer.name,
        customer.tier,
        users["agent"].pk,
    )
    assert "department_id" in row.get_deferred_fields() and "name" not in row.get_deferred_fields()


def test_no_row_is_none_and_extra_expressions_are_attributes(users):
    assert one_row(User, by="id", value=10**12) is None
    row = one_row(
        User, by="username", value=users["agent"].username, fields=("username",), extra={"two": "1 + 1"}
    )
    assert row is not None and row.two == 2


@pytest.fixture
def open_ticket_event(users: dict[str, Any]) -> TicketEvent:
    from kefu.tickets.services import TicketInput, ticket_create

    ticket = ticket_create(
        actor=users["agent"], data=TicketInput(kind="inquiry", channel="hotline", subject="问")
    )
    return ticket.events.get()
