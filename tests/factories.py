"""Test data through the services, so tests exercise the same path as the product."""

from __future__ import annotations

import itertools
from typing import Any

from faker import Faker

from kefu.accounts.models import User
from kefu.customers.models import Contact, Customer
from kefu.customers.services import contact_create, customer_create

fake = Faker("zh_CN")
_mobiles = itertools.count(13800000000)


def unique_mobile() -> str:
    return str(next(_mobiles))


def make_customer(*, actor: User, **data: Any) -> Customer:
    data.setdefault("name", fake.company())
    data.setdefault("phone", unique_mobile())
    return customer_create(actor=actor, data=data, skip_permission=True)


def make_contact(*, actor: User, customer: Customer, **data: Any) -> Contact:
    data.setdefault("name", fake.name())
    data.setdefault("mobile", unique_mobile())
    return contact_create(actor=actor, customer=customer, data=data)
