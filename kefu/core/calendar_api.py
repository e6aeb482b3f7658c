"""The holiday calendar in the API: schedules per year, and working-time arithmetic."""

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from kefu.core import calendar
from kefu.core.calendar_services import calendar_year_save
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.models import CalendarDay, CalendarYear
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS

router = Router(tags=["calendar"])


class DayIn(Schema):
    date: dt.date
    name: str = Field(default="", max_length=50)


class DayOut(DayIn):
    kind: str


class YearOut(Schema):
    year: int
    has_schedule: bool
    source: str
    note: str
    holidays: list[DayOut]
    workdays: list[DayOut]


class YearIn(Schema):
    holidays: list[DayIn] = Field(default_factory=list, max_length=200)
    workdays: list[DayIn] = Field(default_factory=list, max_length=100)
    note: str = Field(default="", max_length=300)


class DueOut(Schema):
    start: dt.datetime
    due: dt.datetime
    working_days_ahead: int
    fallback_years: list[int]


def _year_out(year: int) -> dict:
    entry = CalendarYear.objects.filter(year=year).first()
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    return {
        "year": year,
        "has_schedule": entry is not None,
        "source": entry.source if entry else "",
        "note": entry.note if entry else "",
        "holidays": [
            {"date": d.date, "name": d.name, "kind": d.kind}
            for d in days
            if d.kind == CalendarDay.Kind.HOLIDAY
        ],
        "workdays": [
            {"date": d.date, "name": d.name, "kind": d.kind}
            for d in days
            if d.kind == CalendarDay.Kind.WORKDAY
        ],
    }


@router.get(
    "/calendar/years/{year}",
    response={200: YearOut, **ERRORS},
    summary="A year's holidays and 调休 working days",
)
def get_year(request: HttpRequest, year: int) -> dict:
    require_perm(request.user, "core.view_calendaryear")
    if not 2000 <= year <= 2100:
        raise NotFound()
    return _year_out(year)


@router.put(
    "/calendar/years/{year}", response={200: YearOut, **ERRORS}, summary="Enter a year's official schedule"
)
def put_year(request: HttpRequest, year: int, payload: YearIn) -> dict:
    if not 2000 <= year <= 2100:
        raise NotFound()
    calendar_year_save(
        actor=request.user,
        year=year,
        holidays=[(d.date, d.name) for d in payload.holidays],
        workdays=[(d.date, d.name) for d in payload.workdays],
        note=payload.note,
    )
    calendar.reset_cache()
    return _year_out(year)


@router.get("/calendar/due", response={200: DueOut, **ERRORS}, summary="Add working hours to a moment")
def due(
    request: HttpRequest, hours: float = Query(..., gt=0, le=24 * 366), start: dt.datetime | None = None
) -> dict:
    require_perm(request.user, "core.view_calendaryear")
    start = start or timezone.now()
    if not 2000 <= start.year <= 2100:
        raise ValidationFailed("start: 2000–2100", detail={"start": ["2000–2100"]})
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    try:
        result = calendar.add_working_time(start, dt.timedelta(hours=hours))
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed(str(exc), detail={"hours": [str(exc)]}) from exc
    years = sorted({start.year, result.year})
    return {
        "start": start,
        "due": result,
        "working_days_ahead": calendar.working_days_between(
            timezone.localdate(start), timezone.localdate(result)
        ),
        "fallback_years": calendar.years_without_schedule(*range(years[0], years[-1] + 1)),
    }
