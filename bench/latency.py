"""Server-side latency of the customer archive's hot paths, through Django's whole request stack.

    python bench/latency.py [-n 300] [--warmup 20] [--seed 1] [--close-connections] [--only search]
                            [--no-warm-up]

Runs in-process with django.test.Client (middleware, views, templates and queries all count; no
network, no WSGI server), signed in as the bench manager (sees everything) and as a bench agent
(sees one department). Each request gets a different random input drawn from the database the
KEFU_* environment selects (fill it first with bench/generate.py). Prints p50/p99/max per
operation against the targets of the issue: phone lookup p99 ≤ 10 ms, searches, list pages and
the customer file p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, database_size, django_setup

django_setup()

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.test import Client

from kefu.accounts.models import User
from kefu.customers.models import Contact, Customer, CustomerNameGram, CustomerPhone

MANAGER = "bench_manager"
AGENT = "bench_agent01"


@dataclass
class Operation:
    name: str
    target_ms: float
    urls: Callable[[random.Random, int], list[str]]
    found: Callable[[Any], bool]


@dataclass
class Result:
    operation: str
    user: str
    samples: list[float]
    cpu: list[float]
    target_ms: float
    errors: int
    found: int
    slowest: list[tuple[float, str]]

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.samples if values is None else values)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def typed_like_an_agent(number: str, rng: random.Random) -> str:
    """A stored number the way a caller ID or an agent writes it."""
    if len(number) == 11 and number.startswith("1"):
        a, b, c = number[:3], number[3:7], number[7:]
        return rng.choice(
            [f"+86 {a}-{b}-{c}", f"{a} {b} {c}", number, f"0086{number}", f"{a}-{b}-{c}", f"+86{number}"]
        )
    area_len = (
        3 if number[:3] in {"010", "020", "021", "022", "023", "024", "025", "027", "028", "029"} else 4
    )
    area, local = number[:area_len], number[area_len:]
    return rng.choice(
        [
            f"{area}-{local}",
            f"({area}){local}",
            f"+86 {area[1:]} {local}",
            number,
            f"{area} {local[:4]} {local[4:]}",
        ]
    )


class Inputs:
    """Random existing customers (those the user can see) and their phones, names and initials."""

    def __init__(self, user: User, rng: random.Random, want: int) -> None:
        top = Customer.objects.aggregate(top=Max("id"))["top"] or 0
        if not top:
            raise SystemExit("No customers: fill the database first with bench/generate.py.")
        visible = Customer.objects.visible_to(user)
        ids: list[int] = []
        for _ in range(50):
            draw = [rng.randrange(1, top + 1) for _ in range(want * 4)]
            ids += list(visible.filter(pk__in=draw).values_list("id", flat=True))
            if len(ids) >= want:
                break
        rng.shuffle(ids)
        self.ids = ids[:want]
        rows = dict(Customer.objects.filter(pk__in=self.ids).values_list("id", "name").iterator())
        initials = dict(
            Customer.objects.filter(pk__in=self.ids).values_list("id", "name_initials").iterator()
        )
        self.names = [rows[i] for i in self.ids]
        self.initials = [initials[i] for i in self.ids]
        numbers: dict[int, list[str]] = {}
        for customer_id, number in CustomerPhone.objects.filter(customer_id__in=self.ids).values_list(
            "customer_id", "number"
        ):
            numbers.setdefault(customer_id, []).append(number)
        self.phones = [rng.choice(numbers[i]) for i in self.ids if i in numbers]


def operations(inputs: Inputs, n: int) -> list[Operation]:
    def take(values: list[Any], rng: random.Random, count: int) -> list[Any]:
        return [values[i % len(values)] for i in range(count)] if values else []

    def lookup(rng: random.Random, count: int) -> list[str]:
        return [
            f"/api/v1/customers/lookup?{urlencode({'phone': typed_like_an_agent(p, rng)})}"
            for p in take(inputs.phones, rng, count)
        ]

    def fragment(rng: random.Random, count: int) -> list[str]:
        urls = []
        for name in take(inputs.names, rng, count):
            size = rng.choice((2, 3)) if len(name) > 2 else 2
            start = rng.randrange(0, max(1, len(name) - size + 1))
            urls.append(f"/customers/?{urlencode({'q': name[start : start + size]})}")
        return urls

    def initials(rng: random.Random, count: int) -> list[str]:
        return [
            f"/customers/?{urlencode({'q': value[: rng.randint(2, 4)]})}"
            for value in take(inputs.initials, rng, count)
        ]

    def fixed(url: str) -> Callable[[random.Random, int], list[str]]:
        return lambda rng, count: [url] * count

    def detail(rng: random.Random, count: int) -> list[str]:
        return [f"/customers/{pk}/" for pk in take(inputs.ids, rng, count)]

    def table(response: Any) -> bool:
        return b'data-testid="customer-table"' in response.content

    def any_json(response: Any) -> bool:
        return bool(response.json())

    return [
        Operation("phone lookup (API)", 10, lookup, any_json),
        Operation("name fragment search", 100, fragment, table),
        Operation("pinyin initials search", 100, initials, table),
        Operation("list ?tier=A", 100, fixed("/customers/?tier=A"), table),
        Operation(
            "list ?lifecycle=purchasing&sort=name",
            100,
            fixed("/customers/?lifecycle=purchasing&sort=name"),
            table,
        ),
        Operation("customer file page", 100, detail, lambda response: True),
    ]


def measure(
    user: User, *, n: int, warmup: int, seed: int, close_connections: bool, only: list[str] | None = None
) -> list[Result]:
    rng = random.Random(seed)
    client = Client()
    client.force_login(user)
    inputs = Inputs(user, rng, n + warmup)
    results = []
    for operation in operations(inputs, n + warmup):
        urls = operation.urls(rng, n + warmup)  # drawn for every operation: the same inputs with --only
        if only and not any(word in operation.name for word in only):
            continue
        samples: list[float] = []
        cpu: list[float] = []
        timed: list[tuple[float, str]] = []
        errors = found = 0
        for i, url in enumerate(urls):
            if close_connections:
                connection.close()  # as a server with CONN_MAX_AGE=0 would: each request connects anew
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            used = (time.process_time() - started_cpu) * 1000
            if i < warmup:
                continue
            samples.append(elapsed)
            cpu.append(used)
            timed.append((elapsed, url))
            if response.status_code != 200:
                errors += 1
            elif operation.found(response):
                found += 1
        timed.sort(reverse=True)
        results.append(
            Result(operation.name, user.username, samples, cpu, operation.target_ms, errors, found, timed[:5])
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="measured requests per operation and user")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--close-connections",
        action="store_true",
        help="close the database connection before each request (CONN_MAX_AGE=0)",
    )
    parser.add_argument("--users", default=f"{MANAGER},{AGENT}")
    parser.add_argument(
        "--only", default="", help="comma-separated words: run only the operations whose name holds one"
    )
    parser.add_argument(
        "--slowest", action="store_true", help="also print the five slowest requests of each operation"
    )
    parser.add_argument(
        "--no-warm-up", action="store_true", help="skip kefu serve's start-up warm-up (templates, gc.freeze)"
    )
    args = parser.parse_args(argv)

    print(f"database: {database_label()}")
    print(f"list count cap: {settings.LIST_COUNT_CAP} (KEFU_LIST_COUNT_CAP)")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    counts = {
        "customers": Customer.objects.count(),
        "contacts": Contact.objects.count(),
        "phone index rows": CustomerPhone.objects.count(),
        "name grams": CustomerNameGram.objects.count(),
    }
    print(
        "rows: "
        + ", ".join(f"{label} {count:,}" for label, count in counts.items())
        + f"; size on disk {database_size() / 2**30:.2f} GiB"
    )
    if not args.no_warm_up:
        # As `kefu serve` starts: templates compiled, then what is loaded set aside from the
        # garbage collector (kefu.cli.warm_up) — otherwise a full collection over the loaded
        # application lands in some measured request.
        from kefu.cli import warm_up

        print(f"warm-up as kefu serve: {warm_up()} templates compiled, gc frozen", flush=True)
    results: list[Result] = []
    for username in args.users.split(","):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise SystemExit(f"No user {username}: run bench/generate.py first.")
        scope = user.data_scope()
        seen = "everything" if scope.everything else f"departments {sorted(scope.department_ids)} and own"
        print(f"{username}: sees {seen}", flush=True)
        results += measure(
            user,
            n=args.n,
            warmup=args.warmup,
            seed=args.seed,
            close_connections=args.close_connections,
            only=[word for word in args.only.split(",") if word],
        )

    print()
    # CPU time of this process (Django, the view, the template, and on SQLite the queries too):
    # unlike the wall clock, it hardly moves when other programs load the machine.
    header = (
        f"{'operation':<40} {'user':<14} {'n':>4} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'target':>7}  "
        f"{'':<4} found  {'cpu p50':>7} {'cpu p99':>7}"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for r in results:
        p99 = r.percentile(99)
        verdict = "PASS" if p99 <= r.target_ms and not r.errors else "FAIL"
        failed += verdict == "FAIL"
        note = f" ({r.errors} errors)" if r.errors else ""
        print(
            f"{r.operation:<40} {r.user:<14} {len(r.samples):>4} {statistics.median(r.samples):>7.1f} {p99:>7.1f} "
            f"{max(r.samples):>7.1f} {'≤' + format(r.target_ms, 'g'):>7}  {verdict:<4} "
            f"{r.found * 100 // len(r.samples):>3}%  {statistics.median(r.cpu):>7.1f} "
            f"{r.percentile(99, r.cpu):>7.1f}{note}"
        )
    print()
    print(
        f"{len(results) - failed} of {len(results)} within target; "
        f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    if args.slowest:
        for r in results:
            print(f"\nslowest {r.operation} ({r.user}):")
            for elapsed, url in r.slowest:
                print(f"  {elapsed:7.1f} ms  {unquote_plus(url)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
