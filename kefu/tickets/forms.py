"""Forms of the ticket pages: they only parse and present input; the services decide what is valid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, User
from kefu.customers.models import CustomerKind
from kefu.tickets.models import (
    AfterSalesType,
    AssignMode,
    CannedReplyCategory,
    Channel,
    ComplaintCategory,
    EventKind,
    Priority,
    Severity,
    TicketGroup,
    TicketKind,
)

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXTAREA = forms.Textarea(attrs={"rows": 3})
YES_NO_UNKNOWN = [("", _("Not decided yet")), ("1", _("Yes")), ("0", _("No"))]


def handlers() -> Any:
    """People who may be given tickets; the service checks the right again."""
    return User.objects.filter(is_active=True).order_by("full_name", "id")


def optional_bool(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


class TicketForm(forms.Form):
    """The case itself, used by the general intake page and by the "open a case" part of phone intake."""

    kind = forms.ChoiceField(label=_("Kind"), choices=TicketKind.choices, initial=TicketKind.INQUIRY)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.HOTLINE)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    severity = forms.ChoiceField(
        label=_("Severity (complaints)"), choices=[("", "—"), *Severity.choices], required=False
    )
    subject = forms.CharField(label=_("Question / subject"), max_length=200)
    description = forms.CharField(label=_("Event (what happened)"), required=False, widget=TEXTAREA)
    occurred_at = forms.DateTimeField(label=_("Time of the event"), required=False, widget=DATETIME)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    contact_qq = forms.CharField(label=_("QQ"), max_length=20, required=False)
    contact_email = forms.CharField(label=_("Email"), max_length=254, required=False)
    apologised = forms.BooleanField(label=_("Apology given"), required=False)
    group = forms.ModelChoiceField(label=_("Group"), queryset=TicketGroup.objects.none(), required=False)
    assignee = forms.ModelChoiceField(
        label=_("Responsible person"), queryset=User.objects.none(), required=False
    )
    callback_due_at = forms.DateTimeField(label=_("Call back by"), required=False, widget=DATETIME)
    # After-sales details, used when the kind is after-sales.
    case_type = forms.ChoiceField(
        label=_("After-sales type"), choices=[("", "—"), *AfterSalesType.choices], required=False
    )
    order_number = forms.CharField(label=_("Order number"), max_length=64, required=False)
    buyer_id = forms.CharField(label=_("Customer ID on the platform"), max_length=64, required=False)
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    COLUMNS = {"subject": "col-md-8"}
    AFTER_SALES = ("case_type", "order_number", "buyer_id", "reason")

    def __init__(self, *args: Any, can_assign: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = TicketGroup.objects.filter(active=True)
        if can_assign:
            self.fields["assignee"].queryset = handlers()
        else:
            del self.fields["assignee"]

    TEXT_FIELDS = (
        "kind",
        "channel",
        "priority",
        "severity",
        "subject",
        "description",
        "place",
        "contact_name",
        "contact_phone",
        "contact_qq",
        "contact_email",
    )

    def input_values(self) -> dict[str, Any]:
        """The keyword arguments of TicketInput (without customer and answer)."""
        data = self.cleaned_data
        values: dict[str, Any] = {name: data.get(name) or "" for name in self.TEXT_FIELDS}
        for name in ("occurred_at", "callback_due_at", "group", "assignee"):
            values[name] = data.get(name)
        values["apologised"] = bool(data.get("apologised"))
        if data.get("kind") == TicketKind.AFTER_SALES:
            values["after_sales"] = {name: data.get(name) or "" for name in self.AFTER_SALES}
        return values


class IntakeForm(TicketForm):
    """Phone intake: the case fields plus the caller's customer and the answer given at once."""

    customer = forms.IntegerField(widget=forms.HiddenInput, required=False)
    answer = forms.CharField(label=_("Answer given"), required=False, widget=TEXTAREA)
    mode = forms.ChoiceField(
        choices=[("answer", _("Answer now")), ("open", _("Open a case"))], widget=forms.HiddenInput
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "answer" and not (data.get("answer") or "").strip():
            self.add_error("answer", _("Write the answer that was given."))
        return data


class QuickCustomerForm(forms.Form):
    """A customer created during a call, with only what the caller said; the rest comes later."""

    kind = forms.ChoiceField(label=_("Kind"), choices=CustomerKind.choices, initial=CustomerKind.PERSON)
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=30)


class ReplyForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[
            (EventKind.REPLY, _("Reply to the customer")),
            (EventKind.NOTE, _("Internal note")),
            (EventKind.CALL, _("Call")),
        ],
        initial=EventKind.REPLY,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    body = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    attachment = forms.FileField(label=_("Attachment"), required=False)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Responsible person"), queryset=User.objects.none(), required=False
    )
    group = forms.ModelChoiceField(label=_("Group"), queryset=TicketGroup.objects.none(), required=False)
    reason = forms.CharField(label=_("Reason for the transfer"), max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    COLUMNS = {"assignee": "col-12", "group": "col-12", "reason": "col-12"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = handlers()
        self.fields["group"].queryset = TicketGroup.objects.filter(active=True)


def _same(current: Any, entered: Any) -> bool:
    """Whether a field was left as it was; the page shows times to the minute and "" for nothing."""
    if isinstance(current, dt.datetime) or isinstance(entered, dt.datetime):
        if current is None or entered is None:
            return current is None and entered is None
        return current.replace(second=0, microsecond=0) == entered.replace(second=0, microsecond=0)
    return (current or "") == (entered or "")


class TicketEditForm(forms.Form):
    """The case details on the ticket page; only the fields the editor changed go to the service."""

    subject = forms.CharField(label=_("Question / subject"), max_length=200)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, required=False)
    category = forms.ModelChoiceField(
        label=_("Complaint category"), queryset=ComplaintCategory.objects.none(), required=False
    )
    description = forms.CharField(label=_("Event (what happened)"), required=False, widget=TEXTAREA)
    occurred_at = forms.DateTimeField(label=_("Time of the event"), required=False, widget=DATETIME)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    contact_qq = forms.CharField(label=_("QQ"), max_length=20, required=False)
    contact_email = forms.CharField(label=_("Email"), max_length=254, required=False)
    callback_due_at = forms.DateTimeField(label=_("Call back by"), required=False, widget=DATETIME)
    version = forms.IntegerField(widget=forms.HiddenInput)

    COLUMNS = {"subject": "col-md-8"}
    INLINE_VALIDATE = {
        "subject",
        "severity",
        "occurred_at",
        "contact_phone",
        "contact_qq",
        "contact_email",
        "callback_due_at",
    }

    def __init__(self, *args: Any, ticket: Any, reveal_phone: bool, **kwargs: Any) -> None:
        if not args and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(ticket, reveal_phone=reveal_phone)
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        self.reveal_phone = reveal_phone
        self.validate_url = reverse("tickets:edit_validate", args=[ticket.pk])
        if ticket.is_complaint:
            self.fields["severity"].required = True
            # A category no longer in use stays choosable on the complaint that already has it.
            self.fields["category"].queryset = ComplaintCategory.objects.filter(
                Q(active=True) | Q(pk=ticket.category_id or 0)
            )
        else:
            del self.fields["severity"]
            del self.fields["category"]
        if not reveal_phone:
            self.fields["contact_phone"].help_text = _(
                "Shown masked to your role: leave it empty to keep the number, or type a new one."
            )

    @classmethod
    def initial_for(cls, ticket: Any, *, reveal_phone: bool) -> dict[str, Any]:
        initial = {name: getattr(ticket, name) for name in cls.base_fields if name not in ("category",)}
        initial["category"] = ticket.category_id
        initial["occurred_at"] = timezone.localtime(ticket.occurred_at) if ticket.occurred_at else None
        initial["callback_due_at"] = (
            timezone.localtime(ticket.callback_due_at) if ticket.callback_due_at else None
        )
        if not reveal_phone:
            initial["contact_phone"] = ""
        return initial

    def changed_values(self) -> dict[str, Any]:
        """The fields whose value differs from the ticket's, as the service takes them."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        for name in self.fields:
            if name == "version":
                continue
            entered = data.get(name)
            if name == "contact_phone" and not self.reveal_phone and not entered:
                continue
            current = self.ticket.category if name == "category" else getattr(self.ticket, name)
            if name in ("priority", "severity", "subject", "description", "place") or name.startswith(
                "contact"
            ):
                entered = (entered or "").strip()
            if not _same(current, entered):
                changes[name] = entered
        return changes


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class StepForm(forms.Form):
    step = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("What was done"), required=False, widget=TEXTAREA)
    category = forms.ModelChoiceField(
        label=_("Complaint category"), queryset=ComplaintCategory.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ComplaintCategory.objects.filter(active=True)


class ApprovalRequestForm(forms.Form):
    proposal = forms.CharField(label=_("Proposed solution"), required=False, widget=TEXTAREA)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(
        label=_("Instruction / reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AfterSalesForm(forms.Form):
    case_type = forms.ChoiceField(label=_("Type"), choices=AfterSalesType.choices)
    order_number = forms.CharField(label=_("Order number"), max_length=64, required=False)
    buyer_id = forms.CharField(label=_("Customer ID on the platform"), max_length=64, required=False)
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    quality_problem = forms.ChoiceField(label=_("Quality problem"), choices=YES_NO_UNKNOWN, required=False)
    product_intact = forms.ChoiceField(
        label=_("Product intact and re-sellable"), choices=YES_NO_UNKNOWN, required=False
    )
    exchange_item = forms.CharField(label=_("Item wanted in exchange"), max_length=200, required=False)
    return_tracking_number = forms.CharField(label=_("Return tracking number"), max_length=64, required=False)
    customer_advanced_shipping = forms.CharField(
        label=_("Return shipping advanced by the customer"), max_length=20, required=False
    )
    refund_amount = forms.CharField(label=_("Refund amount"), max_length=20, required=False)
    review_platform = forms.CharField(label=_("Platform"), max_length=50, required=False)
    review_text = forms.CharField(label=_("Review"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["quality_problem"] = optional_bool(data.get("quality_problem"))
        data["product_intact"] = optional_bool(data.get("product_intact"))
        return data


class RemarkForm(forms.Form):
    change = forms.CharField(label=_("The customer asked to change to"), max_length=200, required=False)


class SavedFilterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("assign", _("Assign")), ("close", _("Close"))])
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = handlers()


# --- settings ----------------------------------------------------------------------------------


class SlaPolicyForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE)
    at_risk_percent = forms.IntegerField(
        # xgettext:no-python-format
        label=_("At risk after (% of the limit used)"),
        initial=80,
    )
    manager_after_minutes = forms.IntegerField(
        label=_("Escalate to the manager after a breach of (working minutes)"), initial=120
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].initial = timezone.localdate() + dt.timedelta(days=1)


class SlaTargetForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any")), *TicketKind.choices], required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("Any")), *Priority.choices], required=False
    )
    tier = forms.ChoiceField(
        label=_("Customer tier"), choices=[("", _("Any")), ("A", "A"), ("B", "B"), ("C", "C")], required=False
    )
    first_response_minutes = forms.IntegerField(label=_("First response (working minutes)"), required=False)
    resolution_minutes = forms.IntegerField(label=_("Resolution (working minutes)"), required=False)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return data.get("first_response_minutes") is None and data.get("resolution_minutes") is None


SlaTargetFormSet = forms.formset_factory(SlaTargetForm, extra=3)


class CannedReplyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=CannedReplyCategory.choices)
    title = forms.CharField(label=_("Title"), max_length=100)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Placeholders: {customer_name}, {agent_name}, {ticket_number}"),
    )
    sort_order = forms.IntegerField(label=_("Order"), min_value=0, initial=0, required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class TicketGroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    assign_mode = forms.ChoiceField(label=_("Automatic assignment"), choices=AssignMode.choices)
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    COLUMNS = {"members": "col-md-8"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(is_active=True)
        self.fields["members"].queryset = handlers()


class ComplaintCategoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    sort_order = forms.IntegerField(label=_("Order"), min_value=0, initial=0, required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


# --- complaint reports -------------------------------------------------------------------------


class CauseAnalysisForm(forms.Form):
    """The monthly cause analysis; month and department come from the report it is written on."""

    month = forms.CharField(widget=forms.HiddenInput, max_length=7)
    department = forms.IntegerField(widget=forms.HiddenInput, required=False)
    causes = forms.CharField(label=_("Main causes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    proposals = forms.CharField(
        label=_("Proposals for improvement"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    follow_up_owner = forms.ModelChoiceField(
        label=_("Follow-up owner"), queryset=User.objects.none(), required=False
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    COLUMNS = {"follow_up_owner": "col-12"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["follow_up_owner"].queryset = handlers()

    def clean_month(self) -> dt.date:
        value = self.cleaned_data["month"]
        try:
            year, month = (int(part) for part in value.split("-"))
            return dt.date(year, month, 1)
        except ValueError as exc:
            raise forms.ValidationError(_("Choose a month.")) from exc
