"""Forms only parse and present input; the services decide what is valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.messaging.models import Channel, MessageTemplate, Purpose

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    provider_code = forms.CharField(label=_("Provider template code"), max_length=50, required=False)
    signature = forms.CharField(label=_("Signature (签名)"), max_length=30, required=False)
    subject = forms.CharField(label=_("Email subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Text"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Placeholders like ${name}; a promotion must end with the opt-out words, e.g. 拒收请回复R."
        ),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


def parse_params(text: str) -> dict[str, str]:
    """`item=秋季药品` one per line (or separated by ;) → {"item": "秋季药品"}."""
    params: dict[str, str] = {}
    for line in str(text or "").replace(";", "\n").replace("；", "\n").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            params[key.strip()[:50]] = value.strip()[:200]
    return params


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Campaign name"), max_length=100)
    template = forms.ModelChoiceField(label=_("Template"), queryset=MessageTemplate.objects.none())
    params = forms.CharField(
        label=_("Parameters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line: name=value, for each ${…} of the template (${name} is filled in)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MessageTemplate.objects.filter(active=True).order_by(
            "channel", "name"
        )


class OptOutForm(forms.Form):
    customer = forms.CharField(label=_("Customer archive number (KH…)"), max_length=20)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class MessagingPolicyForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE, initial=timezone.localdate)
    per_second = forms.IntegerField(label=_("Messages per second at most"), min_value=1)
    per_minute = forms.IntegerField(label=_("Messages per minute at most"), min_value=1)
    opt_out_words = forms.CharField(label=_("Opt-out words (one of, separated by |)"), max_length=200)
    approval_from_recipients = forms.IntegerField(label=_("Approval from this many recipients"), min_value=1)
    marketing_needs_approval = forms.BooleanField(label=_("Every promotion needs approval"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class CarePolicyForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE, initial=timezone.localdate)
    send_time = forms.TimeField(label=_("Send at"), widget=TIME, initial=dt.time(9, 0))
    birthday_enabled = forms.BooleanField(label=_("Send birthday greetings"), required=False)
    birthday_template = forms.ModelChoiceField(
        label=_("Birthday template"), queryset=MessageTemplate.objects.none(), required=False
    )
    birthday_contacts = forms.BooleanField(label=_("Also greet contacts"), required=False)
    gift_note = forms.CharField(label=_("Gift-pickup note"), max_length=200, required=False)
    holiday_enabled = forms.BooleanField(label=_("Send holiday greetings"), required=False)
    holiday_days_before = forms.IntegerField(label=_("Days before the holiday"), min_value=0, max_value=7)
    tiers = forms.CharField(label=_("Tiers (A,B,C,none; empty = all)"), max_length=20, required=False)
    members_only = forms.BooleanField(label=_("Members (persons) only"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["birthday_template"].queryset = MessageTemplate.objects.filter(
            channel=Channel.SMS, active=True
        )


class HolidayGreetingForm(forms.Form):
    holiday_name = forms.CharField(label=_("Holiday (as in the calendar, e.g. 春节)"), max_length=50)
    template = forms.ModelChoiceField(label=_("Template"), queryset=MessageTemplate.objects.none())
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MessageTemplate.objects.filter(channel=Channel.SMS, active=True)
