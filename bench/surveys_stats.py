"""Satisfaction surveys at scale: bulk-load millions of answers, then time the monthly statistics.

    python bench/surveys_stats.py [--answers 5000000] [--months 24] [--batch 50000] [--force]

Runs on top of bench/generate.py's customers and staff (run `bench/generate.py --customers 200000`
into the same database first). Loads invitations, responses and answers the way the services
write them (grouping columns copied onto each answer, 80 % of invitations answered, four answers
per response of which three are ratings, months spread over the last --months months), with the
loader of generate.py: secondary indexes (and PostgreSQL constraints) dropped, executemany per
batch on SQLite, COPY on PostgreSQL, a worker process generating the next batch, indexes rebuilt,
ANALYZE. Then times, as the manager (scope: all) and as an agent (own department):
`survey_statistics` over 12 months by department, staff member and tier, the 12-month trend, one
month's `excellent_staff_nominations` and `staff_very_satisfied_share`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import database_label, database_size, django_setup

django_setup()

import generate as customer_bench
from django.db import connection
from django.utils import timezone

from kefu.accounts.models import User
from kefu.customers.models import Customer
from kefu.surveys import selectors
from kefu.surveys.models import (
    QuestionKind,
    SurveyAnswer,
    SurveyInvitation,
    SurveyPolicy,
    SurveyResponse,
    SurveyTemplate,
)

TABLES = {"invitation": SurveyInvitation, "response": SurveyResponse, "answer": SurveyAnswer}
COLUMNS = {
    "invitation": [
        "id", "number", "key", "template_id", "channel", "customer_id", "contact_name", "contact_phone",
        "contact_email", "subject_label", "served_by_id", "department_id", "tier", "sent_by_id", "policy_id",
        "month", "expires_at", "state", "answered_at", "delivery_state", "delivery_text", "created_at",
        "updated_at",
    ],
    "response": [
        "id", "invitation_id", "template_id", "customer_id", "served_by_id", "sent_by_id", "department_id",
        "tier", "channel", "answered_at", "month", "average_score", "lowest_score", "policy_id",
    ],
    "answer": [
        "id", "response_id", "question_id", "score", "choices", "text", "month", "department_key",
        "served_by_key", "tier",
    ],
}  # fmt: skip
ANSWERS_PER_RESPONSE = 4
ANSWERED_SHARE = 0.8
# Scores as customers give them: mostly very satisfied or satisfied.
SCORE_WEIGHTS = [(5, 55), (4, 30), (3, 9), (2, 4), (1, 2)]


@dataclass
class Context:
    seed: int
    invitations: int
    months: list[dt.date]
    customers: list[tuple[int, str, int | None]]
    staff: list[tuple[int, int | None]]
    template_id: int
    ratings: list[int]
    single: tuple[int, list[str]]
    policy_id: int | None
    year: int


CTX: Context | None = None


@dataclass
class Batch:
    lo: int
    hi: int
    rows: dict[str, list[tuple[Any, ...]]]
    seconds: float


def make_batch(bounds: tuple[int, int]) -> Batch:
    started = time.perf_counter()
    ctx = CTX
    assert ctx is not None
    lo, hi = bounds
    rng = random.Random(ctx.seed * 1_000_003 + lo)
    scores = [s for s, w in SCORE_WEIGHTS for _ in range(w)]
    sqlite = connection.vendor == "sqlite"
    rows: dict[str, list[tuple[Any, ...]]] = {"invitation": [], "response": [], "answer": []}
    single_id, choices = ctx.single
    for invitation_id in range(lo, hi):
        customer_id, tier, _dept = ctx.customers[rng.randrange(len(ctx.customers))]
        staff_id, department_id = ctx.staff[rng.randrange(len(ctx.staff))]
        month = ctx.months[rng.randrange(len(ctx.months))]
        sent = dt.datetime(month.year, month.month, rng.randint(1, 27), rng.randint(1, 12), tzinfo=dt.UTC)
        answered = rng.random() < ANSWERED_SHARE
        answered_at = sent + dt.timedelta(hours=rng.randint(1, 20)) if answered else None
        rows["invitation"].append(
            (
                invitation_id, f"MY{ctx.year}-{invitation_id:07d}", f"b{invitation_id:015d}", ctx.template_id, "sms",
                customer_id, "", "", "", "", staff_id, department_id, tier, staff_id, ctx.policy_id, month,
                sent + dt.timedelta(days=14), "answered" if answered else "pending", answered_at,
                "to_send_sms", "", sent, answered_at or sent,
            )
        )  # fmt: skip
        if not answered:
            continue
        # Responses and answers take ids from the invitation's: unique without a shared counter.
        given = [scores[rng.randrange(len(scores))] for _ in ctx.ratings]
        average = f"{sum(given) / len(given):.2f}"
        rows["response"].append(
            (
                invitation_id, invitation_id, ctx.template_id, customer_id, staff_id, staff_id, department_id,
                tier, "sms", answered_at, month, average, min(given), ctx.policy_id,
            )
        )  # fmt: skip
        base = invitation_id * ANSWERS_PER_RESPONSE
        for n, (question_id, score) in enumerate(zip(ctx.ratings, given, strict=True)):
            rows["answer"].append(
                (base + n, invitation_id, question_id, score, "[]", "", month, department_id, staff_id, tier)
            )
        choice = json.dumps([choices[rng.randrange(len(choices))]], ensure_ascii=False)
        rows["answer"].append(
            (base + 3, invitation_id, single_id, None, choice, "", month, department_id, staff_id, tier)
        )
    if sqlite:  # the SQLite driver wants strings for dates and timestamps like Django writes them
        for key, date_columns in (
            ("invitation", (15, 16, 18, 21, 22)),
            ("response", (9, 10)),
            ("answer", (6,)),
        ):
            rows[key] = [
                tuple(v.replace(tzinfo=None).isoformat(" ") if i in date_columns and isinstance(v, dt.datetime) else
                      (v.isoformat() if i in date_columns and isinstance(v, dt.date) else v)
                      for i, v in enumerate(row))
                for row in rows[key]
            ]  # fmt: skip
    return Batch(lo, hi, rows, time.perf_counter() - started)


def timed(label: str, call: Any, repeat: int = 3) -> tuple[str, float, float, Any]:
    durations = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        durations.append(time.perf_counter() - started)
    return label, min(durations), statistics.median(durations), result


def measure() -> list[tuple[str, str, float, float, str]]:
    manager = User.objects.filter(groups__role__code="manager", is_active=True).order_by("id").first()
    agent = User.objects.filter(groups__role__code="agent", is_active=True).order_by("id").first()
    last = selectors.this_month()
    first = selectors.add_months(last, -11)
    previous = selectors.add_months(last, -1)
    results = []
    for who, user in (("manager", manager), ("agent", agent)):
        if user is None:
            continue
        for dimension in ("department", "staff", "tier"):
            label, best, median, rows = timed(
                f"statistics 12 months by {dimension}",
                lambda d=dimension, u=user: selectors.survey_statistics(
                    u, dimension=d, first_month=first, last_month=last
                ),
            )
            results.append(
                (label, who, best, median, f"{len(rows)} rows, {sum(r.ratings for r in rows):,} ratings")
            )
        label, best, median, trend = timed(
            "12-month trend", lambda u=user: selectors.statistics_trend(u, last_month=last)
        )
        results.append((label, who, best, median, f"{sum(f.responses for f in trend):,} responses"))
        label, best, median, found = timed(
            "nominations of one month",
            lambda u=user: selectors.excellent_staff_nominations(u, month=previous),
        )
        results.append((label, who, best, median, f"{len(found.nominees)} nominees"))
    label, best, median, shares = timed(
        "staff_very_satisfied_share (one month)", lambda: selectors.staff_very_satisfied_share(month=previous)
    )
    results.append((label, "job", best, median, f"{len(shares)} staff"))
    return results


def main(argv: list[str] | None = None) -> int:
    global CTX
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=5_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--batch", type=int, default=50_000, help="invitations per batch")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--force", action="store_true", help="empty the survey tables first")
    parser.add_argument("--measure-only", action="store_true")
    args = parser.parse_args(argv)
    print(f"database: {database_label()}", flush=True)
    if not args.measure_only:
        if SurveyAnswer.objects.exists() or SurveyInvitation.objects.exists():
            if not args.force:
                print("The survey tables are not empty; use --force.", file=sys.stderr)
                return 2
            with connection.cursor() as cursor:
                for model in (SurveyAnswer, SurveyResponse, SurveyInvitation):
                    cursor.execute(f'DELETE FROM "{model._meta.db_table}"')
        customers = list(Customer.objects.values_list("id", "tier", "department_id"))
        if not customers:
            print("No customers: run bench/generate.py --customers 200000 first.", file=sys.stderr)
            return 2
        staff = [
            (u.pk, u.department_id) for u in User.objects.filter(is_active=True, department__isnull=False)
        ]
        template = SurveyTemplate.objects.get(family="general-satisfaction", version=1)
        questions = list(template.questions.order_by("position"))
        ratings = [q.pk for q in questions if q.kind == QuestionKind.RATING][:3]
        single = next(q for q in questions if q.kind == QuestionKind.SINGLE)
        this_month = selectors.this_month()
        policy = SurveyPolicy.in_force()
        invitations = int(args.answers / (ANSWERS_PER_RESPONSE * ANSWERED_SHARE))
        CTX = Context(
            seed=args.seed,
            invitations=invitations,
            months=[selectors.add_months(this_month, -i) for i in range(args.months)],
            customers=customers,
            staff=staff,
            template_id=template.pk,
            ratings=ratings,
            single=(single.pk, list(single.choices)),
            policy_id=policy.pk,
            year=timezone.localdate().year,
        )
        print(
            f"{len(customers):,} customers, {len(staff)} staff; about {invitations:,} invitations "
            f"→ {int(invitations * ANSWERED_SHARE):,} responses → ~{args.answers:,} answers",
            flush=True,
        )
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for pragma in (
                    "synchronous=OFF",
                    "foreign_keys=OFF",
                    "cache_size=-1000000",
                    "temp_store=MEMORY",
                ):
                    cursor.execute(f"PRAGMA {pragma}")
            else:
                cursor.execute("SET synchronous_commit = off")
        tables = [model._meta.db_table for model in TABLES.values()]
        dropped = customer_bench.drop_secondary(tables)
        writer = customer_bench.Writer(TABLES, COLUMNS)
        started = time.perf_counter()
        generate_seconds = 0.0
        for batch in customer_bench.pipelined(make_batch, invitations, args.batch, args.workers):
            writer.write(batch)
            generate_seconds += batch.seconds
            done = batch.hi - 1
            elapsed = time.perf_counter() - started
            print(
                f"  {done:>10,} invitations, {writer.rows['answer']:>11,} answers  {elapsed:7.1f} s",
                flush=True,
            )
        load_seconds = time.perf_counter() - started
        index_seconds: dict[str, float] = {}
        started = time.perf_counter()
        customer_bench.rebuild(dropped, index_seconds)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        rebuild_seconds = time.perf_counter() - started
        print(
            f"loaded {writer.rows['invitation']:,} invitations, {writer.rows['response']:,} responses, "
            f"{writer.rows['answer']:,} answers in {load_seconds:.1f} s (generation {generate_seconds:.1f} s "
            f"in the worker); indexes, constraints and ANALYZE {rebuild_seconds:.1f} s",
            flush=True,
        )
        for key, seconds in writer.seconds.items():
            print(f"  {key:<10} {writer.rows[key]:>11,} rows written in {seconds:7.1f} s", flush=True)
    print(f"database size: {database_size() / 2**20:,.0f} MiB", flush=True)
    print("\n| operation | user | best s | median s | result |\n|---|---|---:|---:|---|")
    for label, who, best, median, note in measure():
        print(f"| {label} | {who} | {best:.2f} | {median:.2f} | {note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
