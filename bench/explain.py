"""The customer list's two search queries (capped count and first page) for one user and search, timed
and explained: what `bench/README.md`'s plans were taken with.

    python bench/explain.py [--user bench_agent01] [--plan] [--repeat 3] 石家庄 bt ...

Prints, per search, the CPU and wall time of the capped count and of the page query as the list
page runs them (`kefu.core.pages.CappedPaginator`, page size 20), and with `--plan` their plans
(`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, django_setup

django_setup()

from django.conf import settings
from django.db import connection

from kefu.accounts.models import User
from kefu.core.pages import CappedPaginator
from kefu.customers.selectors import CustomerFilters, customer_list


def explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "sqlite":
        return "\n".join(f"    {row[-1]}" for row in rows)
    return "\n".join(f"    {row[0]}" for row in rows)


def timed(run) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = run()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("queries", nargs="+")
    parser.add_argument("--user", default="bench_agent01")
    parser.add_argument("--plan", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sort", default="newest")
    args = parser.parse_args()
    print(database_label(), "user", args.user)
    user = User.objects.get(username=args.user)
    for text in args.queries:
        timings = []
        for _ in range(args.repeat):
            qs = customer_list(user=user, filters=CustomerFilters(q=text, sort=args.sort))
            paginator = CappedPaginator(qs, 20, cap=settings.LIST_COUNT_CAP)
            count = timed(lambda p=paginator: p.count)
            page = timed(lambda q=qs: list(q[:20]))
            timings.append((count, page))
        best_count = min(t[0][:2] for t in timings)
        best_page = min(t[1][:2] for t in timings)
        print(
            f"{text:<8} count {timings[-1][0][2]:>5}  count wall/cpu {best_count[0]:7.1f} / {best_count[1]:6.1f} ms"
            f"   page {len(timings[-1][1][2]):>2} rows wall/cpu {best_page[0]:7.1f} / {best_page[1]:6.1f} ms"
        )
        if args.plan:
            qs = customer_list(user=user, filters=CustomerFilters(q=text, sort=args.sort))
            rows = qs.select_related(None)
            if connection.vendor != "sqlite":
                rows = rows.order_by()
            print("  count plan:")
            print(explain(rows[: settings.LIST_COUNT_CAP + 1]))
            print("  page plan:")
            print(explain(qs[:20]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
