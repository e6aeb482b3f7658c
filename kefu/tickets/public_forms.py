"""Forms of the public service page: they parse and present; the services decide what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import TicketKind
from kefu.tickets.public_services import MAX_DESCRIPTION, PUBLIC_KINDS

HONEYPOT = "website"


class PublicCaseForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[(kind.value, kind.label) for kind in PUBLIC_KINDS],
        initial=TicketKind.INQUIRY,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    name = forms.CharField(label=_("Your name"), max_length=50)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        help_text=_("You need this phone number, with the case number, to look up the case later."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email (optional)"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Details"),
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happened, when and where; the product or order it concerns."),
    )
    # Left empty by people (it is hidden); bots that fill every field give themselves away.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "kind":
                field.widget.attrs.setdefault("class", "form-control")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get(HONEYPOT):
            # Says no more than any failed submission would; nothing is written.
            raise forms.ValidationError(_("The case could not be submitted. Please try again."))
        return cleaned


class PublicStatusForm(forms.Form):
    number = forms.CharField(
        label=_("Case number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": "GD2026-000123", "autocomplete": "off"}
        ),
    )
    phone = forms.CharField(
        label=_("Phone given with the case"),
        max_length=30,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "tel", "autocomplete": "tel"}),
    )
