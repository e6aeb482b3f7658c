"""Forms only parse and present input; the services decide what is valid."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import DataScope, Department, Role, StaffGrade, User
from kefu.accounts.selectors import department_choices, permission_groups
from kefu.accounts.services import ADMIN_ROLE, is_administrator

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CHECKBOXES = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
NO_CHOICE: list[tuple[Any, str]] = [("", "—")]


def _choice_field(form: forms.BaseForm, name: str) -> forms.ChoiceField:
    """The form's choice field, typed as one, to fill its choices when the form is built."""
    return cast(forms.ChoiceField, form.fields[name])


class UserForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=50)
    employee_number = forms.CharField(label=_("Employee number"), max_length=30, required=False)
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)
    grade = forms.ModelChoiceField(label=_("Grade"), queryset=StaffGrade.objects.all(), required=False)
    title = forms.CharField(label=_("Job title"), max_length=50, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"), queryset=Role.objects.all(), required=False, widget=CHECKBOXES
    )
    is_active = forms.BooleanField(label=_("Active (may sign in)"), required=False, initial=True)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "department").choices = [*NO_CHOICE, *department_choices()]
        if not is_administrator(actor):
            # Only administrators hand out the admin role; others are not offered it.
            cast(forms.ModelMultipleChoiceField, self.fields["roles"]).queryset = Role.objects.exclude(
                code=ADMIN_ROLE
            )

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["roles"] = list(data.get("roles") or [])
        return data


class UserCreateForm(UserForm):
    # Named as the service names it, so its password-rule messages land under this field.
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password") and cleaned.get("password_again") != cleaned["password"]:
            self.add_error("password_again", _("The two passwords differ."))
        return cleaned

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        data.pop("password_again", None)
        return data


def user_initial(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "employee_number": user.employee_number,
        "department": user.department_id,
        "grade": user.grade_id,
        "title": user.title,
        "phone": user.phone,
        "email": user.email,
        "roles": list(Role.objects.filter(group__user=user)),
        "is_active": user.is_active,
    }


class SetPasswordForm(forms.Form):
    """An administrator's reset of someone else's password."""

    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password") and cleaned.get("password_again") != cleaned["password"]:
            self.add_error("password_again", _("The two passwords differ."))
        return cleaned


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)
    role = forms.ChoiceField(label=_("Role"), required=False)
    active = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), ("1", _("Active")), ("0", _("Inactive"))]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "department").choices = [("", _("All departments")), *department_choices()]
        _choice_field(self, "role").choices = [
            ("", _("All roles")),
            *Role.objects.values_list("code", "name"),
        ]


class DepartmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    code = forms.CharField(
        label=_("Code"),
        max_length=50,
        required=False,
        help_text=_("Letters, digits and hyphens; left empty, it is made from the name."),
    )
    parent = forms.TypedChoiceField(
        label=_("Parent department"), required=False, coerce=int, empty_value=None
    )
    head = forms.ModelChoiceField(
        label=_("Head"), queryset=User.objects.filter(is_active=True), required=False
    )
    sort_order = forms.IntegerField(label=_("Order"), min_value=0, initial=0, required=False)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)

    def __init__(self, *args: Any, department: Department | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "parent").choices = [*NO_CHOICE, *department_choices(exclude=department)]


def department_initial(department: Department) -> dict[str, Any]:
    return {
        "name": department.name,
        "code": department.code,
        "parent": department.parent_id,
        "head": department.head_id,
        "sort_order": department.sort_order,
        "description": department.description,
        "is_active": department.is_active,
    }


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    data_scope = forms.ChoiceField(
        label=_("Data scope"),
        choices=DataScope.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    scope_departments = forms.TypedMultipleChoiceField(
        label=_("Chosen departments"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    permissions = forms.MultipleChoiceField(
        label=_("Rights"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.department_options = department_choices()
        _choice_field(self, "scope_departments").choices = self.department_options
        self.groups = permission_groups()
        _choice_field(self, "permissions").choices = [
            item for group in self.groups for item in group.permissions
        ]

    def permission_groups(self) -> list[dict[str, Any]]:
        """The grouped checkboxes with their checked state, for the template."""
        chosen = set(self["permissions"].value() or [])
        return [
            {
                "app": group.app,
                "model": group.model,
                "items": [
                    {"value": value, "label": label, "checked": value in chosen}
                    for value, label in group.permissions
                ],
            }
            for group in self.groups
        ]

    def department_boxes(self) -> list[dict[str, Any]]:
        chosen = {str(value) for value in self["scope_departments"].value() or []}
        return [
            {"value": value, "label": label, "checked": str(value) in chosen}
            for value, label in self.department_options
        ]


class StaffGradeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    level = forms.IntegerField(label=_("Level"), min_value=1, max_value=99, initial=1)
    base_salary = forms.DecimalField(
        label=_("Base salary (yuan/month)"), min_value=0, max_digits=10, decimal_places=2, initial="0.00"
    )
    allowance = forms.DecimalField(
        label=_("Allowance (yuan/month)"), min_value=0, max_digits=10, decimal_places=2, initial="0.00"
    )
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What will use the token, e.g. “report script”.")
    )
    expires_on = forms.DateField(
        label=_("Valid until (inclusive)"),
        required=False,
        widget=DATE,
        help_text=_("Leave empty for a token that does not expire."),
    )

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        if not day:
            return None
        # Valid through the whole chosen day, local time. 9999-12-31 has no next day; the service
        # refuses a date that far ahead anyway.
        if day == dt.date.max:
            return timezone.make_aware(dt.datetime.combine(day, dt.time.max))
        return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


class OwnPasswordChangeForm(PasswordChangeForm):
    """Django's own checks (old password, password validators), unchanged."""
