"""Ticket creation through the HTTP API and the ticket pages through the real app server, against a floor.

    python bench/tickets_http.py [--duration 20] [--connections 8] [--latency-duration 15]
                                 [--workers N] [--threads 4] [--port 8765] [--no-jobs]

Starts `kefu serve` (gunicorn gthread workers and the Huey consumer, exactly as in production) on
loopback, on the database the KEFU_* environment selects, and drives it with wrk (Debian package
`wrk`), a C load generator that costs the two CPUs little. Run it after bench/generate_tickets.py.

Measured, in one run:
- the floor: GET /health/live/, a JSON view that touches no database, through the same server,
  middleware and settings — what any request costs before Kefu does anything;
- ticket creation: POST /api/v1/tickets with a bench agent's API token, a bounded load of
  `--connections` keep-alive connections for `--duration` seconds; the payloads vary (inquiries,
  repairs, complaints with a severity, suggestions; random visible customers), every ticket gets its
  number, SLA deadlines, auto-assignment, timeline event, history and operation-log rows;
- p50/p99 with one connection (service time, no queueing): the floor again, the agent's my-queue
  page, a filtered list (open complaints by due time) as the agent and as the manager, and a ticket
  page with at least 50 timeline events (a different ticket each request).
Each figure is also printed as a ratio to the floor, since absolute numbers drift between runs on
this shared machine. The tickets the run created are counted in the database afterwards and must
equal wrk's count of 201 answers; any non-2xx answer fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, database_label, django_setup

django_setup()

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.utils import timezone

from kefu.accounts.models import ApiToken, User
from kefu.accounts.services import api_token_create
from kefu.customers.models import Customer
from kefu.tickets import selectors
from kefu.tickets.models import Ticket

MANAGER = "bench_manager"
AGENT = "bench_agent01"
SUBJECT_PREFIX = "压测来电"
CREATE_TARGET_PER_SECOND = 300
PAGE_TARGET_P99_MS = 100

# wrk's Lua side: one request function per scenario, and a done() that prints the figures as JSON.
LUA_DONE = """
done = function(summary, latency, requests)
  io.write("WRK_JSON ")
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""

LUA_GET = """
local paths = {%(paths)s}
local counter = 0
wrk.headers["Cookie"] = "%(cookie)s"
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""

LUA_CREATE = """
local customers = {%(customers)s}
local kinds = {
  {"inquiry", "hotline", ""}, {"inquiry", "hotline", ""}, {"inquiry", "phone", ""},
  {"inquiry", "wechat", ""}, {"repair", "hotline", ""}, {"repair", "phone", ""},
  {"complaint", "complaint_hotline", "general"}, {"complaint", "hotline", "minor"},
  {"suggestion", "email", ""}, {"inquiry", "qq", ""}
}
local counter = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local kind = kinds[(counter %% #kinds) + 1]
  local customer = customers[(counter * 7919 %% #customers) + 1]
  local body = string.format(
    '{"kind": "%%s", "channel": "%%s", "severity": "%%s", "customer_id": %%d, ' ..
    '"subject": "%(prefix)s %%d", "description": "客户来电询问订单发货时间与发票事宜，已记录，需回电。", ' ..
    '"contact_phone": "0571-8812%%04d", "priority": "normal"}',
    kind[1], kind[2], kind[3], customer, counter, counter %% 10000)
  return wrk.format("POST", "/api/v1/tickets", nil, body)
end
"""


def server_cpu_seconds(root: int) -> float:
    """CPU time of the server's whole process tree so far, including workers that have exited.

    A worker that gunicorn restarts (max_requests) is reaped by the master, whose cutime/cstime
    then hold its time; live processes are counted directly.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = sum(times[pid][0] for pid in tree if pid in times)
    total += sum(times[pid][1] for pid in tree if pid in times)
    return total / ticks


def machine_cpu_seconds() -> float:
    """CPU time spent by every process on the machine so far (busy time from /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def database_server_pid() -> int:
    """The local PostgreSQL server's main process, whose tree holds every backend; 0 for SQLite."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        directory = cursor.fetchone()[0]
    try:
        return int((Path(directory) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


DATABASE_PID = 0


@dataclass
class Figure:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    cpu_seconds: float = 0.0
    database_cpu_seconds: float = 0.0
    machine_cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def database_cpu_ms_per_request(self) -> float:
        return self.database_cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def machine_cpu_ms_per_request(self) -> float:
        return self.machine_cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(url: str, script: str, *, connections: int, duration: int, server: int = 0) -> Figure:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script + LUA_DONE)
        path = handle.name
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", path, url]
        cpu_before = server_cpu_seconds(server) if server else 0.0
        database_before = server_cpu_seconds(DATABASE_PID) if DATABASE_PID else 0.0
        machine_before = machine_cpu_seconds()
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        cpu = server_cpu_seconds(server) - cpu_before if server else 0.0
        database = server_cpu_seconds(DATABASE_PID) - database_before if DATABASE_PID else 0.0
        machine = machine_cpu_seconds() - machine_before
    finally:
        os.unlink(path)
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return Figure(
        name="",
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        cpu_seconds=cpu,
        database_cpu_seconds=database,
        machine_cpu_seconds=machine,
    )


def per_request(script: str, keep_alive: bool) -> str:
    """A new connection for every request, as the documented nginx in front makes them (no upstream
    keep-alive): the kernel hands each to an idle worker. With wrk's few long-lived connections
    instead, whichever worker accepted them does all the work (the throughput then depends on
    how the connections happened to spread over the workers)."""
    return script if keep_alive else 'wrk.headers["Connection"] = "close"\n' + script


def lua_list(values: list[str] | list[int]) -> str:
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def long_ticket_paths(user: User, want: int) -> list[str]:
    """Tickets of at least 50 events that the user may open, spread over the whole table."""
    highest = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    probes = [highest * i // 400 for i in range(1, 400)]
    candidates = list(
        selectors.ticket_list(user)
        .filter(pk__in=probes)
        .annotate(n=Count("events"))
        .filter(n__gte=50)
        .values_list("pk", flat=True)
    )
    if not candidates:
        step = max(1, highest // 20000)
        candidates = list(
            selectors.ticket_list(user)
            .filter(pk__in=range(step, highest + 1, step))
            .annotate(n=Count("events"))
            .filter(n__gte=50)
            .values_list("pk", flat=True)[:want]
        )
    if not candidates:
        raise SystemExit(f"no ticket with 50 events visible to {user}: run bench/generate_tickets.py first")
    return [f"/tickets/{candidates[i % len(candidates)]}/" for i in range(want)]


def start_server(port: int, workers: int, threads: int, no_jobs: bool, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "kefu.cli",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--no-migrate",
        "--no-access-log",
    ]
    if no_jobs:
        command.append("--no-jobs")
    out = log.open("wb")
    server = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"kefu serve exited with {server.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit(f"kefu serve did not answer within 60 s; see {log}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of each throughput run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections of the load")
    parser.add_argument("--latency-duration", type=int, default=15, help="seconds of each latency run")
    parser.add_argument("--workers", type=int, default=min(4, (os.cpu_count() or 1) + 1))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-jobs", action="store_true", help="serve without the Huey consumer")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="throughput over --connections long-lived connections instead of one per request",
    )
    parser.add_argument(
        "--throughput-only", action="store_true", help="the floor and creation only, no page latency runs"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    agent = User.objects.get(username=AGENT)
    manager = User.objects.get(username=MANAGER)
    rng = random.Random(args.seed)
    customers = list(Customer.objects.visible_to(agent).order_by().values_list("pk", flat=True)[:20000])
    rng.shuffle(customers)
    # Earlier runs' tokens are revoked first: a user may hold at most 20 active ones.
    ApiToken.objects.filter(user=agent, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _token, key = api_token_create(actor=agent, name=f"bench {time.strftime('%Y%m%d-%H%M%S')}")
    agent_cookie, manager_cookie = session_cookie(agent), session_cookie(manager)
    ticket_paths = long_ticket_paths(agent, 400)
    rng.shuffle(ticket_paths)
    before = Ticket.objects.count()
    global DATABASE_PID
    DATABASE_PID = database_server_pid()
    connection.close()

    print(f"database: {database_label()}")
    print(f"server: kefu serve, {args.workers} gunicorn gthread workers × {args.threads} threads", end="")
    print(", no job consumer" if args.no_jobs else ", Huey consumer running")
    print(f"tickets before: {before:,}; load average before: {load_average()}")
    base = f"http://127.0.0.1:{args.port}"
    log = Path(tempfile.gettempdir()) / f"kefu-bench-serve-{args.port}.log"
    server = start_server(args.port, args.workers, args.threads, args.no_jobs, log)
    try:
        # Warm every worker's imports, templates and caches before anything is timed.
        for script in (
            LUA_GET % {"paths": lua_list(["/health/live/"]), "cookie": ""},
            LUA_GET
            % {"paths": lua_list(["/tickets/?queue=mine", *ticket_paths[:20]]), "cookie": agent_cookie},
        ):
            wrk(base + "/", script, connections=args.workers * 2, duration=3)

        throughput: list[tuple[str, Figure]] = []
        floor = wrk(
            base + "/",
            per_request(LUA_GET % {"paths": lua_list(["/health/live/"]), "cookie": ""}, args.keep_alive),
            connections=args.connections,
            duration=args.duration,
            server=server.pid,
        )
        throughput.append(("floor: GET /health/live/ (no database)", floor))
        create = wrk(
            base + "/",
            per_request(
                LUA_CREATE
                % {"customers": lua_list(customers[:5000]), "token": key, "prefix": SUBJECT_PREFIX},
                args.keep_alive,
            ),
            connections=args.connections,
            duration=args.duration,
            server=server.pid,
        )
        throughput.append(("ticket creation: POST /api/v1/tickets", create))

        latency: list[tuple[str, Figure, bool]] = []
        pages = [
            ("floor: GET /health/live/", ["/health/live/"], "", False),
            ("my-queue page (agent)", ["/tickets/?queue=mine"], agent_cookie, True),
            (
                "filtered list: open complaints by due time (agent)",
                ["/tickets/?kind=complaint&state=open&sort=due"],
                agent_cookie,
                True,
            ),
            (
                "filtered list: open complaints by due time (manager)",
                ["/tickets/?kind=complaint&state=open&sort=due"],
                manager_cookie,
                True,
            ),
            ("ticket page with ≥ 50 events (agent)", ticket_paths, agent_cookie, True),
        ]
        for name, paths, cookie, has_target in [] if args.throughput_only else pages:
            figure = wrk(
                base + "/",
                LUA_GET % {"paths": lua_list(paths), "cookie": cookie},
                connections=1,
                duration=args.latency_duration,
                server=server.pid,
            )
            latency.append((name, figure, has_target))
    finally:
        stop_server(server)
    created = Ticket.objects.filter(subject__startswith=SUBJECT_PREFIX).count()
    created_now = Ticket.objects.count() - before

    print(f"load average after: {load_average()}")
    print()
    how = "kept alive" if args.keep_alive else "a new connection per request, as from the nginx in front"
    print(f"Throughput, {args.connections} concurrent requests ({how}) for {args.duration} s each")
    print(
        f"{'':<44} {'requests':>9} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} {'× floor':>8}"
        f" {'cpu ms/req':>10} {'db cpu':>7} {'machine':>8} {'capacity/s':>10}  non-2xx"
    )
    cores = os.cpu_count() or 1
    for name, figure in throughput:
        ratio = figure.per_second / floor.per_second if floor.per_second else 0
        capacity = cores * 1000 / figure.cpu_ms_per_request if figure.cpu_ms_per_request else 0
        print(
            f"{name:<44} {figure.requests:>9,} {figure.per_second:>8.1f} {figure.p50_ms:>8.1f}"
            f" {figure.p99_ms:>8.1f} {ratio:>8.3f} {figure.cpu_ms_per_request:>10.2f}"
            f" {figure.database_cpu_ms_per_request:>7.2f} {figure.machine_cpu_ms_per_request:>8.2f}"
            f" {capacity:>10.0f}  {figure.non_2xx + figure.socket_errors}"
        )
    print(
        "  cpu ms/req: CPU time of the server's processes (workers, job consumer) per answered request;"
        " db cpu: the same for the PostgreSQL server's processes (0 on SQLite, whose work is in the"
        " server's); machine: every process on the machine (wrk and anything else running included);"
        f" capacity/s: {cores} CPUs divided by the server's cpu ms/req, what it could answer with the"
        " machine to itself"
    )
    verdict = "PASS" if create.per_second >= CREATE_TARGET_PER_SECOND else "FAIL"
    print(
        f"ticket creation {create.per_second:.1f}/s against the target {CREATE_TARGET_PER_SECOND}/s: {verdict};"
        f" tickets written by this run {created_now:,} (wrk counted {create.requests:,} answers)"
    )
    print()
    failures = sum(f.non_2xx + f.socket_errors for _n, f in throughput)
    if latency:
        failures += print_latency(latency, args.latency_duration)
    # Requests still in flight when wrk stops are answered and written, but not counted by wrk.
    if not create.requests <= created_now <= create.requests + args.connections or created < create.requests:
        print(f"MISMATCH: {created_now:,} tickets written, wrk counted {create.requests:,} answers")
        return 1
    if failures:
        print(f"FAILED: {failures} answers were not 2xx/3xx or the socket failed; see {log}")
        return 1
    return 0


def print_latency(latency: list[tuple[str, Figure, bool]], duration: int) -> int:
    """The latency table; returns the count of failed answers in it."""
    floor_latency = latency[0][1]
    print(f"Latency, one connection for {duration} s each (service time, no queueing)")
    print(
        f"{'':<54} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99 × floor':>12}"
        f" {'cpu ms/req':>10}"
    )
    failures = 0
    for name, figure, has_target in latency:
        ratio = figure.p99_ms / floor_latency.p99_ms if floor_latency.p99_ms else 0
        mark = ""
        if has_target:
            mark = "PASS" if figure.p99_ms <= PAGE_TARGET_P99_MS else "FAIL"
        print(
            f"{name:<54} {figure.requests:>9,} {figure.p50_ms:>8.1f} {figure.p99_ms:>8.1f}"
            f" {figure.max_ms:>8.1f} {ratio:>12.1f} {figure.cpu_ms_per_request:>10.2f}  {mark}"
        )
        failures += figure.non_2xx + figure.socket_errors
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
