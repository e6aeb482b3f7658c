"""Shared fixtures: a department tree, one user per role, clients signed in as them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from kefu.accounts.models import Department, Role, User
from kefu.accounts.roles import ROLE_CODES

PASSWORD = "Kefu-test-2026"


@pytest.fixture(autouse=True, scope="session")
def huey_immediate() -> Iterator[None]:
    """Jobs run inline in tests, so a test sees their effect at once."""
    HUEY.immediate = True
    yield


@pytest.fixture(autouse=True)
def calendar_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test reads the holiday calendar afresh, and never reloads it mid-test on a timer.

    The per-process copy would otherwise outlive a test's rolled-back edits, and a timed reload
    in the middle of a test would add queries to whatever request it lands in.
    """
    from kefu.core import calendar

    calendar.reset_cache()
    monkeypatch.setattr(calendar, "REFRESH_SECONDS", 10**9)
    yield
    calendar.reset_cache()


@pytest.fixture(autouse=True)
def policy_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As the calendar: each test reads the policies in force afresh, and never on a timer."""
    from kefu.core import policy_cache

    policy_cache.reset()
    monkeypatch.setattr(policy_cache, "REFRESH_SECONDS", 10**9)
    yield
    policy_cache.reset()


@pytest.fixture(autouse=True)
def separate_kept_rights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rights kept in the cache are keyed by user id and access generation, and a test's rolled-back
    transaction hands both out again to the next test: each test gets its own keys."""
    from kefu.accounts import access

    monkeypatch.setattr(access, "KEY_PREFIX", f"kefu:access:test-{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    """Real hashing costs a third of a second per user; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return settings.MEDIA_ROOT


@pytest.fixture
def departments(db: Any) -> dict[str, Department]:
    """运营总监 → 客服部 → 客服中心 / 客诉中心 / 档案资料中心 / 大客户组, and a sibling 技术部."""
    top = Department.objects.create(name="运营总监", code="ops")
    service = Department.objects.create(name="客服部", code="service", parent=top)
    centre = Department.objects.create(name="客服中心", code="centre", parent=service)
    complaints = Department.objects.create(name="客诉中心", code="complaints", parent=service)
    archive = Department.objects.create(name="档案资料中心", code="archive", parent=service)
    big = Department.objects.create(name="大客户组", code="big", parent=service)
    tech = Department.objects.create(name="技术部", code="tech", parent=top)
    return {
        "top": top,
        "service": service,
        "centre": centre,
        "complaints": complaints,
        "archive": archive,
        "big": big,
        "tech": tech,
    }


# Where each role's test user sits in the tree.
ROLE_DEPARTMENT = {
    "admin": "top",
    "manager": "service",
    "assistant": "service",
    "supervisor": "centre",
    "agent": "centre",
    "complaint_specialist": "complaints",
    "archive_specialist": "archive",
    "big_customer_specialist": "big",
    "coordinator": "tech",
    "technician": "tech",
    "team_leader": "tech",
    "salesperson": "big",
    "leader": "top",
    "president": "top",
}


@pytest.fixture
def make_user(db: Any, departments: dict[str, Department]) -> Callable[..., User]:
    counter = {"n": 0}

    def make(
        role: str | None = None,
        *,
        department: str | Department | None = None,
        username: str | None = None,
        **extra: Any,
    ) -> User:
        counter["n"] += 1
        name = username or f"{role or 'user'}{counter['n']}"
        if department is None and role:
            department = ROLE_DEPARTMENT.get(role)
        dept = departments[department] if isinstance(department, str) else department
        user = User.objects.create_user(
            username=name, password=PASSWORD, department=dept, full_name=extra.pop("full_name", name), **extra
        )
        if role:
            user.groups.add(Role.objects.get(code=role).group)
        return user

    return make


@pytest.fixture
def users(make_user: Callable[..., User]) -> dict[str, User]:
    """One user for every role of SPEC §1."""
    return {code: make_user(code, username=code) for code in ROLE_CODES}


@pytest.fixture
def client_as(db: Any) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_as(db: Any) -> Callable[[User], Client]:
    """A client that authenticates with a personal API token, as a program would."""
    from kefu.accounts.services import api_token_create

    def make(user: User) -> Client:
        _token, key = api_token_create(actor=user, name="tests")
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    return make
