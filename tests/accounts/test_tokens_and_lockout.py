"""Personal API tokens (shown once, revocable) and the sign-in lockout with its unlock."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client
from django.urls import reverse

from kefu.accounts.models import ApiToken, User
from kefu.accounts.selectors import is_locked_out
from tests.conftest import PASSWORD

# --- tokens ----------------------------------------------------------------------------------


def test_token_key_is_shown_once_and_then_only_its_prefix(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client = client_as(users["technician"])
    created = client.post(reverse("accounts:tokens"), {"name": "报表脚本"})
    assert created.status_code == 200
    key = created.context["new_key"]
    assert key.startswith("kefu_") and key in created.content.decode()
    assert created["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=users["technician"], name="报表脚本")
    assert key not in {token.key_hash, token.prefix}
    again = client.get(reverse("accounts:tokens")).content.decode()
    assert key not in again
    assert token.prefix in again


def test_token_created_on_the_page_works_for_the_api(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    key = client_as(users["agent"]).post(reverse("accounts:tokens"), {"name": "CRM"}).context["new_key"]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "agent"


def test_revoked_token_is_refused_by_the_api(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    page = client_as(users["agent"])
    key = page.post(reverse("accounts:tokens"), {"name": "CRM"}).context["new_key"]
    token = ApiToken.objects.get(user=users["agent"], name="CRM")
    page.post(reverse("accounts:token_revoke", args=[token.pk]))
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_nobody_revokes_someone_elses_token_from_the_page(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    client_as(users["agent"]).post(reverse("accounts:tokens"), {"name": "CRM"})
    token = ApiToken.objects.get(user=users["agent"])
    response = client_as(users["technician"]).post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_api_creates_a_token_whose_key_is_returned_once(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    api = api_as(users["technician"])
    created = api.post("/api/v1/tokens", {"name": "手机"}, content_type="application/json")
    assert created.status_code == 201
    key = created.json()["key"]
    listed = api.get("/api/v1/tokens").json()
    assert all("key" not in token for token in listed)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/me").status_code == 200
    api.delete(f"/api/v1/tokens/{created.json()['id']}")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/me").status_code == 401


def test_token_with_expiry_in_the_past_is_refused(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    response = api_as(users["agent"]).post(
        "/api/v1/tokens",
        {"name": "旧", "expires_at": "2020-01-01T00:00:00+08:00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()["detail"]


def test_made_up_token_is_refused(db: None) -> None:
    assert Client(HTTP_AUTHORIZATION="Bearer kefu_not-a-real-key").get("/api/v1/me").status_code == 401


# --- lockout ---------------------------------------------------------------------------------


def _sign_in(client: Client, username: str, password: str) -> int:
    return client.post(reverse("login"), {"username": username, "password": password}).status_code


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(users: dict[str, User]) -> None:
    client = Client()
    assert [_sign_in(client, "agent", "wrong-password") for _ in range(4)] == [200] * 4
    locked = client.post(reverse("login"), {"username": "agent", "password": "wrong-password"})
    assert locked.status_code == 429
    assert b'data-testid="locked-out"' in locked.content
    assert _sign_in(Client(), "agent", PASSWORD) == 429
    assert is_locked_out(users["agent"])


def test_manager_unlocks_a_locked_account_from_the_staff_page(
    users: dict[str, User], client_as: Callable[[User], Client]
) -> None:
    for _ in range(5):
        _sign_in(Client(), "agent", "wrong-password")
    manager = client_as(users["manager"])
    edit_page = manager.get(reverse("accounts:user_edit", args=[users["agent"].pk]))
    assert b'data-testid="locked-out-notice"' in edit_page.content
    response = manager.post(reverse("accounts:user_unlock", args=[users["agent"].pk]))
    assert response.status_code == 302
    assert not is_locked_out(users["agent"])
    assert _sign_in(Client(), "agent", PASSWORD) == 302


def test_agent_cannot_unlock_accounts(users: dict[str, User], client_as: Callable[[User], Client]) -> None:
    for _ in range(5):
        _sign_in(Client(), "technician", "wrong-password")
    response = client_as(users["agent"]).post(reverse("accounts:user_unlock", args=[users["technician"].pk]))
    assert response.status_code == 403
    assert is_locked_out(users["technician"])


def test_api_unlock_clears_the_failed_attempts(
    users: dict[str, User], api_as: Callable[[User], Client]
) -> None:
    for _ in range(5):
        _sign_in(Client(), "agent", "wrong-password")
    response = api_as(users["admin"]).post(f"/api/v1/users/{users['agent'].pk}/unlock")
    assert response.status_code == 200
    assert response.json()["cleared_attempts"] >= 1
    assert _sign_in(Client(), "agent", PASSWORD) == 302
