"""The daily return-visit job (the tier cadence) over the bench database, timed in-process.

    python bench/visits_job.py [--today 2026-11-23] [--reset] [--batch-size 50000]

Run on a copy of the 1,000,000-customer bench database after `manage.py migrate` (the visits
tables and the default cadence come with the migrations). The first run plans every visit the
cadence calls for in the current periods (centre monthly A/B/C, leader quarterly A/B, president
yearly A); the re-run must plan nothing. --reset deletes the cadence's visits first, so the first
run can be timed again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, database_size, django_setup

django_setup()

from django.db import connection
from django.db.models import Count

from kefu.customers.models import Customer
from kefu.visits import services
from kefu.visits.models import CadencePolicy, Visit, VisitSource

TARGET_SECONDS = 60


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def run(label: str, today: dt.date, batch_size: int) -> tuple[float, services.PlanResult]:
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        result = services.visits_plan_due(today=today, batch_size=batch_size)
    seconds = time.perf_counter() - started
    rules = ", ".join(f"{code} {n:,}" for code, n in result.rules.items())
    print(
        f"{label:<10} {seconds:8.2f} s  planned {result.created:>9,} ({rules})  "
        f"cancelled {result.cancelled:,}  queries {counter.count:,}",
        flush=True,
    )
    return seconds, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--batch-size", type=int, default=50_000, help="customer ids per INSERT … SELECT")
    parser.add_argument("--reset", action="store_true", help="delete the cadence's visits first")
    args = parser.parse_args(argv)
    today = args.today or dt.date.today()

    print(f"database: {database_label()}; size on disk {database_size() / 2**30:.2f} GiB")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    tiers = dict(Customer.objects.values_list("tier").annotate(n=Count("id")).values_list("tier", "n"))
    total = sum(tiers.values())
    print(
        f"customers {total:,}: "
        + ", ".join(f"{tier or 'no tier'} {n:,}" for tier, n in sorted(tiers.items())),
        flush=True,
    )
    policy = CadencePolicy.in_force(today)
    print(
        f"cadence of {policy.effective_from}: "
        + "; ".join(f"{r.code} {r.role} {r.tiers} every {r.every_months} mo" for r in policy.rule_list())
    )
    if args.reset:
        started = time.perf_counter()
        deleted, _ = Visit.objects.filter(source=VisitSource.CADENCE).delete()
        print(f"--reset: {deleted:,} rows removed ({time.perf_counter() - started:.1f} s)")
    print(f"\nplanning for {today} (batches of {args.batch_size:,} customer ids)")
    first, _first = run("first run", today, args.batch_size)
    second, again = run("re-run", today, args.batch_size)
    rows = Visit.objects.filter(source=VisitSource.CADENCE).count()
    verdict = "PASS" if first <= TARGET_SECONDS else "FAIL"
    idle = "planned nothing twice" if again.created == 0 else "PLANNED AGAIN"
    print(
        f"\nfirst run {first:.1f} s for {total:,} customers (target ≤ {TARGET_SECONDS} s: {verdict}); "
        f"re-run {second:.2f} s, {idle}; cadence visits in the table: {rows:,}"
    )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
