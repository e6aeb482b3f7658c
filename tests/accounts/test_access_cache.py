"""A signed-in user's rights are kept between requests, and every change to them is seen at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.accounts import services
from kefu.accounts.models import DataScope, Role
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/customers/lookup"
RIGHTS_TABLES = ("auth_permission", "accounts_role", "auth_group", "accounts_department")


def lookup(client: Any, phone: str) -> Any:
    return client.get(LOOKUP, {"phone": phone})


def warm(client: Any, django_capture_on_commit_callbacks: Any, phone: str) -> None:
    """One request with its transaction callbacks run, as a committed request would."""
    with django_capture_on_commit_callbacks(execute=True):
        assert lookup(client, phone).status_code == 200


def test_phone_lookup_reads_no_rights_tables_once_the_rights_are_known(
    users, client_as, django_capture_on_commit_callbacks
):
    agent = users["agent"]
    make_customer(actor=agent, name="来电客户", phone="13811112222")
    client = client_as(agent)
    warm(client, django_capture_on_commit_callbacks, "13811112222")
    with CaptureQueriesContext(connection) as queries:
        response = lookup(client, "138 1111 2222")
    assert [row["name"] for row in response.json()] == ["来电客户"]
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert not [table for table in RIGHTS_TABLES if f'FROM "{table}"' in tables], tables
    # The session (unless it comes from Redis), the user with the access generation, the lookup.
    assert len(queries) <= 3


def test_phone_lookup_with_an_api_token_also_uses_the_kept_rights(
    users, api_as, django_capture_on_commit_callbacks
):
    agent = users["agent"]
    make_customer(actor=agent, name="来电客户", phone="13811113333")
    client = api_as(agent)
    warm(client, django_capture_on_commit_callbacks, "13811113333")
    with CaptureQueriesContext(connection) as queries:
        assert lookup(client, "13811113333").status_code == 200
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert 'FROM "auth_permission"' not in tables and 'FROM "accounts_role"' not in tables


def test_a_right_taken_from_a_role_is_refused_on_the_next_request(
    users, client_as, django_capture_on_commit_callbacks
):
    agent = users["agent"]
    client = client_as(agent)
    warm(client, django_capture_on_commit_callbacks, "13811114444")
    group = Role.objects.get(code="agent").group
    group.permissions.remove(Permission.objects.get(codename="view_customer"))
    assert lookup(client, "13811114444").status_code == 403


def test_a_role_given_to_a_user_counts_on_the_next_request(
    users, make_user, client_as, django_capture_on_commit_callbacks
):
    nobody = make_user(None, department="centre")
    client = client_as(nobody)
    with django_capture_on_commit_callbacks(execute=True):
        assert lookup(client, "13811115555").status_code == 403
    services.user_update(actor=users["admin"], user=nobody, data={"roles": ["agent"]})
    assert lookup(client, "13811115555").status_code == 200


def test_a_wider_data_scope_shows_more_customers_on_the_next_request(
    users, client_as, django_capture_on_commit_callbacks
):
    make_customer(actor=users["manager"], name="别部门客户", phone="13811116666", owner=users["manager"])
    client = client_as(users["agent"])
    warm(client, django_capture_on_commit_callbacks, "13811116666")
    assert lookup(client, "13811116666").json() == []
    role = Role.objects.get(code="agent")
    role.data_scope = DataScope.ALL
    role.save()
    assert [row["name"] for row in lookup(client, "13811116666").json()] == ["别部门客户"]


def test_moving_a_user_to_another_department_changes_what_they_see_at_once(
    users, departments, client_as, django_capture_on_commit_callbacks
):
    make_customer(actor=users["complaint_specialist"], name="客诉中心客户", phone="13811117777")
    agent = users["agent"]
    client = client_as(agent)
    warm(client, django_capture_on_commit_callbacks, "13811117777")
    assert lookup(client, "13811117777").json() == []
    services.user_update(actor=users["admin"], user=agent, data={"department": departments["complaints"].pk})
    assert [row["name"] for row in lookup(client, "13811117777").json()] == ["客诉中心客户"]


def test_a_deactivated_user_is_signed_out_although_their_rights_were_kept(
    users, client_as, django_capture_on_commit_callbacks
):
    agent = users["agent"]
    client = client_as(agent)
    warm(client, django_capture_on_commit_callbacks, "13811118888")
    services.user_set_active(actor=users["admin"], user=agent, active=False)
    assert lookup(client, "13811118888").status_code == 401


def test_has_perm_answers_as_djangos_own_check_for_every_role(users):
    from django.contrib.auth.models import _user_has_perm

    perms = [
        f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")
    ]
    checked = 0
    for user in users.values():
        for perm in perms:
            expected = (user.is_active and user.is_superuser) or _user_has_perm(user, perm, None)
            assert user.has_perm(perm) is expected, (user.username, perm)
            checked += expected
    assert 0 < checked < len(perms) * len(users)
    users["agent"].is_active = False
    assert not users["agent"].has_perm("tickets.add_ticket")
