"""The SLA job over every open ticket, and the ticket reads an agent does all day, timed in-process.

    python bench/sla_job.py [-n 200] [--warmup 10] [--reset] [--skip-job]

Run after bench/generate_tickets.py, which leaves the open tickets as the job has not seen them
yet. The first run of services.tickets_check_sla flags the at-risk ones, escalates the breached
ones to the supervisors (and past the manager threshold to the managers) with a timeline event
and notifications each; the second run must find nothing left to do. --reset undoes a previous
run (flags, its escalation events, all notifications) so the first run can be timed again.

Then p50/p99/max of the selectors the queue pages will call, without the pages (no middleware,
no template): the my-queue first page of 20 with the count capped as kefu/core/pages.py does, a
filtered list (open complaints by due time), the queue counts, and loading a ticket with its
50-event timeline; as the bench agent (one department) and as the manager (everything).
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, database_size, django_setup

django_setup()

from django.conf import settings
from django.db import connection
from django.db.models import Count

from kefu.accounts.models import User
from kefu.core.models import Notification
from kefu.core.pages import CappedPaginator
from kefu.tickets import selectors, services
from kefu.tickets.models import SlaStatus, Ticket, TicketEvent, TicketState

MANAGER = "bench_manager"
AGENT = "bench_agent01"
TARGET_SECONDS = 30


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def reset() -> None:
    """Undo what a run of the job wrote, so the first run can be measured again."""
    started = time.perf_counter()
    escalations = TicketEvent.objects.filter(
        kind="escalation", ticket__state__in=[TicketState.OPEN, TicketState.PENDING], data__reason="sla"
    )
    deleted, _ = escalations.delete()
    flagged = Ticket.objects.filter(state=TicketState.OPEN).exclude(
        sla_status=SlaStatus.OK, escalation_level=0
    )
    reverted = flagged.update(sla_status=SlaStatus.OK, escalation_level=0)
    notifications, _ = Notification.objects.all().delete()
    print(
        f"--reset: {reverted:,} open tickets back to on time, {deleted:,} escalation events and "
        f"{notifications:,} notifications removed ({time.perf_counter() - started:.1f} s)"
    )


def run_job(label: str) -> tuple[float, services.SlaCheck]:
    counter = QueryCounter()
    events_before = TicketEvent.objects.filter(kind="escalation").count()
    notifications_before = Notification.objects.count()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = services.tickets_check_sla()
    seconds = time.perf_counter() - started
    events = TicketEvent.objects.filter(kind="escalation").count() - events_before
    notifications = Notification.objects.count() - notifications_before
    print(
        f"{label:<10} {seconds:8.2f} s  at risk {result.at_risk:>7,}  breached {result.breached:>7,}  "
        f"to the manager {result.to_manager:>7,}  events {events:>7,}  notifications {notifications:>7,}  "
        f"queries {counter.count:,}",
        flush=True,
    )
    return seconds, result


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def first_page(user: User, params: dict[str, Any]) -> tuple[int, bool]:
    """What a list page asks of the database: the capped count and one page of 20."""
    paginator = CappedPaginator(selectors.ticket_filter(user, params), 20, cap=settings.LIST_COUNT_CAP)
    page = paginator.page(1)
    rows = list(page.object_list)
    return len(rows), paginator.capped


def long_tickets(user: User, want: int) -> list[int]:
    candidates = list(
        selectors.ticket_list(user)
        .filter(pk__in=[i * 4000 for i in range(1, 1 + Ticket.objects.count() // 4000)])
        .annotate(n=Count("events"))
        .filter(n__gte=50)
        .values_list("pk", flat=True)
    )
    if not candidates:
        raise SystemExit(f"no ticket with 50 events visible to {user}: run bench/generate_tickets.py")
    return [candidates[i % len(candidates)] for i in range(want)]


def measure(user: User, n: int, warmup: int, seed: int) -> list[tuple[str, list[float], str]]:
    rng = random.Random(seed)
    ids = long_tickets(user, n + warmup)
    rng.shuffle(ids)
    found: dict[str, str] = {}

    def mine() -> None:
        rows, capped = first_page(user, {"queue": "mine"})
        found["my queue, first page"] = f"{rows} rows{', count capped' if capped else ''}"

    def complaints() -> None:
        rows, capped = first_page(user, {"kind": "complaint", "state": "open", "sort": "due"})
        found["open complaints by due time"] = f"{rows} rows{', count capped' if capped else ''}"

    def counts() -> None:
        counts, capped = selectors.queue_counts(user)
        found["queue counts"] = ", ".join(f"{k} {v:,}{'+' if k in capped else ''}" for k, v in counts.items())

    position = iter(range(10**9))

    def ticket() -> None:
        pk = ids[next(position) % len(ids)]
        loaded = selectors.ticket_get(user, pk)
        assert loaded is not None
        events = list(selectors.ticket_timeline(loaded))
        found["ticket + 50-event timeline"] = f"{len(events)} events"

    results = []
    for name, operation in [
        ("my queue, first page", mine),
        ("open complaints by due time", complaints),
        ("queue counts", counts),
        ("ticket + 50-event timeline", ticket),
    ]:
        samples = []
        for i in range(n + warmup):
            started = time.perf_counter()
            operation()
            elapsed = (time.perf_counter() - started) * 1000
            if i >= warmup:
                samples.append(elapsed)
        results.append((name, samples, found[name]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="measured calls per operation and user")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reset", action="store_true", help="undo a previous run of the job first")
    parser.add_argument("--skip-job", action="store_true", help="only the selectors")
    parser.add_argument("--users", default=f"{AGENT},{MANAGER}")
    args = parser.parse_args(argv)

    print(f"database: {database_label()}; size on disk {database_size() / 2**30:.2f} GiB")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    states = dict(Ticket.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    print(
        f"tickets {sum(states.values()):,} ({', '.join(f'{s} {n:,}' for s, n in sorted(states.items()))}), "
        f"events {TicketEvent.objects.count():,}",
        flush=True,
    )
    if args.reset:
        reset()
    if not args.skip_job:
        print()
        flagged = Ticket.objects.filter(state=TicketState.OPEN).exclude(sla_status=SlaStatus.OK).count()
        print(f"SLA job over {states.get(TicketState.OPEN, 0):,} open tickets ({flagged:,} flagged before)")
        first, _ = run_job("first run")
        second, again = run_job("re-run")
        verdict = "PASS" if first <= TARGET_SECONDS else "FAIL"
        idle = "nothing left to do" if again == services.SlaCheck() else "ACTED AGAIN"
        print(
            f"first run {first:.1f} s (target ≤ {TARGET_SECONDS} s: {verdict}); re-run {second:.2f} s, {idle}"
        )

    print()
    header = f"{'operation':<30} {'user':<14} {'n':>4} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  result"
    print(header)
    print("-" * len(header))
    for username in args.users.split(","):
        user = User.objects.get(username=username)
        for name, samples, found in measure(user, args.n, args.warmup, args.seed):
            print(
                f"{name:<30} {username:<14} {len(samples):>4} {statistics.median(samples):>7.1f} "
                f"{percentile(samples, 99):>7.1f} {max(samples):>7.1f}  {found}",
                flush=True,
            )
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
