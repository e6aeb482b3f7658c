"""Forms only parse and present input; the services decide what is valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, User
from kefu.core.masking import masked
from kefu.customers.models import (
    ContactChannel,
    CustomerKind,
    DocumentKind,
    Lifecycle,
    Tier,
    TradeKind,
)
from kefu.customers.services import CONTACT_FIELDS, CUSTOMER_FIELDS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _mask(form: forms.Form, fields: tuple[str, ...]) -> None:
    """Someone who may not see a phone or ID number sees it masked, and cannot change it here."""
    kinds = {"id_number": "id_number"}
    for name in fields:
        form.fields[name].disabled = True
        form.initial[name] = masked(form.initial.get(name), kinds.get(name, "phone"), reveal=False)


class CustomerForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=50, required=False)
    phone = forms.CharField(label=_("Main phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"), choices=Lifecycle.choices, initial=Lifecycle.POTENTIAL
    )
    lost_reason = forms.CharField(label=_("Reason lost"), max_length=300, required=False)
    province = forms.CharField(label=_("Province"), max_length=20, required=False)
    city = forms.CharField(label=_("City"), max_length=30, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    industry = forms.CharField(label=_("Industry"), max_length=50, required=False)
    source = forms.CharField(label=_("Source"), max_length=50, required=False)
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    # qualification
    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=50, required=False)
    registered_capital = forms.DecimalField(
        label=_("Registered capital (10k yuan)"), required=False, min_value=0, decimal_places=2, max_digits=14
    )
    licence_valid_until = forms.DateField(
        label=_("Business licence valid until"), required=False, widget=DATE
    )
    tax_registration_number = forms.CharField(
        label=_("Tax registration number"), max_length=30, required=False
    )
    # person / member
    id_number = forms.CharField(label=_("ID number"), max_length=18, required=False)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), ("m", _("Male")), ("f", _("Female"))], required=False
    )
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DATE)
    member_number = forms.CharField(label=_("Member card number"), max_length=30, required=False)
    member_since = forms.DateField(label=_("Member since"), required=False, widget=DATE)
    # scale and production
    is_vip = forms.BooleanField(label=_("On the VIP list"), required=False)
    brand_value = forms.BooleanField(label=_("Brand-promotion value"), required=False)
    annual_tons = forms.DecimalField(
        label=_("Scale (tons/year)"), required=False, min_value=0, decimal_places=2, max_digits=12
    )
    investment = forms.DecimalField(
        label=_("Production investment (10k yuan)"),
        required=False,
        min_value=0,
        decimal_places=2,
        max_digits=14,
    )
    production_process = forms.CharField(
        label=_("Production process"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    raw_materials = forms.CharField(
        label=_("Raw materials"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    production_notes = forms.CharField(
        label=_("Production notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # credit
    credit_rating = forms.ChoiceField(
        label=_("Credit rating"),
        required=False,
        choices=[("", "—"), ("AAA", "AAA"), ("AA", "AA"), ("A", "A"), ("B", "B"), ("C", "C")],
    )
    credit_limit = forms.DecimalField(
        label=_("Credit limit (yuan)"), required=False, min_value=0, decimal_places=2, max_digits=14
    )
    credit_checked_on = forms.DateField(label=_("Credit checked on"), required=False, widget=DATE)
    credit_status = forms.CharField(
        label=_("Credit status"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # ownership
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False
    )
    sms_opt_out = forms.BooleanField(label=_("No marketing messages"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    COLUMNS = {"production_process": "col-md-6", "raw_materials": "col-md-6"}
    INLINE_VALIDATE = {
        "name",
        "phone",
        "email",
        "credit_code",
        "id_number",
        "member_number",
        "birthday",
        "annual_tons",
    }
    validate_url = reverse_lazy("customers:validate")
    SECTIONS = [
        (
            _("Basic information"),
            [
                "kind",
                "name",
                "short_name",
                "phone",
                "email",
                "lifecycle",
                "lost_reason",
                "province",
                "city",
                "address",
                "postcode",
                "industry",
                "source",
                "website",
            ],
        ),
        (
            _("Legal qualification"),
            [
                "credit_code",
                "legal_representative",
                "registered_capital",
                "licence_valid_until",
                "tax_registration_number",
            ],
        ),
        (_("Person / member"), ["id_number", "gender", "birthday", "member_number", "member_since"]),
        (
            _("Scale and production"),
            [
                "is_vip",
                "brand_value",
                "annual_tons",
                "investment",
                "production_process",
                "raw_materials",
                "production_notes",
            ],
        ),
        (_("Credit"), ["credit_rating", "credit_limit", "credit_checked_on", "credit_status"]),
        (_("Ownership"), ["owner", "department", "sms_opt_out", "notes"]),
    ]

    def __init__(
        self, *args: Any, can_assign: bool = True, masked_fields: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by("full_name", "username")
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        if not can_assign:
            self.fields["owner"].disabled = True
            self.fields["department"].disabled = True
        _mask(self, masked_fields)
        self.fields["name"].widget.attrs["autofocus"] = True

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def service_data(self) -> dict[str, Any]:
        data = {
            k: v for k, v in self.cleaned_data.items() if k in CUSTOMER_FIELDS and not self.fields[k].disabled
        }
        for key, value in list(data.items()):
            if (
                value is None
                and key not in ("owner", "department")
                and isinstance(self.fields[key], forms.CharField)
            ):
                data[key] = ""
        return data


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    title = forms.CharField(label=_("Job title"), max_length=50, required=False)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), ("m", _("Male")), ("f", _("Female"))], required=False
    )
    mobile = forms.CharField(label=_("Mobile"), max_length=30, required=False)
    telephone = forms.CharField(label=_("Telephone"), max_length=30, required=False)
    qq = forms.CharField(label=_("QQ"), max_length=20, required=False)
    wechat = forms.CharField(label=_("WeChat"), max_length=50, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    birthday = forms.DateField(label=_("Birthday"), required=False, widget=DATE)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    notes = forms.CharField(
        label=_("Notes"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    COLUMNS = {"address": "col-md-8"}

    def __init__(self, *args: Any, masked_fields: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _mask(self, masked_fields)

    def service_data(self) -> dict[str, Any]:
        return {
            k: v for k, v in self.cleaned_data.items() if k in CONTACT_FIELDS and not self.fields[k].disabled
        }


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("File"))
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices)
    title = forms.CharField(
        label=_("Title"), max_length=200, required=False, help_text=_("Defaults to the file name.")
    )
    important = forms.BooleanField(label=_("Important (borrowing needs approval)"), required=False)
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)


class TradeForm(forms.Form):
    traded_on = forms.DateField(label=_("Date"), widget=DATE, initial=timezone.localdate)
    kind = forms.ChoiceField(label=_("Kind"), choices=TradeKind.choices)
    product = forms.CharField(label=_("Product"), max_length=200, required=False)
    quantity_tons = forms.DecimalField(
        label=_("Quantity (tons)"), required=False, min_value=0, decimal_places=2, max_digits=12
    )
    amount = forms.DecimalField(label=_("Amount (yuan)"), decimal_places=2, max_digits=14)
    reference = forms.CharField(label=_("Reference number"), max_length=50, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)


class ContactRecordForm(forms.Form):
    COLUMNS = {"summary": "col-12"}

    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    happened_at = forms.DateTimeField(
        label=_("Time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        initial=lambda: timezone.localtime().replace(second=0, microsecond=0),
    )
    summary = forms.CharField(label=_("Summary"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class TierForm(forms.Form):
    tier = forms.ChoiceField(
        label=_("Tier"),
        choices=[("policy", _("Follow the tier policy"))]
        + [(v or "none", label) for v, label in Tier.choices],
    )
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class BorrowForm(forms.Form):
    purpose = forms.CharField(label=_("Purpose"), max_length=300)
    due_back_on = forms.DateField(
        label=_("To be returned by"), widget=DATE, initial=lambda: timezone.localdate() + dt.timedelta(days=7)
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Excel file (.xlsx)"))
    update_existing = forms.BooleanField(
        label=_("Update duplicates instead of skipping them"),
        required=False,
        help_text=_("A row is a duplicate when its credit code or phone is already in the archive."),
    )


class TierPolicyForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE, initial=timezone.localdate)
    a_min_tons = forms.DecimalField(
        label=_("Tier A from (tons/year)"), min_value=0, decimal_places=2, max_digits=12
    )
    b_min_tons = forms.DecimalField(
        label=_("Tier B from (tons/year)"), min_value=0, decimal_places=2, max_digits=12
    )
    brand_value_makes_a = forms.BooleanField(label=_("Brand-promotion value makes tier A"), required=False)
    scale_makes_vip = forms.BooleanField(
        label=_("Reaching tier B scale puts a customer on the VIP list"), required=False
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ChurnPolicyForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE, initial=timezone.localdate)
    days_without_trade = forms.IntegerField(label=_("Days without a trade"), min_value=1, max_value=3650)
    days_without_contact = forms.IntegerField(label=_("Days without contact"), min_value=1, max_value=3650)
    birthday_days_ahead = forms.IntegerField(label=_("Birthday list: days ahead"), min_value=1, max_value=366)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
