"""Inputs the schemathesis run found to break the product, kept as plain tests so they stay fixed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.customers.models import Customer
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

BEYOND_BIGINT = 2**64  # larger than any database's integer column


def test_assigning_an_id_beyond_the_integer_range_is_not_found_not_a_server_error(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    manager = users["manager"]
    customer = make_customer(actor=manager)
    response = api_as(manager).post(
        "/api/v1/customers/assign",
        {"ids": [customer.pk, BEYOND_BIGINT, -BEYOND_BIGINT], "owner_id": users["agent"].pk},
        content_type="application/json",
    )
    assert response.status_code == 404, response.content
    assert set(response.json()) == {"code", "message", "detail"}
    customer.refresh_from_db()
    assert customer.owner == manager, "a refused hand-over must move nobody"


def test_bulk_hand_over_page_with_an_id_beyond_the_integer_range_answers_with_a_message(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    manager = users["manager"]
    customer = make_customer(actor=manager)
    response = client_as(manager).post(
        "/customers/bulk/", {"ids": [str(BEYOND_BIGINT)], "owner": users["agent"].pk}
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).owner == manager


@pytest.mark.parametrize("path", ["/customers/bulk/", "/customers/export/"])
@pytest.mark.parametrize("bad_id", ["²", str(BEYOND_BIGINT)])
def test_customer_pages_ignore_ids_that_are_no_row_id(
    path: str, bad_id: str, users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    """'²'.isdigit() is True but int('²') raises; 2**64 overflows the database: ignored, not a 500."""
    client = client_as(users["manager"])
    data = {"ids": [bad_id], "owner": users["agent"].pk}
    response = client.post(path, data) if path.endswith("bulk/") else client.get(path, data)
    assert response.status_code < 500


def _integer_query_parameters() -> list[tuple[str, str]]:
    from kefu.api import api

    found = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        for parameter in parameters:
            kinds = {parameter["schema"].get("type")} | {
                option.get("type") for option in parameter["schema"].get("anyOf", [])
            }
            if parameter["in"] == "query" and "integer" in kinds and "{" not in path:
                found.append((path, parameter["name"]))
    return found


@pytest.mark.parametrize(("path", "name"), _integer_query_parameters())
def test_integer_filters_beyond_the_integer_range_answer_without_a_server_error(
    path: str, name: str, users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    client = api_as(users["manager"])
    for value in (BEYOND_BIGINT, -BEYOND_BIGINT):
        response = client.get(path, {name: value})
        assert response.status_code in (200, 400), (value, response.status_code)


@pytest.mark.parametrize("name", ["owner", "department"])
def test_customer_list_page_filter_beyond_the_integer_range_answers_without_a_server_error(
    name: str, users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    response = client_as(users["manager"]).get("/customers/", {name: BEYOND_BIGINT})
    assert response.status_code == 200


def test_due_moment_is_a_valid_date_time_even_for_a_start_long_ago(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users["manager"]).get(
        "/api/v1/calendar/due", {"start": "0688-12-08T18:41:06-17:29", "hours": 150}
    )
    assert response.status_code == 400 or (
        response.status_code == 200 and re.search(r"[+-]\d\d:\d\d$|Z$", response.json()["due"])
    ), response.content


def test_a_nul_character_anywhere_is_a_clear_400_not_a_500(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    client = api_as(users["manager"])
    body = client.post("/api/v1/customers", {"name": "\x00甲"}, content_type="application/json")
    assert body.status_code == 400 and body.json()["code"] == "invalid_characters"
    query = client.get("/api/v1/customers", {"q": "a\x00"})
    assert query.status_code == 400
    page = Client()
    page.force_login(users["manager"])
    assert page.get("/customers/", {"q": "\x00"}).status_code == 400
