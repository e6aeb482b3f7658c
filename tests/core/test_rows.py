"""core.rows.one_row gives the instance the ORM would: same values, same types, deferred the rest."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.accounts.models import User
from kefu.core.models import OperationLog
from kefu.core.rows import insert_new, insert_row, one_row
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


def test_a_joined_row_comes_in_the_same_statement(users):
    customer = make_customer(actor=users["agent"])
    owner = User.objects.get(pk=users["agent"].pk)
    with CaptureQueriesContext(connection) as context:
        row = one_row(
            Customer, by="id", value=customer.pk, fields=("name",), join="owner", extra={"two": "1 + 1"}
        )
        assert row is not None and row.owner == owner and row.owner.username == "agent"
        assert row.owner.date_joined == owner.date_joined and row.owner.is_active is True
        assert (row.name, row.two) == (customer.name, 2)
    assert len(context) == 1
    assert "department_id" in row.get_deferred_fields() and not row.owner.get_deferred_fields()


def test_an_inserted_row_reads_back_as_the_orm_would_write_it(users):
    at = timezone.now()
    values = {"at": at, "actor_id": users["agent"].pk, "action": "api:create_ticket", "ip": "10.0.0.7"}
    with CaptureQueriesContext(connection) as context:
        insert_row(OperationLog, values)
        insert_row(OperationLog, {**values, "action": "api:update_ticket", "ip": None})
    assert len(context) == 2
    rows = OperationLog.objects.filter(actor=users["agent"]).order_by("id")
    assert [(r.at, r.action, r.ip, r.result, r.username) for r in rows] == [
        (at, "api:create_ticket", "10.0.0.7", OperationLog.Result.OK, ""),
        (at, "api:update_ticket", None, OperationLog.Result.OK, ""),
    ]
    with pytest.raises(ValueError, match="no columns"):
        insert_row(OperationLog, {"nonsense": 1})


@pytest.fixture
def open_ticket_event(users: dict[str, Any]) -> TicketEvent:
    from kefu.tickets.services import TicketInput, ticket_create

    ticket = ticket_create(
        actor=users["agent"], data=TicketInput(kind="inquiry", channel="hotline", subject="问")
    )
    return ticket.events.get()


def _event_like(source: TicketEvent, **changes: Any) -> TicketEvent:
    values = {"ticket": source.ticket, "kind": "note", "actor": source.actor, "body": "内部备注"}
    values.update(data={"n": 1}, internal=True, created_at=source.created_at)
    return TicketEvent(**{**values, **changes})


def test_a_new_instance_is_written_as_save_writes_it(open_ticket_event):
    by_save = _event_like(open_ticket_event)
    by_save.save()
    fresh = _event_like(open_ticket_event)
    with CaptureQueriesContext(connection) as context:
        assert insert_new(fresh) is fresh
    assert len(context) == 1  # the key comes back in the INSERT itself
    assert fresh.pk is not None and fresh.pk != by_save.pk
    assert fresh._state.adding is False and fresh._state.db == "default"
    names = [f.attname for f in TicketEvent._meta.concrete_fields if not f.primary_key]
    assert _values(TicketEvent.objects.get(pk=fresh.pk), names) == _values(
        TicketEvent.objects.get(pk=by_save.pk), names
    )


def test_save_signals_are_sent_as_for_a_created_row(open_ticket_event):
    heard: list[tuple[str, Any]] = []

    def before(sender: Any, instance: TicketEvent, **kwargs: Any) -> None:
        heard.append(("pre_save", instance.pk))

    def after(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
        heard.append(("post_save", (created, instance.pk is not None, kwargs["update_fields"])))

    pre_save.connect(before, sender=TicketEvent)
    post_save.connect(after, sender=TicketEvent)
    try:
        insert_new(_event_like(open_ticket_event))
    finally:
        pre_save.disconnect(before, sender=TicketEvent)
        post_save.disconnect(after, sender=TicketEvent)
    assert heard == [("pre_save", None), ("post_save", (True, True, None))]


def test_a_preset_key_or_an_expression_is_left_to_save(open_ticket_event):
    preset = _event_like(open_ticket_event, id=open_ticket_event.pk + 1000)
    insert_new(preset)
    assert TicketEvent.objects.filter(pk=open_ticket_event.pk + 1000).exists()
    expression = _event_like(open_ticket_event, created_at=Now())
    insert_new(expression)
    assert TicketEvent.objects.get(pk=expression.pk).created_at is not None
