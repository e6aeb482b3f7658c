"""Ticket fixtures: a customer, a group in the call centre, and a helper to open tickets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kefu.accounts.models import Department, User
from kefu.customers.models import Customer
from kefu.tickets.models import AssignMode, TicketGroup
from kefu.tickets.services import TicketInput, ticket_create
from tests.factories import make_customer


@pytest.fixture
def customer(users: dict[str, User]) -> Customer:
    return make_customer(
        actor=users["manager"], name="杭州恒丰纸业有限公司", department=users["agent"].department
    )


@pytest.fixture
def centre_group(users: dict[str, User], departments: dict[str, Department]) -> TicketGroup:
    group = TicketGroup.objects.create(
        name="客服中心组", department=departments["centre"], assign_mode=AssignMode.MANUAL
    )
    group.members.set([users["agent"], users["supervisor"]])
    return group


@pytest.fixture
def open_ticket(users: dict[str, User], customer: Customer) -> Callable[..., Any]:
    def make(actor: User | None = None, **fields: Any) -> Any:
        data = TicketInput(
            kind=fields.pop("kind", "inquiry"),
            channel=fields.pop("channel", "hotline"),
            subject=fields.pop("subject", "咨询污水处理设备的保养"),
            customer=fields.pop("customer", customer),
            **fields,
        )
        return ticket_create(actor=actor or users["agent"], data=data)

    return make
