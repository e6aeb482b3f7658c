import pytest

from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def test_pages(users, client_as):
    c = client_as(users["manager"])
    cust = make_customer(actor=users["manager"], name="张三", kind="person", phone="13812345678")
    make_contact(actor=users["manager"], customer=cust, name="李四")
    urls = [
        "/",
        "/customers/",
        "/customers/?q=zs",
        "/customers/new/",
        "/customers/lookup/?phone=13812345678",
        "/customers/lookup/?phone=13812340000",
        "/customers/lists/big/",
        "/customers/lists/at-risk/",
        "/customers/lists/birthdays/",
        "/customers/borrowings/",
        "/customers/imports/",
        "/customers/policies/",
        f"/customers/{cust.pk}/",
        f"/customers/{cust.pk}/edit/",
        f"/customers/{cust.pk}/contacts/new/",
        f"/customers/{cust.pk}/documents/new/",
        f"/customers/{cust.pk}/trades/new/",
        f"/customers/{cust.pk}/contact-records/new/",
        "/customers/export/",
        "/customers/imports/template.xlsx",
        "/customers/lists/big/?export=xlsx",
        "/customers/lists/birthdays/?export=xlsx",
    ]
    for t in [
        "overview",
        "contacts",
        "documents",
        "trades",
        "contact_records",
        "tiers",
        "history",
        "borrowings",
    ]:
        urls.append(f"/customers/{cust.pk}/?tab={t}")
    for u in urls:
        r = c.get(u)
        assert r.status_code == 200, (u, r.status_code, r.content[:3000])
