"""The `kefu` command: demo data, createadmin, and `kefu serve` really serving with its job consumer."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kefu.accounts.models import Department, User
from kefu.accounts.roles import ROLE_CODES
from kefu.cli import main
from kefu.core.validators import is_valid_credit_code, is_valid_id_number
from kefu.customers.models import BorrowRequest, Customer, CustomerDocument, CustomerKind, Tier
from kefu.customers.selectors import at_risk_customers, upcoming_birthdays
from kefu.demo import DEMO_PASSWORD

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The demo signs up 16 staff; the real hasher would make that the slowest part of the test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_demo_loads_staff_for_every_role_and_300_customers_once(capsys: Any) -> None:
    assert main(["demo"]) == 0
    output = capsys.readouterr().out
    assert "kefu-demo-2026" in output and "manager" in output

    assert Customer.objects.count() == 300
    from kefu.tickets.models import Ticket

    kinds = set(Ticket.objects.values_list("kind", flat=True))
    assert kinds == {"inquiry", "complaint", "repair", "after_sales", "suggestion"}
    assert Ticket.objects.filter(kind="complaint", state="archived").exists()
    assert Ticket.objects.filter(approval_state="requested").exists()
    assert Ticket.objects.filter(answered_on_first_contact=True).exists()
    for code in ROLE_CODES:
        user = User.objects.filter(groups__role__code=code).first()
        assert user is not None, f"no demo user has the role {code}"
        assert user.check_password(DEMO_PASSWORD)
        assert user.full_name and user.department is not None
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.has_role("admin")
    assert User.objects.get(username="manager").has_role("manager")

    names = set(Department.objects.values_list("name", flat=True))
    assert {
        "运营总监",
        "客服部",
        "客服中心",
        "客诉中心",
        "档案资料中心",
        "大客户组",
        "技术部",
        "流动服务组",
        "驻点服务组",
        "销售部",
    } <= names

    tiers = Counter(Customer.objects.values_list("tier", flat=True))
    assert tiers[Tier.A] and tiers[Tier.B] and tiers[Tier.C] and tiers[Tier.NONE]
    assert Customer.objects.filter(kind=CustomerKind.COMPANY, tier=Tier.A, brand_value=True).exists()
    for code in Customer.objects.exclude(credit_code=None).values_list("credit_code", flat=True):
        assert is_valid_credit_code(code)
    for number in Customer.objects.exclude(id_number="").values_list("id_number", flat=True):
        assert is_valid_id_number(number)

    today = timezone.localdate()
    soon = upcoming_birthdays(user=admin, days=7, today=today)
    assert any(row.contact is None for row in soon), "no member has a birthday in the next 7 days"
    assert all(0 <= (row.next_birthday - today).days <= 7 for row in soon)
    assert at_risk_customers(user=admin).exists()

    # Data scope is visible: an agent sees her group's customers, a salesperson only his own.
    agent = User.objects.get(username="agent")
    salesperson = User.objects.get(username="salesperson")
    assert 0 < Customer.objects.visible_to(agent).count() < 300
    assert Customer.objects.visible_to(salesperson).exclude(owner=salesperson).count() == 0
    assert Customer.objects.visible_to(salesperson).exists()

    document = CustomerDocument.objects.filter(extension=".pdf").first()
    assert document is not None and document.file.read(5) == b"%PDF-"
    image = CustomerDocument.objects.filter(extension=".png").first()
    assert image is not None and image.file.read(8) == b"\x89PNG\r\n\x1a\n"
    assert BorrowRequest.objects.exists()

    # A second run changes nothing and still succeeds (make run calls it every time).
    counts = (Customer.objects.count(), User.objects.count(), CustomerDocument.objects.count())
    assert main(["demo"]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert (Customer.objects.count(), User.objects.count(), CustomerDocument.objects.count()) == counts


@pytest.mark.django_db
def test_demo_keeps_an_existing_admin_and_dates_birthdays_from_the_given_day() -> None:
    from kefu.demo import load_demo

    assert main(["createadmin", "--username", "admin", "--password", "Own-secret-2026", "--no-input"]) == 0
    day = dt.date(2024, 2, 26)  # a leap week: 29 February, then into March
    assert load_demo(out=io.StringIO(), today=day)
    admin = User.objects.get(username="admin")
    assert admin.check_password("Own-secret-2026") and admin.is_superuser
    assert User.objects.get(username="agent").check_password(DEMO_PASSWORD)
    rows = upcoming_birthdays(user=admin, days=7, today=day)
    assert any(row.contact is None for row in rows)
    assert all(row.birthday <= day for row in rows)


@pytest.mark.django_db
def test_createadmin_without_prompt_makes_a_superuser_with_the_admin_role(capsys: Any) -> None:
    args = [
        "createadmin",
        "--username",
        "boss",
        "--password",
        "Kefu-boss-2026",
        "--email",
        "boss@example.cn",
        "--full-name",
        "钱总",
        "--no-input",
    ]
    assert main(args) == 0
    user = User.objects.get(username="boss")
    assert user.is_superuser and user.is_staff and user.check_password("Kefu-boss-2026")
    assert user.has_role("admin") and user.full_name == "钱总" and user.email == "boss@example.cn"
    assert "boss" in capsys.readouterr().out


@pytest.mark.django_db
def test_createadmin_refuses_an_existing_name_and_a_weak_password(capsys: Any) -> None:
    assert main(["createadmin", "--username", "boss", "--password", "Kefu-boss-2026", "--no-input"]) == 0
    assert main(["createadmin", "--username", "boss", "--password", "Kefu-boss-2026", "--no-input"]) == 1
    assert main(["createadmin", "--username", "weak", "--password", "12345678", "--no-input"]) == 1
    assert main(["createadmin", "--username", "nopass", "--no-input"]) == 2
    assert not User.objects.filter(username__in=["weak", "nopass"]).exists()
    assert "already exists" in capsys.readouterr().err


def test_help_lists_kefu_and_django_commands(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env["KEFU_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "kefu.cli", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for name in ("serve", "demo", "createadmin", "migrate", "shell", "run_huey", "changepassword"):
        assert name in result.stdout


# --- kefu serve ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> dict[int, str]:
    """Child pids of `pid` with their command lines, read from /proc."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name may contain spaces and parentheses; the fields after the last ")" do not.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_serve_runs_gunicorn_with_a_consumer_and_stops_both_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(KEFU_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kefu.cli",
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--no-access-log",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        status = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as response:
                    status = response.status
                    body = response.read().decode()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, log_path.read_text()
        assert "csrfmiddlewaretoken" in body
        assert (tmp_path / "data" / "kefu.sqlite3").exists()

        deadline = time.monotonic() + 20
        children: dict[int, str] = {}
        while time.monotonic() < deadline:
            children = _children(server.pid)
            if any("run_huey" in cmd for cmd in children.values()):
                break
            time.sleep(0.2)
        consumers = [pid for pid, cmd in children.items() if "run_huey" in cmd]
        assert len(consumers) == 1, (children, log_path.read_text())
        workers = [pid for pid in children if pid not in consumers]
        assert workers, children

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log_path.read_text()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in consumers + workers):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in consumers + workers), log_path.read_text()
        assert "job consumer stopped" in log_path.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_warm_up_compiles_every_template_and_sets_the_result_aside_from_collection() -> None:
    import gc

    from django.template import engines

    from kefu.cli import warm_up

    try:
        compiled = warm_up()
        assert compiled > 100
        assert gc.get_freeze_count() > 0
        # The templates are in the engine's cache now: a page finds them without compiling.
        loader = engines["django"].engine.template_loaders[0]
        assert len(getattr(loader, "get_template_cache", {})) >= compiled
    finally:
        gc.unfreeze()
