"""Visit fixtures: VIP customers of each tier in the call centre, and a helper to plan a visit."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.visits import services
from kefu.visits.models import Visit
from tests.factories import make_customer

TONS = {"A": Decimal("25000"), "B": Decimal("15000"), "C": Decimal("500"), "": Decimal("500")}


@pytest.fixture
def make_vip(users: dict[str, User]) -> Callable[..., Customer]:
    def make(tier: str, **data: Any) -> Customer:
        data.setdefault("department", users["agent"].department)
        customer = make_customer(actor=users["manager"], is_vip=bool(tier), annual_tons=TONS[tier], **data)
        assert customer.tier == tier
        return customer

    return make


@pytest.fixture
def customer(make_vip: Callable[..., Customer]) -> Customer:
    return make_vip("A", name="杭州恒丰纸业有限公司")


@pytest.fixture
def plan_visit(users: dict[str, User], customer: Customer) -> Callable[..., Visit]:
    def make(actor: User | None = None, **fields: Any) -> Visit:
        fields.setdefault("customer", customer)
        fields.setdefault("assignee", users["agent"])
        return services.visit_create(actor=actor or users["supervisor"], data=services.VisitInput(**fields))

    return make
