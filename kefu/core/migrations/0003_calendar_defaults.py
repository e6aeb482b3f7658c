"""Seed the holiday calendar from chinesecalendar (2004–2026) and the default working hours.

Later years are entered by an administrator from the State Council's notice; until then the
calendar treats them as Monday–Friday and warns.
"""

import datetime as dt

from django.db import migrations

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def seed(apps, schema_editor):
    import chinese_calendar

    CalendarYear = apps.get_model("core", "CalendarYear")
    CalendarDay = apps.get_model("core", "CalendarDay")
    WorkingHours = apps.get_model("core", "WorkingHours")
    rows = [(day, "holiday", name) for day, name in chinese_calendar.holidays.items()]
    rows += [(day, "workday", name) for day, name in chinese_calendar.workdays.items()]
    years = {}
    for year in sorted({day.year for day, _kind, _name in rows}):
        years[year], _ = CalendarYear.objects.get_or_create(
            year=year, defaults={"source": "seeded", "note": "chinesecalendar"}
        )
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(calendar_year=years[day.year], date=day, kind=kind, name=HOLIDAY_NAMES.get(name, name or ""))
            for day, kind, name in sorted(rows)
            if day not in existing
        ]
    )
    if not WorkingHours.objects.exists():
        WorkingHours.objects.create(
            effective_from=dt.date(2000, 1, 1), morning_start=dt.time(9), morning_end=dt.time(12),
            afternoon_start=dt.time(13), afternoon_end=dt.time(18), note="默认值",
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0002_calendar")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
