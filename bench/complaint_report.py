"""The monthly and weekly complaint report (kefu/tickets/reports.py), timed in-process.

    python bench/complaint_report.py [-n 20] [--month 2026-10]

Run after bench/generate_tickets.py. Times reports.complaint_report for the last full month (or
the one given) and for a week in it, as the bench manager (every department) and the bench
supervisor (a department and those below it), and prints p50/max and the number of queries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, django_setup

django_setup()

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.accounts.models import User
from kefu.tickets import reports
from kefu.tickets.models import Ticket


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--month", default="")
    args = parser.parse_args()
    last_month = (timezone.localdate().replace(day=1) - timezone.timedelta(days=1)).strftime("%Y-%m")
    month = reports.parse_period("month", args.month or last_month)
    week = reports.week_period(month.start + timezone.timedelta(days=10))
    print(database_label())
    print(
        f"tickets: {Ticket.objects.count():,}, complaints: {Ticket.objects.filter(kind='complaint').count():,}"
    )
    for username in ("bench_manager", "bench_supervisor"):
        user = User.objects.get(username=username)
        for period in (month, week):
            times = []
            for _ in range(args.n):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    report = reports.complaint_report(user, period)
                    times.append((time.perf_counter() - started) * 1000)
            print(
                f"{username:17} {period.kind:5} {period.key:8}  received {report.received:6,}  "
                f"closed {report.closed:6,}  p50 {statistics.median(times):7.1f} ms  "
                f"max {max(times):7.1f} ms  {len(queries)} queries"
            )


if __name__ == "__main__":
    main()
