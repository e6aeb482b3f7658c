"""Pages of the holiday calendar: which years have a schedule, and entering a year's schedule."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.core import calendar
from kefu.core.calendar_services import (
    calendar_year_save,
    format_schedule,
    parse_schedule,
    working_hours_create,
)
from kefu.core.errors import DomainError
from kefu.core.models import CalendarDay, CalendarYear, WorkingHours
from kefu.core.pages import form_error_from_domain

FIRST_YEAR = 2004


class CalendarYearForm(forms.Form):
    holidays = forms.CharField(
        label=gettext_lazy("Public holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy("One day or range per line, e.g. 2027-02-06..2027-02-12 春节"),
    )
    workdays = forms.CharField(
        label=gettext_lazy("Make-up working days (调休)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy("Weekend days worked, e.g. 2027-02-14 春节"),
    )
    note = forms.CharField(
        label=gettext_lazy("Source"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("e.g. the State Council notice number"),
    )
    COLUMNS = {"holidays": "col-md-6", "workdays": "col-md-6", "note": "col-12"}


class WorkingHoursForm(forms.Form):
    effective_from = forms.DateField(
        label=gettext_lazy("Effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    morning_start = forms.TimeField(
        label=gettext_lazy("Morning starts"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    morning_end = forms.TimeField(
        label=gettext_lazy("Morning ends"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    afternoon_start = forms.TimeField(
        label=gettext_lazy("Afternoon starts"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    afternoon_end = forms.TimeField(
        label=gettext_lazy("Afternoon ends"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)
    COLUMNS = {
        name: "col-md-2"
        for name in (
            "effective_from",
            "morning_start",
            "morning_end",
            "afternoon_start",
            "afternoon_end",
            "note",
        )
    }


@login_required
@permission_required("core.view_calendaryear", raise_exception=True)
def calendar_page(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    current = WorkingHours.in_force()
    hours_form = WorkingHoursForm(
        request.POST or None,
        initial={
            "effective_from": today,
            "morning_start": current.morning_start,
            "morning_end": current.morning_end,
            "afternoon_start": current.afternoon_start,
            "afternoon_end": current.afternoon_end,
        },
    )
    if request.method == "POST" and hours_form.is_valid():
        try:
            working_hours_create(actor=request.user, **hours_form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(hours_form, exc)
        else:
            messages.success(request, _("The new working hours were saved."))
            return redirect("core:calendar")
    entries = {entry.year: entry for entry in CalendarYear.objects.select_related("updated_by")}
    counts: dict[int, dict[str, int]] = {}
    for date, kind in CalendarDay.objects.values_list("date", "kind"):
        counts.setdefault(date.year, {"holiday": 0, "workday": 0})[kind] += 1
    years = []
    for year in range(today.year + 1, FIRST_YEAR - 1, -1):
        entry = entries.get(year)
        years.append(
            {
                "year": year,
                "entry": entry,
                "holidays": counts.get(year, {}).get("holiday", 0),
                "workdays": counts.get(year, {}).get("workday", 0),
            }
        )
    return render(
        request,
        "core/calendar.html",
        {
            "years": years,
            "missing": calendar.years_without_schedule(),
            "hours": current,
            "hours_form": hours_form,
            "hours_history": WorkingHours.objects.select_related("created_by").order_by(
                "-effective_from", "-id"
            )[:10],
        },
    )


def _month_grid(year: int) -> list[dict[str, Any]]:
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            weeks.append(
                [
                    {
                        "date": day,
                        "in_month": day.month == month,
                        "working": calendar.is_working_day(day),
                        "holiday": calendar.holiday_name(day),
                        "weekend": day.weekday() >= 5,
                    }
                    for day in week
                ]
            )
        months.append({"month": month, "weeks": weeks})
    return months


@login_required
@permission_required("core.view_calendaryear", raise_exception=True)
def calendar_year_page(request: HttpRequest, year: int) -> HttpResponse:
    if not FIRST_YEAR <= year <= 2100:
        raise Http404
    can_edit = request.user.has_perm("core.change_calendaryear")
    entry = CalendarYear.objects.filter(year=year).first()
    days = CalendarDay.objects.filter(date__year=year)
    initial = {
        "holidays": format_schedule((d.date, d.name) for d in days if d.kind == CalendarDay.Kind.HOLIDAY),
        "workdays": format_schedule((d.date, d.name) for d in days if d.kind == CalendarDay.Kind.WORKDAY),
        "note": entry.note if entry else "",
    }
    form = CalendarYearForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if form.is_valid():
            try:
                holidays = parse_schedule(form.cleaned_data["holidays"], field="holidays")
                workdays = parse_schedule(form.cleaned_data["workdays"], field="workdays")
                calendar_year_save(
                    actor=request.user,
                    year=year,
                    holidays=holidays,
                    workdays=workdays,
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                calendar.reset_cache()
                messages.success(request, _("The %(year)d schedule was saved.") % {"year": year})
                return redirect("core:calendar_year", year=year)
    return render(
        request,
        "core/calendar_year.html",
        {
            "year": year,
            "entry": entry,
            "form": form,
            "can_edit": can_edit,
            "months": _month_grid(year),
            "has_schedule": calendar.has_schedule(year),
            "working_days": sum(
                1
                for m in range(1, 13)
                for d in range(1, pycalendar.monthrange(year, m)[1] + 1)
                if calendar.is_working_day(dt.date(year, m, d))
            ),
        },
    )
