"""Pages for staff, departments, roles, grades, API tokens and one's own password.

Each view checks the page right, parses input, calls a service or a selector, and renders; the
services check the right again, so a page can never do more than the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from kefu.accounts import selectors, services
from kefu.accounts.forms import (
    ApiTokenForm,
    DepartmentForm,
    OwnPasswordChangeForm,
    RoleForm,
    SetPasswordForm,
    StaffGradeForm,
    UserCreateForm,
    UserFilterForm,
    UserForm,
    department_initial,
    user_initial,
)
from kefu.accounts.models import ApiToken, Department, Role, StaffGrade, User
from kefu.core.errors import DomainError
from kefu.core.excel import xlsx_response
from kefu.core.pages import flash_domain_error, form_error_from_domain, ids_from, int_or_none, paginate


class SignedInRequest(HttpRequest):
    """What the pages below receive: login_required guarantees the user, django-htmx adds `htmx`."""

    user: User
    htmx: HtmxDetails


def page_right(*perms: str) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Signed in, and holding the rights; a denied user sees the product's 403 page."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        return login_required(permission_required(perms, raise_exception=True)(view))

    return decorate


def _back(request: SignedInRequest, default: str) -> HttpResponse:
    """Back to the page the form came from (keeping its filters), if it is one of ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


# --- staff -----------------------------------------------------------------------------------


def _user_filters(request: SignedInRequest) -> selectors.UserFilters:
    params = request.GET
    sort = params.get("sort", "username")
    return selectors.UserFilters(
        q=params.get("q", "").strip()[:100],
        department=int_or_none(params.get("department")),
        role=params.get("role", "").strip()[:50],
        active={"1": True, "0": False}.get(params.get("active", "")),
        sort=sort if sort in selectors.USER_SORTS else "username",
    )


USER_SORT_LABELS = [
    ("username", gettext_lazy("User name")),
    ("name", gettext_lazy("Full name")),
    ("employee_number", gettext_lazy("Employee number")),
    ("department", gettext_lazy("Department")),
    ("newest", gettext_lazy("Newest first")),
    ("last_login", gettext_lazy("Last sign-in")),
]


@page_right("accounts.view_user")
def user_list_page(request: SignedInRequest) -> HttpResponse:
    filters = _user_filters(request)
    users = selectors.user_list(actor=request.user, filters=filters)
    page = paginate(request, users)
    for user in page.object_list:
        user.role_names = selectors.role_names(user)
    context = {
        "page_obj": page,
        "filters": filters,
        "filter_form": UserFilterForm(request.GET or None),
        "sorts": USER_SORT_LABELS,
    }
    template = "accounts/partials/user_table.html" if request.htmx else "accounts/user_list.html"
    return render(request, template, context)


@page_right("accounts.view_user")
def user_export(request: SignedInRequest) -> HttpResponseBase:
    users = selectors.user_list(actor=request.user, filters=_user_filters(request))
    rows = (
        [
            user.username,
            user.full_name,
            user.employee_number,
            user.department or "",
            user.grade or "",
            user.title,
            "、".join(selectors.role_names(user)),
            _("Yes") if user.is_active else _("No"),
            user.last_login,
        ]
        for user in users.iterator(chunk_size=500)
    )
    headers = [
        _("User name"),
        _("Full name"),
        _("Employee number"),
        _("Department"),
        _("Grade"),
        _("Job title"),
        _("Roles"),
        _("Active"),
        _("Last sign-in"),
    ]
    return xlsx_response(filename=_("staff"), sheet=_("Staff"), headers=headers, rows=rows)


@require_POST
@page_right("accounts.change_user")
def user_bulk(request: SignedInRequest) -> HttpResponse:
    action = request.POST.get("action")
    ids = ids_from(request.POST.getlist("ids"))
    if action not in ("activate", "deactivate") or not ids:
        messages.warning(request, _("Tick some staff and choose what to do."))
        return _back(request, reverse("accounts:users"))
    try:
        changed = services.users_set_active(actor=request.user, user_ids=ids, active=action == "activate")
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("%(count)s staff members changed.") % {"count": changed})
    return _back(request, reverse("accounts:users"))


@page_right("accounts.add_user")
def user_create_page(request: SignedInRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(actor=request.user, data=form.service_data())
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Staff member %(name)s added.") % {"name": user})
            return redirect("accounts:user_edit", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


def _visible_user(request: SignedInRequest, pk: int) -> User:
    user = selectors.visible_users(request.user).select_related("department", "grade").filter(pk=pk).first()
    if user is None:
        raise Http404
    return user


@page_right("accounts.change_user")
def user_edit_page(request: SignedInRequest, pk: int) -> HttpResponse:
    user = _visible_user(request, pk)
    form = UserForm(request.POST or None, actor=request.user, initial=user_initial(user))
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, data=form.service_data())
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Changes to %(name)s saved.") % {"name": user})
            return redirect("accounts:user_edit", pk=user.pk)
    return _user_edit_render(request, user, form=form)


def _user_edit_render(
    request: SignedInRequest,
    user: User,
    *,
    form: UserForm | None = None,
    password_form: SetPasswordForm | None = None,
) -> HttpResponse:
    context = {
        "form": form or UserForm(actor=request.user, initial=user_initial(user)),
        "password_form": password_form or SetPasswordForm(),
        "staff": user,
        "locked_out": selectors.is_locked_out(user),
        "creating": False,
    }
    return render(request, "accounts/user_form.html", context)


@require_POST
@page_right("accounts.change_user")
def user_password_page(request: SignedInRequest, pk: int) -> HttpResponse:
    user = _visible_user(request, pk)
    form = SetPasswordForm(request.POST)
    if form.is_valid():
        try:
            services.user_set_password(actor=request.user, user=user, password=form.cleaned_data["password"])
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("The password of %(name)s was reset.") % {"name": user})
            return redirect("accounts:user_edit", pk=user.pk)
    return _user_edit_render(request, user, password_form=form)


@require_POST
@page_right("accounts.change_user")
def user_unlock_page(request: SignedInRequest, pk: int) -> HttpResponse:
    user = _visible_user(request, pk)
    try:
        services.user_unlock(actor=request.user, user=user)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("%(name)s may sign in again.") % {"name": user})
    return redirect("accounts:user_edit", pk=user.pk)


# --- departments -----------------------------------------------------------------------------


@page_right("accounts.view_department")
def department_list_page(request: SignedInRequest) -> HttpResponse:
    return render(request, "accounts/department_list.html", {"departments": selectors.department_tree()})


@page_right("accounts.add_department")
def department_create_page(request: SignedInRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None, initial={"parent": int_or_none(request.GET.get("parent"))})
    if request.method == "POST" and form.is_valid():
        try:
            department = services.department_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Department %(name)s added.") % {"name": department})
            return redirect("accounts:departments")
    return render(request, "accounts/department_form.html", {"form": form, "department": None})


@page_right("accounts.change_department")
def department_edit_page(request: SignedInRequest, pk: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=pk)
    form = DepartmentForm(request.POST or None, department=department, initial=department_initial(department))
    if request.method == "POST" and form.is_valid():
        try:
            services.department_update(actor=request.user, department=department, data=form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Department %(name)s saved.") % {"name": department.name})
            return redirect("accounts:departments")
    return render(request, "accounts/department_form.html", {"form": form, "department": department})


@require_POST
@page_right("accounts.delete_department")
def department_delete_page(request: SignedInRequest, pk: int) -> HttpResponse:
    department = get_object_or_404(Department, pk=pk)
    try:
        services.department_delete(actor=request.user, department=department)
    except DomainError as exc:
        problems = exc.detail.get("__all__") if isinstance(exc.detail, dict) else None
        messages.error(
            request,
            _("%(name)s cannot be deleted: %(why)s")
            % {"name": department.name, "why": " ".join(problems or [exc.message])},
        )
    else:
        messages.success(request, _("Department %(name)s deleted.") % {"name": department.name})
    return redirect("accounts:departments")


# --- roles -----------------------------------------------------------------------------------


@page_right("accounts.view_role")
def role_list_page(request: SignedInRequest) -> HttpResponse:
    return render(request, "accounts/role_list.html", {"roles": selectors.role_list()})


@page_right("accounts.change_role")
def role_edit_page(request: SignedInRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Role.objects.select_related("group"), pk=pk)
    initial = {
        "name": role.name,
        "description": role.description,
        "data_scope": role.data_scope,
        "scope_departments": list(role.scope_departments.values_list("pk", flat=True)),
        "permissions": selectors.role_permission_names(role),
    }
    form = RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.role_update(actor=request.user, role=role, data=form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Role %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("accounts:roles")
    context = {
        "form": form,
        "role": role,
        "may_edit": not (role.code == services.ADMIN_ROLE and not services.is_administrator(request.user)),
    }
    return render(request, "accounts/role_form.html", context)


# --- staff grades ----------------------------------------------------------------------------


@page_right("accounts.view_staffgrade")
def grade_list_page(request: SignedInRequest) -> HttpResponse:
    return render(request, "accounts/grade_list.html", {"grades": selectors.grade_list()})


@page_right("accounts.add_staffgrade")
def grade_create_page(request: SignedInRequest) -> HttpResponse:
    form = StaffGradeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grade = services.staff_grade_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Grade %(name)s added.") % {"name": grade})
            return redirect("accounts:grades")
    return render(request, "accounts/grade_form.html", {"form": form, "grade": None})


@page_right("accounts.change_staffgrade")
def grade_edit_page(request: SignedInRequest, pk: int) -> HttpResponse:
    grade = get_object_or_404(StaffGrade, pk=pk)
    initial = {
        field: getattr(grade, field) for field in ("name", "level", "base_salary", "allowance", "description")
    }
    form = StaffGradeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_grade_update(actor=request.user, grade=grade, data=form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("Grade %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("accounts:grades")
    return render(request, "accounts/grade_form.html", {"form": form, "grade": grade})


@require_POST
@page_right("accounts.delete_staffgrade")
def grade_delete_page(request: SignedInRequest, pk: int) -> HttpResponse:
    grade = get_object_or_404(StaffGrade, pk=pk)
    try:
        services.staff_grade_delete(actor=request.user, grade=grade)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("Grade %(name)s deleted.") % {"name": grade.name})
    return redirect("accounts:grades")


# --- API tokens and own password -------------------------------------------------------------


@login_required
def token_list_page(request: SignedInRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = services.api_token_create(
                actor=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
            )
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            form = ApiTokenForm()
    # The key is rendered into this one response and never again: it is not stored anywhere.
    context = {"form": form, "new_key": new_key, "tokens": selectors.tokens_of(request.user)}
    response = render(request, "accounts/token_list.html", context)
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def token_revoke_page(request: SignedInRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        services.api_token_revoke(actor=request.user, token_id=token.pk)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(
            request,
            _("Token %(name)s revoked; programs using it are refused from now on.") % {"name": token.name},
        )
    return redirect("accounts:tokens")


class PasswordChangePage(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = OwnPasswordChangeForm
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response
