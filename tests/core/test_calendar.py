"""Working time across weekends, public holidays and 调休 working Saturdays; unknown years."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kefu.core import calendar
from kefu.core.calendar_services import calendar_year_save, format_schedule, parse_schedule
from kefu.core.errors import PermissionDenied, ValidationFailed
from kefu.core.models import CalendarYear

pytestmark = pytest.mark.django_db


def at(y, m, d, hh=0, mm=0):
    return timezone.make_aware(dt.datetime(y, m, d, hh, mm))


def test_2026_is_seeded_from_chinesecalendar():
    assert calendar.has_schedule(2026)
    assert calendar.holiday_name(dt.date(2026, 10, 1)) == "国庆节"
    assert not calendar.is_working_day(dt.date(2026, 10, 5))  # a Monday inside the National Day week


def test_a_make_up_saturday_is_a_working_day():
    # 2026-10-10 is a Saturday worked for the National Day holiday (调休).
    assert dt.date(2026, 10, 10).weekday() == 5
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    assert not calendar.is_working_day(dt.date(2026, 10, 11))


def test_four_working_hours_from_friday_afternoon_end_on_monday_morning():
    friday = at(2026, 11, 20, 16, 0)  # Friday 16:00, two hours left that day
    assert calendar.add_working_time(friday, dt.timedelta(hours=4)) == at(2026, 11, 23, 11, 0)


def test_working_time_skips_the_lunch_break():
    assert calendar.add_working_time(at(2026, 11, 23, 11, 30), dt.timedelta(hours=1)) == at(
        2026, 11, 23, 13, 30
    )


def test_a_limit_running_into_national_day_resumes_after_the_holiday():
    start = at(2026, 9, 30, 17, 0)  # Wednesday, last working hour before the 1–7 October holiday
    assert calendar.add_working_time(start, dt.timedelta(hours=2)) == at(2026, 10, 8, 10, 0)


def test_working_time_counts_a_make_up_sunday():
    start = at(2026, 9, 19, 10, 0)  # Saturday, not worked; Sunday the 20th is worked (调休)
    assert calendar.add_working_time(start, dt.timedelta(hours=1)) == at(2026, 9, 20, 10, 0)


def test_working_time_between_excludes_nights_weekends_and_holidays():
    assert calendar.working_time_between(at(2026, 11, 20, 17, 0), at(2026, 11, 23, 10, 0)) == dt.timedelta(
        hours=2
    )
    assert calendar.working_time_between(at(2026, 10, 1, 9), at(2026, 10, 7, 18)) == dt.timedelta(0)
    assert calendar.working_time_between(at(2026, 11, 23, 10), at(2026, 11, 23, 9)) == dt.timedelta(0)


def test_fifteen_working_days_skip_weekends_and_holidays():
    # Mid-autumn 25–27 Sep, National Day 1–7 Oct, Saturday 10 Oct worked.
    assert calendar.add_working_days(dt.date(2026, 9, 25), 15) == dt.date(2026, 10, 22)
    assert calendar.working_days_between(dt.date(2026, 9, 25), dt.date(2026, 10, 22)) == 15


def test_a_year_without_schedule_falls_back_to_monday_to_friday_and_is_reported():
    assert not calendar.has_schedule(2027)
    assert calendar.years_without_schedule(2026, 2027) == [2027]
    assert calendar.is_working_day(dt.date(2027, 1, 1))  # a Friday; no schedule yet, so it counts
    assert not calendar.is_working_day(dt.date(2027, 1, 2))
    assert calendar.add_working_time(at(2026, 12, 31, 17), dt.timedelta(hours=2)) == at(2027, 1, 1, 10)


def test_an_entered_schedule_takes_effect_for_the_new_year(users):
    holidays = parse_schedule("2027-01-01 元旦\n2027-02-06..2027-02-12 春节", field="holidays")
    workdays = parse_schedule("2027-02-14 春节", field="workdays")
    calendar_year_save(
        actor=users["manager"], year=2027, holidays=holidays, workdays=workdays, note="国办发明电"
    )
    calendar.reset_cache()
    assert calendar.has_schedule(2027)
    assert not calendar.is_working_day(dt.date(2027, 1, 1))
    assert calendar.is_working_day(dt.date(2027, 2, 14))
    assert calendar.add_working_time(at(2026, 12, 31, 17), dt.timedelta(hours=2)) == at(2027, 1, 4, 10)
    assert CalendarYear.objects.get(year=2027).source == CalendarYear.Source.MANUAL


def test_schedule_input_errors_name_the_line():
    with pytest.raises(ValidationFailed) as caught:
        parse_schedule("2027-01-01 元旦\n明年元旦\n2027-02-30 春节", field="holidays")
    assert len(caught.value.detail["holidays"]) == 2
    assert "2" in caught.value.detail["holidays"][0]


@pytest.mark.parametrize(
    "text",
    [
        "2027-02-06至2027-02-12 春节",
        "2027/2/6 ~ 2027/2/12 春节",
        "2027年2月6日--2027年2月12日 春节",
        "2027-02-06 - 2027-02-12 春节",
    ],
)
def test_ranges_are_read_in_the_usual_ways(text):
    days = parse_schedule(text, field="holidays")
    assert [d for d, _n in days] == [dt.date(2027, 2, 6) + dt.timedelta(days=i) for i in range(7)]
    assert {n for _d, n in days} == {"春节"}


def test_format_and_parse_round_trip():
    days = parse_schedule("2027-01-01 元旦\n2027-02-06..2027-02-12 春节", field="h")
    assert format_schedule(days) == "2027-01-01 元旦\n2027-02-06..2027-02-12 春节"


def test_saving_a_schedule_checks_the_days(users):
    with pytest.raises(ValidationFailed) as caught:
        calendar_year_save(
            actor=users["manager"],
            year=2027,
            holidays=[(dt.date(2028, 1, 1), "元旦")],
            workdays=[(dt.date(2027, 3, 3), "x")],
        )
    assert {"holidays", "workdays"} <= set(caught.value.detail)
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_only_managers_may_enter_a_schedule(users):
    with pytest.raises(PermissionDenied):
        calendar_year_save(actor=users["agent"], year=2027, holidays=[], workdays=[])


def test_calendar_pages_warn_admins_and_let_them_enter_a_year(users, client_as):
    client = client_as(users["manager"])
    home = client.get("/").content.decode()
    assert 'data-testid="calendar-warning"' in home and "2027" in home
    page = client.get("/records/calendar/2027/")
    assert page.status_code == 200 and 'data-testid="calendar-missing"' in page.content.decode()
    response = client.post(
        "/records/calendar/2027/", {"holidays": "2027-01-01 元旦", "workdays": "", "note": ""}
    )
    assert response.status_code == 302
    calendar.reset_cache()
    assert 'data-testid="calendar-warning"' not in client.get("/").content.decode()


def test_agents_neither_see_the_warning_nor_the_calendar_pages(users, client_as):
    client = client_as(users["agent"])
    assert 'data-testid="calendar-warning"' not in client.get("/").content.decode()
    assert client.get("/records/calendar/").status_code == 403


def test_calendar_api_due_time_and_year(users, api_as):
    client = api_as(users["manager"])
    response = client.get("/api/v1/calendar/due", {"hours": 4, "start": "2026-11-20T16:00:00+08:00"})
    assert response.status_code == 200
    assert response.json()["due"].startswith("2026-11-23T11:00:00")
    put = client.put(
        "/api/v1/calendar/years/2027",
        {"holidays": [{"date": "2027-01-01", "name": "元旦"}]},
        content_type="application/json",
    )
    assert put.status_code == 200 and put.json()["has_schedule"] is True
    bad = client.get("/api/v1/calendar/due", {"hours": -1})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"


def test_working_hours_are_a_policy_with_versions(users, client_as):
    from kefu.core.models import WorkingHours

    client = client_as(users["manager"])
    form = {
        "effective_from": "2026-01-01",
        "morning_start": "08:30",
        "morning_end": "12:00",
        "afternoon_start": "13:30",
        "afternoon_end": "17:30",
        "note": "冬季作息",
    }
    assert client.post("/records/calendar/", form).status_code == 302
    hours = WorkingHours.in_force()
    assert (hours.morning_start, hours.afternoon_end) == (dt.time(8, 30), dt.time(17, 30))
    assert calendar.add_working_time(at(2026, 11, 23, 17), dt.timedelta(hours=1)) == at(2026, 11, 24, 9)
    bad = dict(form, morning_end="14:00")
    page = client.post("/records/calendar/", bad)
    assert page.status_code == 200 and WorkingHours.objects.count() == 2
