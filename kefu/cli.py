"""The `kefu` command: serve, demo, createadmin, and every Django management command.

`kefu serve` is the production entry point: it applies migrations, then runs gunicorn (gthread
workers) with the Huey consumer as a supervised child process. The consumer lives exactly as long
as the server: it is stopped when the server stops, restarted if it crashes, and killed by the
kernel if the server itself is killed (PR_SET_PDEATHSIG), so no orphan keeps running jobs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

OWN_COMMANDS = {
    "serve": "run the web server (gunicorn) and the job consumer (Huey)",
    "demo": "load the demo department, staff and 300 customers (once)",
    "createadmin": "create a superuser with the admin role",
}
# Kefu commands that are Django management commands under another name.
ALIASES = {
    "mail-in": ("mail_in", "file one email read from standard input (a mail server pipe) as a ticket"),
}
# Set in the environment of the consumer child: the pid of the server that supervises it.
SUPERVISOR_ENV = "KEFU_SUPERVISOR_PID"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()


def _migrate() -> None:
    """Apply pending migrations; quiet when there are none."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", interactive=False, verbosity=1 if pending else 0)
    if pending:
        from kefu.core.tasks import database_refresh_statistics

        # New indexes need statistics before the planner uses them well; the nightly job keeps them fresh.
        database_refresh_statistics()


# --- kefu serve ------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the consumer child: ask the kernel to SIGTERM us when the supervising server dies."""
    expected = os.environ.pop(SUPERVISOR_ENV, "")
    if not expected or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(expected):
        # The server died between our fork and the prctl call: nobody will stop us later.
        sys.exit(0)


class ConsumerSupervisor:
    """Runs the Huey consumer as a child process for as long as the server runs."""

    RESTART_LIMIT = 5  # crashes within RESTART_WINDOW seconds before giving up
    RESTART_WINDOW = 60.0

    def __init__(self, command: list[str], env: dict[str, str], out: TextIO) -> None:
        self.command = command
        self.env = env
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        self.owner_pid = os.getpid()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._crashes: list[float] = []
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="kefu-consumer-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        env = dict(self.env, **{SUPERVISOR_ENV: str(os.getpid())})
        # Its own session: a Ctrl-C in the terminal reaches the server, which then stops the
        # consumer gracefully, instead of reaching both at once.
        self.process = subprocess.Popen(self.command, env=env, start_new_session=True)
        self.out.write(f"[kefu] job consumer started (pid {self.process.pid})\n")
        self.out.flush()

    def _watch(self) -> None:
        # This thread lives until stop() has finished: the child's PDEATHSIG follows the thread
        # that started it, so a restarted child must not outlive its thread by accident.
        while not self._stopped.wait(2.0):
            with self._lock:
                if self._stopping.is_set() or self.process is None or self.process.poll() is None:
                    continue
                now = time.monotonic()
                self._crashes = [t for t in self._crashes if now - t < self.RESTART_WINDOW] + [now]
                if len(self._crashes) > self.RESTART_LIMIT:
                    self.out.write("[kefu] the job consumer keeps crashing; not restarting it again\n")
                    self.out.flush()
                    self.process = None
                    continue
                self.out.write("[kefu] the job consumer stopped unexpectedly; restarting it\n")
                self._spawn()

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful stop (SIGINT lets running jobs finish), then SIGTERM, then SIGKILL."""
        if os.getpid() != self.owner_pid or self._stopped.is_set():
            return  # a forked web worker exiting must not stop the server's consumer
        with self._lock:
            self._stopping.set()
            process = self.process
            if process is not None and process.poll() is None:
                for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                    try:
                        process.send_signal(sig)
                        process.wait(wait)
                        break
                    except subprocess.TimeoutExpired:
                        continue
                    except ProcessLookupError:
                        break
                self.out.write("[kefu] job consumer stopped\n")
                self.out.flush()
            self._stopped.set()


def warm_up() -> int:
    """Build once, in the server process, what a worker would build on its first requests.

    The URL map, the translation catalogs and every Kefu template (compiled into the template
    engine's cache); then everything in memory is set aside from garbage collection (gc.freeze).
    Workers are forked from the server process after this (gunicorn preload), so a worker that
    gunicorn starts or replaces (max_requests) answers its first page as fast as its thousandth.
    Returns how many templates were compiled.
    """
    import gc
    from pathlib import Path

    from django.conf import settings
    from django.db import connections
    from django.template import TemplateSyntaxError, engines
    from django.urls import reverse
    from django.utils import translation

    import kefu

    reverse("health_live")  # the first reverse builds the URL map
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Kefu")
    engine = engines["django"]
    package = Path(kefu.__file__).resolve().parent
    compiled = 0
    for directory in sorted(package.rglob("templates")):
        for path in sorted(directory.rglob("*")):
            if path.suffix not in (".html", ".txt") or not path.is_file():
                continue
            try:
                engine.get_template(path.relative_to(directory).as_posix())
            except TemplateSyntaxError:
                continue  # reported when a page uses it, as before
            compiled += 1
    # Nothing opened here may be shared with the forked workers.
    connections.close_all()
    # All of the above lives as long as the server: keep the garbage collector from walking it in
    # every full collection of every worker (a pass over ~460,000 objects took up to 180 ms, in
    # the middle of some request) and from writing to its pages, which the workers share.
    gc.collect()
    gc.freeze()
    return compiled


def _gunicorn_application(options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    class KefuServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from kefu.wsgi import application

            warm_up()
            return application

    return KefuServer(prog="kefu serve")


def serve(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    call_command("check")
    if not args.no_migrate:
        _migrate()
    # Web workers are forked from this process: they must not share its database connections.
    connections.close_all()

    supervisor: ConsumerSupervisor | None = None
    if args.no_jobs:
        out.write("[kefu] not starting the job consumer (--no-jobs): run one `kefu run_huey` elsewhere\n")
    elif settings.HUEY_IMMEDIATE:
        out.write("[kefu] KEFU_HUEY_IMMEDIATE is set: jobs run inside the web request, no consumer\n")
    else:
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="kefu.settings", KEFU_DATA_DIR=str(settings.DATA_DIR))
        supervisor = ConsumerSupervisor([sys.executable, "-m", "kefu.cli", "run_huey"], env, out)

    def when_ready(server: Any) -> None:
        # Only once the port is bound: a server that cannot start leaves no consumer behind.
        if supervisor is not None:
            supervisor.start()
        out.write(f"[kefu] serving on http://{args.bind} (data in {settings.DATA_DIR})\n")
        out.flush()

    def on_exit(server: Any) -> None:
        if supervisor is not None:
            supervisor.stop()

    options: dict[str, Any] = {
        "bind": args.bind,
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": 120,
        "graceful_timeout": 30,
        "keepalive": 5,
        # The app is loaded and warmed once here, then forked (see warm_up).
        "preload_app": True,
        "max_requests": 5000,
        "max_requests_jitter": 500,
        "accesslog": "-" if args.access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "kefu",
        # Several servers on one machine must not fight over gunicorn's default control socket.
        "control_socket_disable": True,
        "when_ready": when_ready,
        "on_exit": on_exit,
    }
    if settings.TRUST_X_FORWARDED_FOR:
        # Behind a proxy: take X-Forwarded-Proto (https) from it, wherever it runs.
        options["forwarded_allow_ips"] = "*"
    try:
        _gunicorn_application(options).run()
    finally:
        if supervisor is not None:
            supervisor.stop()
    return 0


# --- kefu createadmin ------------------------------------------------------------------------


class CommandFailed(Exception):
    pass


def create_admin(*, username: str, password: str, email: str = "", full_name: str = "") -> Any:
    """A superuser who also holds the admin role; the password must pass the password rules.

    Written directly rather than through accounts.services.user_create: this is how the first
    administrator comes to exist, when there is nobody yet to act as.
    """
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from kefu.accounts.models import Role, User
    from kefu.accounts.roles import sync_roles

    username = (username or "").strip()
    if not username:
        raise CommandFailed("a user name is required")
    if User.objects.filter(username=username).exists():
        raise CommandFailed(f"the user “{username}” already exists")
    candidate = User(username=username, email=email, full_name=full_name)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise CommandFailed("the password is not accepted: " + " ".join(exc.messages)) from exc
    with transaction.atomic():
        if not Role.objects.filter(code="admin").exists():
            sync_roles()
        user = User.objects.create_superuser(
            username=username, email=email, password=password, full_name=full_name
        )
        user.groups.add(Role.objects.get(code="admin").group)
    return user


def createadmin(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    _setup_django()
    username, password, email = args.username, args.password, args.email
    interactive = sys.stdin.isatty() and not args.no_input
    if not username or not password:
        if not interactive:
            sys.stderr.write("kefu createadmin: give --username and --password (no terminal to ask on)\n")
            return 2
        username = username or input("User name: ").strip()
        if email is None:
            email = input("Email (optional): ").strip()
        while not password:
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Password (again): "):
                sys.stderr.write("The passwords do not match.\n")
                continue
            password = first
    try:
        user = create_admin(
            username=username, password=password, email=email or "", full_name=args.full_name or ""
        )
    except CommandFailed as exc:
        sys.stderr.write(f"kefu createadmin: {exc}\n")
        return 1
    out.write(f"Superuser “{user.username}” created with the admin role.\n")
    return 0


# --- kefu demo -------------------------------------------------------------------------------


def demo(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    _setup_django()
    from kefu.demo import DemoError, load_demo, print_logins

    _migrate()  # so that `kefu demo` works on a fresh data dir
    started = time.monotonic()
    try:
        loaded = load_demo(out=out)
    except DemoError as exc:
        sys.stderr.write(f"kefu demo: {exc}\n")
        return 1
    if loaded:
        out.write(f"({time.monotonic() - started:.1f} s)\n")
    else:
        out.write("演示数据已经载入，未做任何改动 / the demo data is already loaded; nothing changed.\n")
    print_logins(out)
    return 0


# --- dispatch --------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", add_help=False)
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("serve", help=OWN_COMMANDS["serve"], description=OWN_COMMANDS["serve"])
    p.add_argument(
        "--bind", default="127.0.0.1:8000", help="address:port to listen on (default 127.0.0.1:8000)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=min(4, (os.cpu_count() or 1) + 1),
        help="web worker processes (default: CPUs + 1, at most 4)",
    )
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument(
        "--no-jobs",
        action="store_true",
        help="do not start the Huey consumer (when another machine runs the only one)",
    )
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations before serving")
    p.add_argument("--no-access-log", dest="access_log", action="store_false", help="do not log each request")
    p = sub.add_parser("demo", help=OWN_COMMANDS["demo"], description=OWN_COMMANDS["demo"])
    p = sub.add_parser(
        "createadmin", help=OWN_COMMANDS["createadmin"], description=OWN_COMMANDS["createadmin"]
    )
    p.add_argument("--username")
    p.add_argument("--password", help="asked for when missing and a terminal is attached")
    p.add_argument("--email")
    p.add_argument("--full-name")
    p.add_argument("--no-input", action="store_true", help="never prompt; fail when something is missing")
    return parser


def _help(out: TextIO) -> None:
    out.write(
        "Kefu 客服部管理系统\n\nUsage: kefu <command> [options]   (kefu <command> --help for its options)\n\n"
    )
    out.write("Kefu commands:\n")
    for name, text in OWN_COMMANDS.items():
        out.write(f"  {name:<14}{text}\n")
    for name, (_command, text) in ALIASES.items():
        out.write(f"  {name:<14}{text}\n")
    out.write("\nDjango commands (as with manage.py):\n")
    try:
        _setup_django()  # without it Django lists only its own commands, not the apps' ones
        from django.core.management import get_commands

        names = sorted(get_commands())
    except Exception:  # help must work even when the settings cannot load
        names = ["migrate", "shell", "dbshell", "run_huey", "compilemessages", "changepassword", "check"]
    line = " "
    for name in names:
        if len(line) + len(name) > 96:
            out.write(line.rstrip() + "\n")
            line = " "
        line += f" {name}"
    out.write(line.rstrip() + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get(SUPERVISOR_ENV):
        _die_with_parent()
    if not args or (args[0] in ("-h", "--help", "help") and len(args) == 1):
        _help(sys.stdout)
        return 0
    if args[0] == "help" and args[1] in OWN_COMMANDS:
        args = [args[1], "--help"]
    if args[0] in OWN_COMMANDS:
        parsed = _parser().parse_args(args)
        handler = {"serve": serve, "demo": demo, "createadmin": createadmin}[parsed.command]
        return handler(parsed)
    if args[0] in ALIASES:
        args[0] = ALIASES[args[0]][0]
    elif args[0] == "help" and len(args) > 1 and args[1] in ALIASES:
        args = [ALIASES[args[1]][0], "--help"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kefu", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
