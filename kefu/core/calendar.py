"""The business calendar: Chinese working days (with 调休) and working hours.

Every time limit measured in working time ("answer within 4 working hours", "free service within
15 working days") goes through here, never through raw timedelta arithmetic (DESIGN rule 5).

The holiday schedule is data (CalendarYear/CalendarDay), seeded from chinesecalendar for the
years it knows and entered by an administrator for later years. A year with no schedule falls
back to Monday–Friday and is reported by `years_without_schedule` so the pages can warn.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.utils import timezone

from kefu.core.models import CalendarDay, CalendarYear, WorkingHours

# How long a process trusts its copy of the schedule before checking the database for edits.
# Several app servers each hold a copy; an administrator's change reaches all within this time.
REFRESH_SECONDS = 60
# A limit so far away is a configuration error, not a date to compute.
MAX_DAYS_AHEAD = 3660


@dataclass(frozen=True)
class _Schedule:
    known_years: frozenset[int]
    holidays: dict[dt.date, str]
    workdays: dict[dt.date, str]
    stamp: tuple[int, float]


class _Cache:
    schedule: _Schedule | None = None
    checked: float = 0.0


_lock = threading.Lock()
_cache = _Cache()


def _stamp() -> tuple[int, float]:
    """Changes whenever a year is added, edited or removed."""
    latest = CalendarYear.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    return CalendarYear.objects.count(), latest.timestamp() if latest else 0.0


def _load() -> _Schedule:
    holidays: dict[dt.date, str] = {}
    workdays: dict[dt.date, str] = {}
    for date, kind, name in CalendarDay.objects.values_list("date", "kind", "name"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else workdays)[date] = name
    years = frozenset(CalendarYear.objects.values_list("year", flat=True))
    return _Schedule(known_years=years, holidays=holidays, workdays=workdays, stamp=_stamp())


def schedule() -> _Schedule:
    current = _cache.schedule
    if current is not None and time.monotonic() - _cache.checked < REFRESH_SECONDS:
        return current
    with _lock:
        current = _cache.schedule
        if current is None or current.stamp != _stamp():
            current = _load()
            _cache.schedule = current
        _cache.checked = time.monotonic()
    return current


def reset_cache() -> None:
    """Forget the cached schedule (after an edit in this process, and in tests)."""
    with _lock:
        _cache.schedule = None
        _cache.checked = 0.0


def is_working_day(day: dt.date) -> bool:
    plan = schedule()
    if day in plan.workdays:
        return True
    if day in plan.holidays:
        return False
    return day.weekday() < 5


def holiday_name(day: dt.date) -> str:
    return schedule().holidays.get(day, "")


def has_schedule(year: int) -> bool:
    return year in schedule().known_years


def years_without_schedule(*years: int) -> list[int]:
    """Of the given years (default: this year and next), those still on the Monday–Friday fallback."""
    if not years:
        today = timezone.localdate()
        years = (today.year, today.year + 1)
    known = schedule().known_years
    return [year for year in years if year not in known]


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day`."""
    for offset in range(1, MAX_DAYS_AHEAD):
        candidate = day + dt.timedelta(days=offset)
        if is_working_day(candidate):
            return candidate
    raise ValueError("no working day within ten years")


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The date `count` working days after `day` (day itself not counted); count 0 gives `day`."""
    if count < 0:
        raise ValueError("count must not be negative")
    for _ in range(count):
        day = next_working_day(day)
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]: how many working days have passed since `start`."""
    if end <= start:
        return 0
    return sum(
        1 for offset in range(1, (end - start).days + 1) if is_working_day(start + dt.timedelta(days=offset))
    )


def _hours() -> WorkingHours:
    return WorkingHours.in_force()


def _segments(day: dt.date, hours: WorkingHours) -> list[tuple[dt.datetime, dt.datetime]]:
    if not is_working_day(day):
        return []
    tz = timezone.get_current_timezone()
    return [
        (dt.datetime.combine(day, start, tzinfo=tz), dt.datetime.combine(day, end, tzinfo=tz))
        for start, end in hours.intervals
        if end > start
    ]


def add_working_time(
    start: dt.datetime, duration: dt.timedelta, *, hours: WorkingHours | None = None
) -> dt.datetime:
    """The moment `duration` of working time after `start` (e.g. a due time from a limit)."""
    if duration < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    hours = hours or _hours()
    local = timezone.localtime(start)
    remaining = duration
    day = local.date()
    for _ in range(MAX_DAYS_AHEAD):
        for seg_start, seg_end in _segments(day, hours):
            begin = max(seg_start, local)
            if begin >= seg_end:
                continue
            available = seg_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += dt.timedelta(days=1)
    raise ValueError("the limit ends more than ten years ahead")


def working_time_between(
    start: dt.datetime, end: dt.datetime, *, hours: WorkingHours | None = None
) -> dt.timedelta:
    """Working time elapsed from `start` to `end` (zero when end is not after start)."""
    if end <= start:
        return dt.timedelta(0)
    hours = hours or _hours()
    first = timezone.localtime(start)
    last = timezone.localtime(end)
    total = dt.timedelta(0)
    day = first.date()
    while day <= last.date():
        for seg_start, seg_end in _segments(day, hours):
            overlap = min(seg_end, last) - max(seg_start, first)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total


def is_working_time(moment: dt.datetime, *, hours: WorkingHours | None = None) -> bool:
    local = timezone.localtime(moment)
    return any(start <= local < end for start, end in _segments(local.date(), hours or _hours()))
