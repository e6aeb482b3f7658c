"""Forms of the visit pages: input parsing only; rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User
from kefu.customers.models import ContactChannel
from kefu.tickets.models import TicketKind
from kefu.visits.models import ACTIVITY_PURPOSES, Outcome, Satisfaction, VisitPurpose, VisitRole


def visitors() -> QuerySet[User]:
    """Active staff whose roles let them work return visits."""
    return (
        User.objects.filter(
            is_active=True,
            groups__permissions__codename="change_visit",
            groups__permissions__content_type__app_label="visits",
        )
        .distinct()
        .order_by("full_name", "username")
    )


class AttemptForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2**31 - 1)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    booked_at = forms.DateTimeField(
        label=_("Call back at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        choices=[("", "—"), *Satisfaction.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    summary = forms.CharField(
        label=_("Summary"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ContactChannel.choices, initial=ContactChannel.PHONE, required=False
    )
    issue_subject = forms.CharField(label=_("Issue raised (opens a ticket)"), required=False, max_length=200)
    issue_kind = forms.ChoiceField(
        label=_("Ticket kind"), choices=TicketKind.choices, initial=TicketKind.INQUIRY, required=False
    )
    issue_description = forms.CharField(
        label=_("Issue details"), required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )


class _ChoosesVisitor(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = visitors()


class AssignForm(_ChoosesVisitor):
    assignee = forms.ModelChoiceField(label=_("Visitor"), queryset=User.objects.none())
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class VisitCreateForm(_ChoosesVisitor):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=VisitPurpose.choices)
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[("manual", _("By hand")), ("service", _("Field service"))],
    )
    reference = forms.CharField(label=_("Reference (work order …)"), required=False, max_length=100)
    due_on = forms.DateField(label=_("Due from"), widget=forms.DateInput(attrs={"type": "date"}))
    deadline = forms.DateField(
        label=_("To be done by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    role = forms.ChoiceField(label=_("Who visits"), choices=VisitRole.choices, initial=VisitRole.AGENT)
    assignee = forms.ModelChoiceField(
        label=_("Visitor"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("Empty: chosen by the cadence's rule (owner, then an agent of the department)."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ActivityForm(forms.Form):
    purpose = forms.ChoiceField(
        label=_("Activity"), choices=[(p.value, p.label) for p in VisitPurpose if p in ACTIVITY_PURPOSES]
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    summary = forms.CharField(
        label=_("What was given or announced"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class BulkCreateForm(_ChoosesVisitor):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=VisitPurpose.choices)
    due_on = forms.DateField(label=_("Due from"), widget=forms.DateInput(attrs={"type": "date"}))
    deadline = forms.DateField(
        label=_("To be done by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assignee = forms.ModelChoiceField(
        label=_("Visitor"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text=_("Empty: the customer's owner if an agent, else an agent of the customer's department."),
    )
    note = forms.CharField(label=_("Reference"), required=False, max_length=100)


class CadencePolicyForm(forms.Form):
    effective_from = forms.DateField(
        label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    rules = forms.CharField(
        label=_("Rules"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}),
        help_text=_("One rule a line: code, role, tiers, months — e.g. “centre, agent, ABC, 1”."),
    )
    follow_up_months = forms.IntegerField(
        label=_("Complaint follow-up after (months)"), min_value=0, max_value=24
    )
    purchase_delay_days = forms.IntegerField(
        label=_("After-purchase visit after (days)"), min_value=0, max_value=365
    )
    win_back_delay_days = forms.IntegerField(
        label=_("Lost-customer visit after (days)"), min_value=0, max_value=365
    )
    open_days = forms.IntegerField(
        label=_("Working days to finish a visit of another source"), min_value=0, max_value=365
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def clean_rules(self) -> list[dict[str, object]]:
        rules = []
        for number, line in enumerate(self.cleaned_data["rules"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.replace(",", ",").split(",")]
            if len(parts) != 4 or not parts[3].isdigit():
                raise forms.ValidationError(_("Line %(n)d: write code, role, tiers, months.") % {"n": number})
            rules.append(
                {"code": parts[0], "role": parts[1], "tiers": parts[2], "every_months": int(parts[3])}
            )
        return rules


class RetryPolicyForm(forms.Form):
    effective_from = forms.DateField(
        label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    attempts_before_callback = forms.IntegerField(
        label=_("Unanswered attempts before a call-back task"), min_value=1, max_value=20
    )
    retry_delay_minutes = forms.IntegerField(
        label=_("Try again after (minutes)"), min_value=1, max_value=10080
    )
    callback_within_hours = forms.IntegerField(
        label=_("Call back within (working hours)"), min_value=1, max_value=720
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class ScriptForm(forms.Form):
    greeting = forms.CharField(label=_("Greeting"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    ask_time = forms.CharField(
        label=_("If the customer has no time"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    questions = forms.CharField(
        label=_("Questions (one a line)"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    closing = forms.CharField(label=_("Closing"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    silent_line = forms.CharField(
        label=_("Silent line / cannot hear"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    second_call = forms.CharField(
        label=_("Calling a second time"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_questions(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["questions"].splitlines() if line.strip()]
