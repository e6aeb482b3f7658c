"""Forms of the survey pages: they parse and present input; the services decide what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, User
from kefu.customers.models import CustomerKind, Lifecycle, Tier
from kefu.surveys.models import QuestionKind, SurveyChannel, SurveyTemplate
from kefu.surveys.services import QuestionInput, TemplateInput
from kefu.tickets.models import TicketKind

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def field_name(question: Any) -> str:
    return f"q{question.pk}"


def answers_from_post(post: QueryDict, template: SurveyTemplate) -> dict[str, Any]:
    """{question id: value} from the answer form (a list for multiple choice)."""
    answers: dict[str, Any] = {}
    for question in template.questions.all():
        name = field_name(question)
        if question.kind == QuestionKind.MULTIPLE:
            answers[str(question.pk)] = [v[:100] for v in post.getlist(name)[:50]]
        else:
            answers[str(question.pk)] = post.get(name, "")[:2000]
    return answers


def question_rows(
    template: SurveyTemplate, given: dict[str, Any], errors: dict[str, Any]
) -> list[dict[str, Any]]:
    """What the answer form shows per question: options, the value given, its error."""
    rows = []
    for question in template.questions.all():
        value = given.get(str(question.pk))
        picked = {str(v) for v in value} if isinstance(value, list) else ({str(value)} if value else set())
        rows.append(
            {
                "question": question,
                "name": field_name(question),
                "options": [(v, label, v in picked) for v, label in question.options],
                "text": value if isinstance(value, str) and question.kind == QuestionKind.TEXT else "",
                "errors": errors.get(str(question.pk), []),
            }
        )
    return rows


def staff() -> Any:
    return User.objects.filter(is_active=True).order_by("full_name", "id")


class InviteForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Survey"), queryset=SurveyTemplate.objects.none())
    channel = forms.ChoiceField(
        label=_("Channel"), choices=SurveyChannel.choices, initial=SurveyChannel.PHONE
    )
    served_by = forms.ModelChoiceField(label=_("Served by"), queryset=User.objects.none(), required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    contact_email = forms.CharField(label=_("Email"), max_length=254, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = SurveyTemplate.objects.filter(active=True).order_by("name")
        self.fields["served_by"].queryset = staff()


class RecipientFilterForm(forms.Form):
    """The customer filters of a bulk sending (the customer list's filters)."""

    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any")), *CustomerKind.choices], required=False)
    tier = forms.ChoiceField(
        label=_("Tier"),
        choices=[("", _("Any")), *[(v or "none", label) for v, label in Tier.choices]],
        required=False,
    )
    lifecycle = forms.ChoiceField(
        label=_("Lifecycle"), choices=[("", _("Any")), *Lifecycle.choices], required=False
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False
    )

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        department = data.get("department")
        return {
            "q": data.get("q", ""),
            "kind": data.get("kind", ""),
            "tier": data.get("tier", ""),
            "lifecycle": data.get("lifecycle", ""),
            "department": department.pk if department else None,
        }


class BulkSendForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Survey"), queryset=SurveyTemplate.objects.none())
    channel = forms.ChoiceField(label=_("Channel"), choices=SurveyChannel.choices, initial=SurveyChannel.SMS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = SurveyTemplate.objects.filter(active=True).order_by("name")


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    family = forms.SlugField(
        label=_("Code"),
        max_length=50,
        required=False,
        help_text=_("Letters, digits and hyphens; fixed once created."),
    )
    intro = forms.CharField(label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    active = forms.BooleanField(label=_("In use"), required=False, initial=True)
    send_after_ticket_close = forms.BooleanField(label=_("Send after a ticket closes"), required=False)
    ticket_kinds = forms.MultipleChoiceField(
        label=_("For tickets of these kinds (none: any)"),
        choices=TicketKind.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    auto_channel = forms.ChoiceField(label=_("Send it by"), choices=SurveyChannel.choices)


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    text = forms.CharField(label=_("Question"), max_length=300, required=False)
    choices = forms.CharField(
        label=_("Choices (one a line)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)


QuestionFormSet = forms.formset_factory(QuestionForm, extra=3, max_num=50)


def template_input(form: TemplateForm, formset: Any) -> TemplateInput:
    questions = [
        QuestionInput(
            kind=f.cleaned_data["kind"],
            text=f.cleaned_data["text"],
            choices=[line for line in f.cleaned_data.get("choices", "").splitlines() if line.strip()],
            required=f.cleaned_data.get("required", False),
        )
        for f in formset.forms
        if f.cleaned_data and f.cleaned_data.get("text")
    ]
    data = form.cleaned_data
    return TemplateInput(
        name=data["name"],
        family=data.get("family", ""),
        intro=data.get("intro", ""),
        active=data.get("active", False),
        send_after_ticket_close=data.get("send_after_ticket_close", False),
        ticket_kinds=list(data.get("ticket_kinds") or []),
        auto_channel=data["auto_channel"],
        questions=questions,
    )


class PolicyForm(forms.Form):
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE)
    link_valid_days = forms.IntegerField(label=_("Survey links valid for (days)"), min_value=1, max_value=365)
    dissatisfied_at_or_below = forms.TypedChoiceField(
        label=_("Open a follow-up complaint at a rating of"),
        coerce=int,
        choices=[(2, "不满意 或更差"), (1, "很不满意"), (3, "一般 或更差")],
    )
    nomination_min_responses = forms.IntegerField(
        label=_("Nomination: minimum answered surveys"), min_value=0
    )
    nomination_min_very_satisfied_percent = forms.DecimalField(
        label=_("Nomination: minimum share of “very satisfied” (%)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
    )
    nomination_top = forms.IntegerField(label=_("Nomination: at most (people)"), min_value=1, max_value=100)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
