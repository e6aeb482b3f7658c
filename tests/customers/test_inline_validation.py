from __future__ import annotations

import pytest

from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def post(client, field, **data):
    payload = {"kind": "company", "name": "某公司", "lifecycle": "potential", "validate_field": field, **data}
    return client.post("/customers/validate/", payload, HTTP_HX_REQUEST="true")


def test_a_bad_phone_is_flagged_when_the_agent_leaves_the_field(users, client_as):
    response = post(client_as(users["agent"]), "phone", phone="12345")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-field-error="phone"' in body and "12345" in body


def test_a_good_phone_comes_back_clean(users, client_as):
    body = post(client_as(users["agent"]), "phone", phone="+86 138 1234 5678").content.decode()
    assert "data-field-error" not in body


def test_a_taken_credit_code_names_the_other_archive_except_for_the_same_customer(users, client_as):
    existing = make_customer(actor=users["manager"], credit_code="91350100M000100Y43")
    client = client_as(users["agent"])
    body = post(client, "credit_code", credit_code="91350100M000100Y43").content.decode()
    assert existing.archive_number in body
    same = post(
        client, "credit_code", credit_code="91350100M000100Y43", customer_pk=existing.pk
    ).content.decode()
    assert "data-field-error" not in same


def test_inline_validation_needs_a_right_to_write_customers(users, client_as):
    assert post(client_as(users["technician"]), "phone", phone="1").status_code == 403


def test_agent_edit_form_shows_phone_masked_and_saving_keeps_the_real_number(users, client_as):
    customer = make_customer(actor=users["agent"], phone="13812345678", city="杭州")
    client = client_as(users["agent"])
    page = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    assert "138****5678" in page and "13812345678" not in page
    form = {
        "kind": "company",
        "name": customer.name,
        "lifecycle": "potential",
        "city": "宁波",
        "version": customer.version,
    }
    response = client.post(f"/customers/{customer.pk}/edit/", form)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.phone, customer.city) == ("13812345678", "宁波")
