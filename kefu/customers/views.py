"""Pages of the customer archive. Each view parses input, calls a service or selector, renders."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kefu.accounts.models import Department, User
from kefu.core.access import log_sensitive_access
from kefu.core.errors import DomainError
from kefu.core.masking import can_view_sensitive
from kefu.core.oplog import note_operation_target
from kefu.core.pages import flash_domain_error, form_error_from_domain, ids_from, int_or_none, paginate
from kefu.customers import exporting, importing, selectors, services
from kefu.customers.forms import (
    BorrowForm,
    ChurnPolicyForm,
    ContactForm,
    ContactRecordForm,
    CustomerForm,
    DocumentForm,
    ImportForm,
    TierForm,
    TierPolicyForm,
    TradeForm,
)
from kefu.customers.models import (
    BorrowRequest,
    BorrowState,
    ChurnPolicy,
    Contact,
    Customer,
    CustomerDocument,
    CustomerImport,
    CustomerKind,
    Lifecycle,
    Tier,
    TierPolicy,
)

SENSITIVE_FIELDS = ["phone", "id_number", "contacts.mobile", "contacts.telephone"]
TABS = [
    "overview",
    "contacts",
    "documents",
    "trades",
    "contact_records",
    "tiers",
    "history",
    "borrowings",
    "visits",
]


def _visible_customer(request: HttpRequest, pk: int) -> Customer:
    customer = selectors.customer_get(user=request.user, pk=pk)
    if customer is None:
        raise Http404
    return customer


def _filters_from(request: HttpRequest) -> selectors.CustomerFilters:
    params = request.GET
    vip = params.get("is_vip")
    return selectors.CustomerFilters(
        q=params.get("q", "").strip()[:100],
        kind=params.get("kind", "") if params.get("kind") in CustomerKind.values else "",
        tier=params.get("tier", "") if params.get("tier") in ("A", "B", "C", "none") else "",
        lifecycle=params.get("lifecycle", "") if params.get("lifecycle") in Lifecycle.values else "",
        department=int_or_none(params.get("department")),
        owner=int_or_none(params.get("owner")),
        is_vip={"1": True, "0": False}.get(vip or ""),
        province=params.get("province", "").strip()[:20],
        sort=params.get("sort", "newest") if params.get("sort") in selectors.SORTS else "newest",
    )


def _filter_choices() -> dict[str, Any]:
    return {
        "kinds": CustomerKind.choices,
        "tiers": [("A", "A"), ("B", "B"), ("C", "C"), ("none", _("Not a VIP"))],
        "lifecycles": Lifecycle.choices,
        "departments": Department.objects.filter(is_active=True),
        "sorts": [
            ("newest", _("Newest first")),
            ("oldest", _("Oldest first")),
            ("name", _("Name (pinyin)")),
            ("tier", _("Tier")),
            ("archive_number", _("Archive number")),
            ("-last_contact", _("Last contact")),
            ("last_contact", _("Longest without contact")),
            ("tons", _("Largest scale")),
        ],
    }


# --- list, export, bulk ------------------------------------------------------------------------


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list_page(request: HttpRequest) -> HttpResponse:
    filters = _filters_from(request)
    page = paginate(request, selectors.customer_list(user=request.user, filters=filters))
    log_sensitive_access(
        actor=request.user,
        objects=list(page.object_list),
        fields=["phone"],
        channel="page",
        request=request,
        detail="customer list",
    )
    context = {
        "page_obj": page,
        "filters": filters,
        **_filter_choices(),
        "owners": User.objects.filter(is_active=True).order_by("full_name"),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "customers/partials/customer_table.html", context)
    return render(request, "customers/customer_list.html", context)


@login_required
@permission_required("customers.export_customer", raise_exception=True)
def customer_export(request: HttpRequest) -> HttpResponseBase:
    filters = _filters_from(request)
    queryset = selectors.customer_list(user=request.user, filters=filters)
    ids = ids_from(request.GET.getlist("ids"))
    if ids:
        queryset = queryset.filter(pk__in=ids)
    return exporting.customers_xlsx_response(actor=request.user, queryset=queryset, request=request)


@login_required
@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk hand-over of the ticked customers to an owner and/or department."""
    ids = ids_from(request.POST.getlist("ids"))
    back = request.POST.get("next") or reverse("customers:list")
    if not back.startswith("/"):
        back = reverse("customers:list")
    if not ids:
        messages.warning(request, _("Tick at least one customer first."))
        return redirect(back)
    owner = User.objects.filter(pk=int_or_none(request.POST.get("owner")), is_active=True).first()
    department = Department.objects.filter(pk=int_or_none(request.POST.get("department"))).first()
    try:
        moved = services.customers_assign(
            actor=request.user, customer_ids=ids, owner=owner, department=department
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("%(count)d customers were handed over.") % {"count": moved})
    return redirect(back)


# --- create / edit -----------------------------------------------------------------------------


@login_required
@permission_required("customers.add_customer", raise_exception=True)
def customer_create_page(request: HttpRequest) -> HttpResponse:
    can_assign = request.user.has_perm("customers.assign_customer")
    if request.method == "POST":
        form = CustomerForm(request.POST, can_assign=can_assign)
        if form.is_valid():
            data = form.service_data()
            if not can_assign:
                data.pop("owner", None)
                data.pop("department", None)
            try:
                customer = services.customer_create(actor=request.user, data=data)
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                note_operation_target(request, customer.archive_number)
                messages.success(
                    request,
                    _("Customer %(name)s was created as %(number)s.")
                    % {"name": customer.name, "number": customer.archive_number},
                )
                return redirect("customers:detail", pk=customer.pk)
    else:
        initial = {
            "owner": request.user.pk,
            "department": request.user.department_id,
            "phone": request.GET.get("phone", "")[:30],
            "name": request.GET.get("name", "")[:200],
        }
        form = CustomerForm(initial=initial, can_assign=can_assign)
    return render(request, "customers/customer_form.html", {"form": form, "creating": True})


@login_required
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    can_assign = request.user.has_perm("customers.assign_customer")
    masked_fields = () if can_view_sensitive(request.user) else ("phone", "id_number")
    if request.method == "POST":
        form = CustomerForm(request.POST, can_assign=can_assign, masked_fields=masked_fields)
        if form.is_valid():
            try:
                services.customer_update(
                    actor=request.user,
                    customer=customer,
                    data=form.service_data(),
                    version=form.cleaned_data.get("version"),
                )
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("The changes were saved."))
                return redirect("customers:detail", pk=customer.pk)
    else:
        initial = {field: getattr(customer, field) for field in services.CUSTOMER_FIELDS}
        initial["version"] = customer.version
        form = CustomerForm(initial=initial, can_assign=can_assign, masked_fields=masked_fields)
        log_sensitive_access(
            actor=request.user,
            objects=[customer],
            fields=["phone", "id_number"],
            channel="page",
            request=request,
            detail="customer edit form",
        )
    return render(
        request, "customers/customer_form.html", {"form": form, "customer": customer, "creating": False}
    )


@login_required
@require_POST
def customer_validate_field(request: HttpRequest) -> HttpResponse:
    """Inline validation: the form posts itself when a field changes; one field comes back."""
    if not (
        request.user.has_perm("customers.add_customer") or request.user.has_perm("customers.change_customer")
    ):
        raise DjangoPermissionDenied
    form = CustomerForm(request.POST, can_assign=request.user.has_perm("customers.assign_customer"))
    name = request.POST.get("validate_field", "")
    if name not in form.fields:
        raise Http404
    form.is_valid()
    problems: list[str] = [str(e) for e in form.errors.get(name, [])]
    if not problems:
        data = {k: v for k, v in form.cleaned_data.items() if k in services.CUSTOMER_FIELDS and v is not None}
        candidate = Customer(pk=int_or_none(request.POST.get("customer_pk")), **data)
        problems = services.customer_problems(candidate).get(name, [])
    bound = form[name]
    form.errors.pop(name, None)
    for problem in problems:
        form.add_error(name, problem)
    return render(request, "includes/field.html", {"field": bound, "inline_validate": True})


# --- the customer file ---------------------------------------------------------------------------


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    tab = request.GET.get("tab", "overview")
    if tab not in TABS:
        tab = "overview"
    context: dict[str, Any] = {"customer": customer, "tab": tab, "tabs": TABS}
    context.update(selectors.customer_file(user=request.user, customer=customer))
    if tab == "history":
        context["history"] = selectors.customer_history(customer=customer)
    if tab == "visits":
        from kefu.visits.selectors import customer_visits

        context["visits"] = customer_visits(request.user, customer)
    log_sensitive_access(
        actor=request.user,
        objects=[customer],
        fields=SENSITIVE_FIELDS,
        channel="page",
        request=request,
        detail=f"customer file, tab {tab}",
    )
    context.update(
        tier_form=TierForm(
            initial={"tier": "policy" if customer.tier_source == "policy" else (customer.tier or "none")}
        ),
        contact_record_form=ContactRecordForm(),
    )
    if request.htmx and request.htmx.target == "tab-content":
        return render(request, f"customers/tabs/{tab}.html", context)
    return render(request, "customers/customer_detail.html", context)


@login_required
@require_POST
def customer_tier(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    form = TierForm(request.POST)
    if form.is_valid():
        choice = form.cleaned_data["tier"]
        tier = None if choice == "policy" else ("" if choice == "none" else choice)
        try:
            services.customer_set_tier(
                actor=request.user, customer=customer, tier=tier, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            flash_domain_error(request, exc)
        else:
            messages.success(request, _("The tier was updated."))
    else:
        messages.error(request, _("Choose a tier."))
    return redirect(reverse("customers:detail", args=[pk]) + "?tab=tiers")


# --- contacts ------------------------------------------------------------------------------------


@login_required
@permission_required("customers.add_contact", raise_exception=True)
def contact_create_page(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_create(actor=request.user, customer=customer, data=form.service_data())
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("The contact was added."))
            return redirect(reverse("customers:detail", args=[pk]) + "?tab=contacts")
    return render(
        request,
        "customers/simple_form.html",
        {"form": form, "customer": customer, "title": _("New contact"), "back_tab": "contacts"},
    )


@login_required
@permission_required("customers.change_contact", raise_exception=True)
def contact_edit(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer)
    masked_fields = () if can_view_sensitive(request.user) else ("mobile", "telephone")
    if request.method == "POST":
        form = ContactForm(request.POST, masked_fields=masked_fields)
        if form.is_valid():
            try:
                services.contact_update(
                    actor=request.user,
                    contact=contact,
                    data=form.service_data(),
                    version=form.cleaned_data.get("version"),
                )
            except DomainError as exc:
                form_error_from_domain(form, exc)
            else:
                messages.success(request, _("The contact was saved."))
                return redirect(reverse("customers:detail", args=[pk]) + "?tab=contacts")
    else:
        initial = {field: getattr(contact, field) for field in services.CONTACT_FIELDS}
        initial["version"] = contact.version
        form = ContactForm(initial=initial, masked_fields=masked_fields)
        log_sensitive_access(
            actor=request.user,
            objects=[contact],
            fields=["mobile", "telephone"],
            channel="page",
            request=request,
            detail="contact edit form",
        )
    return render(
        request,
        "customers/simple_form.html",
        {
            "form": form,
            "customer": customer,
            "title": _("Edit contact %(name)s") % {"name": contact.name},
            "back_tab": "contacts",
        },
    )


@login_required
@require_POST
def contact_delete_page(request: HttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer)
    try:
        services.contact_delete(actor=request.user, contact=contact)
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("The contact was removed."))
    return redirect(reverse("customers:detail", args=[pk]) + "?tab=contacts")


# --- documents and borrowing --------------------------------------------------------------------


@login_required
@permission_required("customers.add_customerdocument", raise_exception=True)
def document_upload_page(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_upload(
                actor=request.user,
                customer=customer,
                uploaded=form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                title=form.cleaned_data["title"],
                important=form.cleaned_data["important"],
                notes=form.cleaned_data["notes"],
            )
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("The file was uploaded."))
            return redirect(reverse("customers:detail", args=[pk]) + "?tab=documents")
    return render(
        request,
        "customers/simple_form.html",
        {
            "form": form,
            "customer": customer,
            "title": _("Upload a document"),
            "back_tab": "documents",
            "multipart": True,
        },
    )


@login_required
@permission_required("customers.view_customerdocument", raise_exception=True)
def document_download(request: HttpRequest, pk: int, doc_pk: int) -> FileResponse:
    customer = _visible_customer(request, pk)
    document = get_object_or_404(CustomerDocument, pk=doc_pk, customer=customer)
    if document.important and not selectors.may_read_document(user=request.user, document=document):
        raise DjangoPermissionDenied
    log_sensitive_access(
        actor=request.user, objects=[document], fields=["file"], channel="download", request=request
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
    )


@login_required
@permission_required("customers.add_borrowrequest", raise_exception=True)
def borrow_request_page(request: HttpRequest, pk: int, doc_pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    document = get_object_or_404(CustomerDocument, pk=doc_pk, customer=customer)
    form = BorrowForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            borrow = services.borrow_request_create(
                actor=request.user, document=document, **form.cleaned_data
            )
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(
                request, _("Borrowing request %(number)s was sent for approval.") % {"number": borrow.number}
            )
            return redirect("customers:borrowings")
    return render(
        request,
        "customers/simple_form.html",
        {
            "form": form,
            "customer": customer,
            "title": _("Borrow “%(title)s”") % {"title": document.title},
            "back_tab": "documents",
        },
    )


@login_required
@permission_required("customers.view_borrowrequest", raise_exception=True)
def borrowings_page(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    if state not in BorrowState.values:
        state = ""
    mine = request.GET.get("mine") == "1"
    page = paginate(request, selectors.borrow_requests(user=request.user, state=state, mine=mine))
    return render(
        request,
        "customers/borrowings.html",
        {"page_obj": page, "state": state, "mine": mine, "states": BorrowState.choices},
    )


@login_required
@require_POST
def borrowing_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    borrow = get_object_or_404(BorrowRequest.objects.visible_to(request.user), pk=pk)
    check = request.POST.get("check_passed")
    try:
        services.borrow_request_transition(
            actor=request.user,
            borrow=borrow,
            action=action,
            note=request.POST.get("note", ""),
            check_passed={"1": True, "0": False}.get(check or ""),
        )
    except DomainError as exc:
        flash_domain_error(request, exc)
    else:
        messages.success(request, _("Request %(number)s: done.") % {"number": borrow.number})
    return redirect(
        request.POST.get("next")
        if (request.POST.get("next") or "").startswith("/")
        else reverse("customers:borrowings")
    )


# --- trades and contact records -------------------------------------------------------------------


@login_required
@permission_required("customers.add_traderecord", raise_exception=True)
def trade_create_page(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    form = TradeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.trade_record_create(actor=request.user, customer=customer, **form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("The trade was recorded."))
            return redirect(reverse("customers:detail", args=[pk]) + "?tab=trades")
    return render(
        request,
        "customers/simple_form.html",
        {"form": form, "customer": customer, "title": _("Record a trade"), "back_tab": "trades"},
    )


@login_required
@permission_required("customers.add_contactrecord", raise_exception=True)
def contact_record_create_page(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    form = ContactRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_record_create(actor=request.user, customer=customer, **form.cleaned_data)
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            messages.success(request, _("The contact was recorded."))
            return redirect(reverse("customers:detail", args=[pk]) + "?tab=contact_records")
    return render(
        request,
        "customers/simple_form.html",
        {"form": form, "customer": customer, "title": _("Record a contact"), "back_tab": "contact_records"},
    )


# --- caller lookup ------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def caller_lookup(request: HttpRequest) -> HttpResponse:
    """The agent types or pastes the caller's number; the file appears, or a quick-create form."""
    number = request.GET.get("phone", "").strip()[:40]
    context: dict[str, Any] = {"number": number}
    if number:
        from kefu.core.phones import normalize_phone

        context["normalized"] = normalize_phone(number)
        matches = list(selectors.customer_lookup_by_phone(user=request.user, phone=number)[:10])
        context["matches"] = matches
        if matches:
            first = matches[0]
            context["first"] = first
            context.update(selectors.customer_file(user=request.user, customer=first))
            log_sensitive_access(
                actor=request.user,
                objects=matches,
                fields=["phone"],
                channel="page",
                request=request,
                detail="caller lookup",
            )
    if request.htmx:
        return render(request, "customers/partials/lookup_result.html", context)
    return render(request, "customers/lookup.html", context)


# --- the archive specialist's lists --------------------------------------------------------------


def _list_page(
    request: HttpRequest, *, queryset: Any, template: str, export_name: str, extra: dict[str, Any]
) -> HttpResponseBase:
    if request.GET.get("export") == "xlsx":
        if not request.user.has_perm("customers.export_customer"):
            raise DjangoPermissionDenied
        return exporting.customers_xlsx_response(
            actor=request.user, queryset=queryset, request=request, filename=export_name
        )
    page = paginate(request, queryset)
    log_sensitive_access(
        actor=request.user,
        objects=list(page.object_list),
        fields=["phone"],
        channel="page",
        request=request,
        detail=export_name,
    )
    return render(request, template, {"page_obj": page, **extra})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def big_customers_page(request: HttpRequest) -> HttpResponseBase:
    tier = request.GET.get("tier", "")
    tier = tier if tier in (Tier.A, Tier.B, Tier.C) else ""
    return _list_page(
        request,
        queryset=selectors.big_customers(user=request.user, tier=tier),
        template="customers/list_big.html",
        export_name=_("big-customers"),
        extra={"tier": tier},
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def at_risk_page(request: HttpRequest) -> HttpResponseBase:
    policy = ChurnPolicy.in_force()
    return _list_page(
        request,
        queryset=selectors.at_risk_customers(user=request.user, policy=policy),
        template="customers/list_at_risk.html",
        export_name=_("at-risk-customers"),
        extra={"policy": policy},
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def birthdays_page(request: HttpRequest) -> HttpResponseBase:
    policy = ChurnPolicy.in_force()
    days = int_or_none(request.GET.get("days")) or policy.birthday_days_ahead
    days = max(1, min(days, 366))
    rows = selectors.upcoming_birthdays(user=request.user, days=days)
    if request.GET.get("export") == "xlsx":
        if not request.user.has_perm("customers.export_customer"):
            raise DjangoPermissionDenied
        return exporting.birthdays_xlsx_response(actor=request.user, rows=rows, request=request)
    log_sensitive_access(
        actor=request.user,
        objects=[row.customer for row in rows],
        fields=["phone"],
        channel="page",
        request=request,
        detail="birthdays",
    )
    return render(request, "customers/list_birthdays.html", {"rows": rows, "days": days})


# --- Excel import -------------------------------------------------------------------------------


@login_required
@permission_required("customers.import_customer", raise_exception=True)
def imports_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.customer_import_start(
                actor=request.user,
                uploaded=form.cleaned_data["file"],
                update_existing=form.cleaned_data["update_existing"],
            )
        except DomainError as exc:
            form_error_from_domain(form, exc)
        else:
            return redirect("customers:import_detail", pk=job.pk)
    jobs = CustomerImport.objects.select_related("created_by").order_by("-created_at")
    if not request.user.has_perm("customers.view_sensitive"):
        jobs = jobs.filter(created_by=request.user)
    return render(
        request, "customers/imports.html", {"form": form, "jobs": jobs[:20], "columns": importing.COLUMNS}
    )


@login_required
@permission_required("customers.import_customer", raise_exception=True)
def import_template(request: HttpRequest) -> HttpResponseBase:
    return importing.template_response()


def _import_job(request: HttpRequest, pk: int) -> CustomerImport:
    job = get_object_or_404(CustomerImport, pk=pk)
    if job.created_by_id != request.user.pk and not request.user.has_perm("customers.view_sensitive"):
        raise Http404
    return job


@login_required
@permission_required("customers.import_customer", raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import_job(request, pk)
    return render(request, "customers/import_detail.html", {"job": job})


@login_required
@permission_required("customers.import_customer", raise_exception=True)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    # The partial polls itself while the job runs and stops once it renders the final report.
    return render(request, "customers/partials/import_progress.html", {"job": _import_job(request, pk)})


@login_required
@permission_required("customers.import_customer", raise_exception=True)
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import_job(request, pk)
    try:
        real = importing.customer_import_confirm(actor=request.user, dry_run=job)
    except DomainError as exc:
        flash_domain_error(request, exc)
        return redirect("customers:import_detail", pk=job.pk)
    return redirect("customers:import_detail", pk=real.pk)


# --- policies ----------------------------------------------------------------------------------


@login_required
@permission_required("customers.view_tierpolicy", raise_exception=True)
def policies_page(request: HttpRequest) -> HttpResponse:
    tier_form = TierPolicyForm(prefix="tier")
    churn_form = ChurnPolicyForm(prefix="churn")
    if request.method == "POST":
        which = request.POST.get("policy")
        try:
            if which == "tier":
                tier_form = TierPolicyForm(request.POST, prefix="tier")
                if tier_form.is_valid():
                    services.tier_policy_create(actor=request.user, **tier_form.cleaned_data)
                    messages.success(
                        request, _("The new tier policy was saved; customers are being re-tiered.")
                    )
                    return redirect("customers:policies")
            elif which == "churn":
                churn_form = ChurnPolicyForm(request.POST, prefix="churn")
                if churn_form.is_valid():
                    services.churn_policy_create(actor=request.user, **churn_form.cleaned_data)
                    messages.success(request, _("The new churn policy was saved."))
                    return redirect("customers:policies")
        except DomainError as exc:
            form_error_from_domain(tier_form if which == "tier" else churn_form, exc)
    else:
        current_tier = TierPolicy.in_force()
        current_churn = ChurnPolicy.in_force()
        tier_form = TierPolicyForm(
            prefix="tier",
            initial={
                "a_min_tons": current_tier.a_min_tons,
                "b_min_tons": current_tier.b_min_tons,
                "brand_value_makes_a": current_tier.brand_value_makes_a,
                "scale_makes_vip": current_tier.scale_makes_vip,
            },
        )
        churn_form = ChurnPolicyForm(
            prefix="churn",
            initial={
                "days_without_trade": current_churn.days_without_trade,
                "days_without_contact": current_churn.days_without_contact,
                "birthday_days_ahead": current_churn.birthday_days_ahead,
            },
        )
    return render(
        request,
        "customers/policies.html",
        {
            "tier_form": tier_form,
            "churn_form": churn_form,
            "tier_policies": TierPolicy.objects.select_related("created_by").order_by(
                "-effective_from", "-id"
            )[:20],
            "churn_policies": ChurnPolicy.objects.select_related("created_by").order_by(
                "-effective_from", "-id"
            )[:20],
            "tier_in_force": TierPolicy.in_force(),
            "churn_in_force": ChurnPolicy.in_force(),
            "can_edit": request.user.has_perm("customers.add_tierpolicy"),
        },
    )
