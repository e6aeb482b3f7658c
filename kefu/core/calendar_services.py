"""Entering a year's official schedule (holidays and 调休 working days) into the calendar."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kefu.core import calendar
from kefu.core.errors import ValidationFailed
from kefu.core.history import acting
from kefu.core.models import CalendarDay, CalendarYear, WorkingHours
from kefu.core.permissions import require_perm

DATE = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
LINE = re.compile(rf"^\s*{DATE}(?:(?:\s*(?:\.\.|~|～|至|到|—|–|--)\s*|\s+-\s+){DATE})?\s*(.*?)\s*$")
MAX_DAYS_PER_LINE = 15


def _date(parts: tuple[str, str, str]) -> dt.date:
    return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))


def parse_schedule(text: str, *, field: str) -> list[tuple[dt.date, str]]:
    """Lines such as `2027-01-01 元旦` or `2027-02-06..2027-02-12 春节`; one error per bad line."""
    days: list[tuple[dt.date, str]] = []
    problems: list[str] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip() or raw.strip().startswith("#"):
            continue
        match = LINE.match(raw)
        if not match:
            problems.append(
                _(
                    "Line %(n)d: “%(line)s” is not a date such as 2027-01-01 or a range such as 2027-02-06..2027-02-12."
                )
                % {"n": number, "line": raw.strip()[:60]}
            )
            continue
        groups = match.groups()
        try:
            first = _date(groups[0:3])
            last = _date(groups[3:6]) if groups[3] else first
        except ValueError:
            problems.append(
                _("Line %(n)d: “%(line)s” names a day that does not exist.")
                % {"n": number, "line": raw.strip()[:60]}
            )
            continue
        if last < first or (last - first).days >= MAX_DAYS_PER_LINE:
            problems.append(
                _("Line %(n)d: a range must run forwards and last at most %(max)d days.")
                % {"n": number, "max": MAX_DAYS_PER_LINE}
            )
            continue
        name = groups[6][:50]
        days.extend((first + dt.timedelta(days=i), name) for i in range((last - first).days + 1))
    if problems:
        raise ValidationFailed(problems[0], detail={field: problems})
    return days


def format_schedule(days: Iterable[tuple[dt.date, str]]) -> str:
    """The reverse of parse_schedule, with consecutive days of one holiday joined into ranges."""
    lines: list[str] = []
    run: list[tuple[dt.date, str]] = []
    for day, name in sorted(days):
        if run and (day - run[-1][0]).days == 1 and name == run[-1][1]:
            run.append((day, name))
            continue
        if run:
            lines.append(_format_run(run))
        run = [(day, name)]
    if run:
        lines.append(_format_run(run))
    return "\n".join(lines)


def _format_run(run: list[tuple[dt.date, str]]) -> str:
    first, last, name = run[0][0], run[-1][0], run[0][1]
    span = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return f"{span} {name}".strip()


@transaction.atomic
def calendar_year_save(
    *,
    actor: Any,
    year: int,
    holidays: list[tuple[dt.date, str]],
    workdays: list[tuple[dt.date, str]],
    note: str = "",
) -> CalendarYear:
    """Replace a year's schedule with the one given (as published by the State Council)."""
    require_perm(actor, "core.change_calendaryear")
    errors: dict[str, list[str]] = {}
    if not 2000 <= year <= 2100:
        errors["year"] = [_("Enter a year between 2000 and 2100.")]
    for field, days in (("holidays", holidays), ("workdays", workdays)):
        outside = sorted({d for d, _name in days if d.year != year})
        if outside:
            errors.setdefault(field, []).append(
                _("These days are not in %(year)d: %(days)s.")
                % {"year": year, "days": ", ".join(map(str, outside[:5]))}
            )
    both = sorted({d for d, _n in holidays} & {d for d, _n in workdays})
    if both:
        errors.setdefault("workdays", []).append(
            _("A day cannot be both a holiday and a working day: %(days)s.")
            % {"days": ", ".join(map(str, both[:5]))}
        )
    weekday_workdays = sorted(d for d, _n in workdays if d.weekday() < 5)
    if weekday_workdays:
        errors.setdefault("workdays", []).append(
            _("Make-up working days fall on weekends; these are already working days: %(days)s.")
            % {"days": ", ".join(map(str, weekday_workdays[:5]))}
        )
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    with acting(actor):
        entry, _created = CalendarYear.objects.select_for_update().get_or_create(year=year)
        entry.source = CalendarYear.Source.MANUAL
        entry.note = (note or "").strip()[:300]
        entry.updated_by = actor
        entry.save()
        CalendarDay.objects.filter(calendar_year=entry).delete()
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(calendar_year=entry, date=d, kind=CalendarDay.Kind.HOLIDAY, name=n)
                for d, n in dict(holidays).items()
            ]
            + [
                CalendarDay(calendar_year=entry, date=d, kind=CalendarDay.Kind.WORKDAY, name=n)
                for d, n in dict(workdays).items()
            ]
        )
    transaction.on_commit(calendar.reset_cache)
    return entry


@transaction.atomic
def calendar_year_clear(*, actor: Any, year: int) -> None:
    """Remove a year's schedule: the year goes back to the Monday–Friday fallback."""
    require_perm(actor, "core.delete_calendaryear")
    with acting(actor):
        CalendarYear.objects.filter(year=year).delete()
    transaction.on_commit(calendar.reset_cache)


@transaction.atomic
def working_hours_create(
    *,
    actor: Any,
    effective_from: dt.date,
    morning_start: dt.time,
    morning_end: dt.time,
    afternoon_start: dt.time,
    afternoon_end: dt.time,
    note: str = "",
) -> WorkingHours:
    """A new version of the working hours; limits computed from then on use it."""
    require_perm(actor, "core.add_workinghours")
    if not morning_start < morning_end <= afternoon_start < afternoon_end:
        raise ValidationFailed(
            _(
                "The times must follow each other: morning start < morning end ≤ afternoon start < afternoon end."
            ),
            detail={"afternoon_end": [_("The times are out of order.")]},
        )
    hours = WorkingHours(
        effective_from=effective_from,
        morning_start=morning_start,
        morning_end=morning_end,
        afternoon_start=afternoon_start,
        afternoon_end=afternoon_end,
        note=(note or "").strip()[:200],
        created_by=actor,
    )
    with acting(actor):
        hours.save()
    return hours
