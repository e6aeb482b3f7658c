"""The archive's JSON API. Every endpoint calls a selector or a service; none writes a model.

No `from __future__ import annotations` here: django-ninja reads the real parameter annotations.
"""

from typing import Any

from auditlog.models import LogEntry
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from kefu.accounts.models import Department, User
from kefu.core.access import log_sensitive_access
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kefu.core.masking import can_view_sensitive, masked
from kefu.core.pagination import MAX_OFFSET
from kefu.core.permissions import require_perm
from kefu.core.schemas import ERRORS
from kefu.customers import importing, selectors, services
from kefu.customers.models import (
    BorrowRequest,
    ChurnPolicy,
    Contact,
    ContactChannel,
    Customer,
    CustomerDocument,
    CustomerImport,
    DocumentKind,
    TierPolicy,
)
from kefu.customers.schemas import (
    AssignIn,
    AssignOut,
    BirthdayOut,
    BorrowActionIn,
    BorrowIn,
    BorrowOut,
    ChurnPolicyIn,
    ChurnPolicyOut,
    ContactIn,
    ContactOut,
    ContactPatch,
    ContactRecordIn,
    ContactRecordOut,
    CustomerIn,
    CustomerListOut,
    CustomerOut,
    CustomerPatch,
    DocumentOut,
    HistoryOut,
    ImportOut,
    TierChangeOut,
    TierIn,
    TierPolicyIn,
    TierPolicyOut,
    TradeIn,
    TradeOut,
)

router = Router(tags=["customers"])

MAX_LIMIT = 500


ERR = ERRORS


class CustomerPage(Schema):
    count: int
    items: list[CustomerListOut]


class CustomerFilterIn(Schema):
    q: str = ""
    kind: str = ""
    tier: str = ""
    lifecycle: str = ""
    department: int | None = Field(None, ge=1, le=2**63 - 1)
    owner: int | None = Field(None, ge=1, le=2**63 - 1)
    is_vip: bool | None = None
    province: str = ""
    sort: str = "newest"
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _window(limit: int, offset: int) -> tuple[int, int]:
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(f"limit 1–{MAX_LIMIT}", detail={"limit": [f"1–{MAX_LIMIT}"]})
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed(f"offset 0–{MAX_OFFSET}", detail={"offset": [f"0–{MAX_OFFSET}"]})
    return limit, offset


def _customer(request: HttpRequest, pk: int) -> Customer:
    customer = selectors.customer_get(user=request.user, pk=pk)
    if customer is None:
        raise NotFound()
    return customer


def _need(request: HttpRequest, perm: str) -> None:
    require_perm(request.user, perm)


def _fk(model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise ValidationFailed(f"{field}: {pk}?", detail={field: ["does not exist"]})
    return obj


def _customer_data(payload: Any, *, partial: bool) -> dict[str, Any]:
    raw = payload.dict(exclude_unset=partial)
    raw.pop("version", None)
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None and not partial:
            # On create an unsent owner/department must fall back to the creator's, not become "nobody's":
            # a customer without owner and department is outside every limited data scope.
            continue
        if key == "owner_id":
            data["owner"] = _fk(User, value, "owner_id")
        elif key == "department_id":
            data["department"] = _fk(Department, value, "department_id")
        elif value is None and key not in (
            "birthday",
            "member_since",
            "licence_valid_until",
            "credit_checked_on",
            "registered_capital",
            "annual_tons",
            "investment",
            "credit_limit",
            "credit_code",
            "member_number",
        ):
            # Text and flag fields cannot be null in the archive; null on PATCH means "leave as is".
            continue
        else:
            data[key] = value
    return data


# --- customers ----------------------------------------------------------------------------------


@router.get("/customers", response={200: CustomerPage, **ERR}, summary="Search and filter customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilterIn]) -> dict[str, Any]:
    _need(request, "customers.view_customer")
    limit, offset = _window(filters.limit, filters.offset)
    queryset = selectors.customer_list(
        user=request.user,
        filters=selectors.CustomerFilters(
            q=filters.q[:100],
            kind=filters.kind,
            tier=filters.tier,
            lifecycle=filters.lifecycle,
            department=filters.department,
            owner=filters.owner,
            is_vip=filters.is_vip,
            province=filters.province,
            sort=filters.sort if filters.sort in selectors.SORTS else "newest",
        ),
    )
    items = list(queryset[offset : offset + limit])
    log_sensitive_access(actor=request.user, objects=items, fields=["phone"], channel="api", request=request)
    return {"count": queryset.count(), "items": items}


@router.post("/customers", response={201: CustomerOut, **ERR}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[Customer]:
    customer = services.customer_create(actor=request.user, data=_customer_data(payload, partial=False))
    return Status(201, selectors.customer_get(user=request.user, pk=customer.pk) or customer)


@router.get(
    "/customers/lookup",
    response={200: list[CustomerListOut], **ERR},
    summary="Find customers by a caller's phone",
)
def lookup_customers(request: HttpRequest, phone: str) -> list[Customer]:
    _need(request, "customers.view_customer")
    items = list(selectors.customer_lookup_by_phone(user=request.user, phone=phone[:40])[:20])
    log_sensitive_access(actor=request.user, objects=items, fields=["phone"], channel="api", request=request)
    return items


@router.post(
    "/customers/assign", response={200: AssignOut, **ERR}, summary="Hand customers to an owner/department"
)
def assign_customers(request: HttpRequest, payload: AssignIn) -> dict[str, int]:
    moved = services.customers_assign(
        actor=request.user,
        customer_ids=payload.ids,
        owner=_fk(User, payload.owner_id, "owner_id"),
        department=_fk(Department, payload.department_id, "department_id"),
    )
    return {"moved": moved}


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERR}, summary="One customer's archive")
def get_customer(request: HttpRequest, customer_id: int) -> Customer:
    _need(request, "customers.view_customer")
    customer = _customer(request, customer_id)
    log_sensitive_access(
        actor=request.user, objects=[customer], fields=["phone", "id_number"], channel="api", request=request
    )
    return customer


@router.patch("/customers/{customer_id}", response={200: CustomerOut, **ERR}, summary="Change a customer")
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Customer:
    _need(request, "customers.change_customer")
    customer = _customer(request, customer_id)
    services.customer_update(
        actor=request.user,
        customer=customer,
        data=_customer_data(payload, partial=True),
        version=payload.version,
    )
    return _customer(request, customer_id)


@router.post(
    "/customers/{customer_id}/tier", response={200: CustomerOut, **ERR}, summary="Set the tier by hand"
)
def set_tier(request: HttpRequest, customer_id: int, payload: TierIn) -> Customer:
    customer = _customer(request, customer_id)
    services.customer_set_tier(
        actor=request.user, customer=customer, tier=payload.tier, reason=payload.reason
    )
    return _customer(request, customer_id)


@router.get("/customers/{customer_id}/tier-changes", response={200: list[TierChangeOut], **ERR})
def tier_changes(request: HttpRequest, customer_id: int) -> Any:
    _need(request, "customers.view_customer")
    return list(_customer(request, customer_id).tier_changes.all()[:200])


@router.get(
    "/customers/{customer_id}/history",
    response={200: list[HistoryOut], **ERR},
    summary="Change history of the customer, its contacts and documents",
)
def customer_history(request: HttpRequest, customer_id: int) -> list[dict[str, Any]]:
    _need(request, "customers.view_customer")
    reveal = can_view_sensitive(request.user)
    customer = _customer(request, customer_id)
    entries: list[LogEntry] = selectors.customer_history(customer=customer)
    # Old and new phone / ID numbers are shown unmasked here, as on the history tab: log it likewise.
    log_sensitive_access(
        actor=request.user,
        objects=[customer],
        fields=["phone", "id_number", "contacts.mobile", "contacts.telephone"],
        channel="api",
        request=request,
        detail="history",
    )
    out = []
    for entry in entries:
        changes = {}
        for field, pair in (entry.changes_dict or {}).items():
            if field in ("phone", "mobile", "telephone", "id_number") and not reveal:
                kind = "id_number" if field == "id_number" else "phone"
                pair = [masked(str(v) if v not in (None, "None") else "", kind, reveal=False) for v in pair]
            changes[field] = pair
        out.append(
            {
                "id": entry.pk,
                "timestamp": entry.timestamp,
                "action": entry.get_action_display(),
                "record_type": entry.content_type.model,
                "object_id": entry.object_pk,
                "object_repr": entry.object_repr,
                "actor_id": entry.actor_id,
                "remote_addr": entry.remote_addr,
                "changes": changes,
            }
        )
    return out


# --- contacts ------------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/contacts", response={200: list[ContactOut], **ERR})
def list_contacts(request: HttpRequest, customer_id: int) -> list[Contact]:
    _need(request, "customers.view_contact")
    contacts = list(_customer(request, customer_id).contacts.all())
    log_sensitive_access(
        actor=request.user, objects=contacts, fields=["mobile", "telephone"], channel="api", request=request
    )
    return contacts


@router.post("/customers/{customer_id}/contacts", response={201: ContactOut, **ERR})
def create_contact(request: HttpRequest, customer_id: int, payload: ContactIn) -> Status[Contact]:
    contact = services.contact_create(
        actor=request.user, customer=_customer(request, customer_id), data=payload.dict()
    )
    return Status(201, contact)


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    contact = (
        Contact.objects.visible_to(request.user).select_related("customer").filter(pk=contact_id).first()
    )
    if contact is None:
        raise NotFound()
    return contact


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **ERR})
def update_contact(request: HttpRequest, contact_id: int, payload: ContactPatch) -> Contact:
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if k != "version"}
    data = {k: v for k, v in data.items() if v is not None or k == "birthday"}
    return services.contact_update(
        actor=request.user, contact=_contact(request, contact_id), data=data, version=payload.version
    )


@router.delete("/contacts/{contact_id}", response={204: None, **ERR})
def delete_contact(request: HttpRequest, contact_id: int) -> Status[None]:
    services.contact_delete(actor=request.user, contact=_contact(request, contact_id))
    return Status(204, None)


# --- documents -----------------------------------------------------------------------------------


@router.get("/customers/{customer_id}/documents", response={200: list[DocumentOut], **ERR})
def list_documents(request: HttpRequest, customer_id: int) -> Any:
    _need(request, "customers.view_customerdocument")
    return list(_customer(request, customer_id).documents.all()[:500])


@router.post(
    "/customers/{customer_id}/documents", response={201: DocumentOut, **ERR}, summary="Upload a document"
)
def upload_document(
    request: HttpRequest,
    customer_id: int,
    file: File[UploadedFile],
    kind: Form[str] = "other",
    title: Form[str] = "",
    important: Form[bool] = False,
    notes: Form[str] = "",
) -> Status[CustomerDocument]:
    if kind not in DocumentKind.values:
        raise ValidationFailed(f"kind: {kind}?", detail={"kind": [", ".join(DocumentKind.values)]})
    document = services.document_upload(
        actor=request.user,
        customer=_customer(request, customer_id),
        uploaded=file,
        kind=kind,
        title=title[:200],
        important=important,
        notes=notes[:500],
    )
    return Status(201, document)


@router.get("/documents/{document_id}/download", response={200: None, **ERR}, summary="Download a document")
def download_document(request: HttpRequest, document_id: int) -> FileResponse:
    _need(request, "customers.view_customerdocument")
    document = CustomerDocument.objects.visible_to(request.user).filter(pk=document_id).first()
    if document is None:
        raise NotFound()
    if not selectors.may_read_document(user=request.user, document=document):
        raise PermissionDenied()
    log_sensitive_access(
        actor=request.user, objects=[document], fields=["file"], channel="api", request=request
    )
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound() from exc
    return FileResponse(
        handle, as_attachment=True, filename=document.original_name, content_type=document.content_type
    )


# --- trades, contact records ------------------------------------------------------------------------


@router.get("/customers/{customer_id}/trades", response={200: list[TradeOut], **ERR})
def list_trades(request: HttpRequest, customer_id: int) -> Any:
    _need(request, "customers.view_traderecord")
    return list(_customer(request, customer_id).trades.all()[:500])


@router.post("/customers/{customer_id}/trades", response={201: TradeOut, **ERR})
def create_trade(request: HttpRequest, customer_id: int, payload: TradeIn) -> Any:
    return Status(
        201,
        services.trade_record_create(
            actor=request.user, customer=_customer(request, customer_id), **payload.dict()
        ),
    )


@router.get("/customers/{customer_id}/contact-records", response={200: list[ContactRecordOut], **ERR})
def list_contact_records(request: HttpRequest, customer_id: int) -> Any:
    _need(request, "customers.view_contactrecord")
    return list(_customer(request, customer_id).contact_records.all()[:500])


@router.post("/customers/{customer_id}/contact-records", response={201: ContactRecordOut, **ERR})
def create_contact_record(request: HttpRequest, customer_id: int, payload: ContactRecordIn) -> Any:
    customer = _customer(request, customer_id)
    contact = None
    if payload.contact_id is not None:
        contact = customer.contacts.filter(pk=payload.contact_id).first()
        if contact is None:
            raise ValidationFailed("contact_id?", detail={"contact_id": ["not a contact of this customer"]})
    if payload.channel not in ContactChannel.values:
        raise ValidationFailed("channel?")
    return Status(
        201,
        services.contact_record_create(
            actor=request.user,
            customer=customer,
            summary=payload.summary,
            channel=payload.channel,
            happened_at=payload.happened_at,
            contact=contact,
        ),
    )


# --- the archive specialist's lists ------------------------------------------------------------------


@router.get("/lists/big-customers", response={200: CustomerPage, **ERR}, summary="The VIP list (A/B/C)")
def list_big_customers(
    request: HttpRequest, tier: str = "", limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    _need(request, "customers.view_customer")
    limit, offset = _window(limit, offset)
    queryset = selectors.big_customers(user=request.user, tier=tier)
    items = list(queryset[offset : offset + limit])
    log_sensitive_access(actor=request.user, objects=items, fields=["phone"], channel="api", request=request)
    return {"count": queryset.count(), "items": items}


@router.get("/lists/at-risk", response={200: CustomerPage, **ERR}, summary="Customers about to be lost")
def list_at_risk(request: HttpRequest, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    _need(request, "customers.view_customer")
    limit, offset = _window(limit, offset)
    queryset = selectors.at_risk_customers(user=request.user)
    items = list(queryset[offset : offset + limit])
    log_sensitive_access(actor=request.user, objects=items, fields=["phone"], channel="api", request=request)
    return {"count": queryset.count(), "items": items}


@router.get(
    "/lists/birthdays", response={200: list[BirthdayOut], **ERR}, summary="Birthdays in the next N days"
)
def list_birthdays(request: HttpRequest, days: int | None = None) -> list[dict[str, Any]]:
    _need(request, "customers.view_customer")
    if days is not None and not 1 <= days <= 366:
        raise ValidationFailed("days 1–366", detail={"days": ["1–366"]})
    rows = selectors.upcoming_birthdays(user=request.user, days=days)
    return [
        {
            "customer_id": r.customer.pk,
            "contact_id": r.contact.pk if r.contact else None,
            "name": r.name,
            "birthday": r.birthday,
            "next_birthday": r.next_birthday,
            "days_until": r.days_until,
        }
        for r in rows
    ]


# --- borrowing -----------------------------------------------------------------------------------------


@router.get("/borrowings", response={200: list[BorrowOut], **ERR})
def list_borrowings(request: HttpRequest, state: str = "", mine: bool = False) -> Any:
    _need(request, "customers.view_borrowrequest")
    return list(selectors.borrow_requests(user=request.user, state=state, mine=mine)[:500])


@router.post("/borrowings", response={201: BorrowOut, **ERR}, summary="Ask to borrow an important file")
def create_borrowing(request: HttpRequest, payload: BorrowIn) -> Any:
    document = (
        CustomerDocument.objects.visible_to(request.user)
        .select_related("customer")
        .filter(pk=payload.document_id)
        .first()
    )
    if document is None:
        raise NotFound()
    return Status(
        201,
        services.borrow_request_create(
            actor=request.user, document=document, purpose=payload.purpose, due_back_on=payload.due_back_on
        ),
    )


@router.post(
    "/borrowings/{borrow_id}/{action}",
    response={200: BorrowOut, **ERR},
    summary="approve / reject / cancel / return / check",
)
def transition_borrowing(request: HttpRequest, borrow_id: int, action: str, payload: BorrowActionIn) -> Any:
    borrow = get_object_or_404(BorrowRequest.objects.visible_to(request.user), pk=borrow_id)
    if action not in services.BORROW_ACTION_LABELS:
        raise NotFound()
    return services.borrow_request_transition(
        actor=request.user, borrow=borrow, action=action, note=payload.note, check_passed=payload.check_passed
    )


# --- policies ------------------------------------------------------------------------------------------


@router.get("/policies/tier", response={200: list[TierPolicyOut], **ERR}, tags=["policies"])
def list_tier_policies(request: HttpRequest) -> Any:
    _need(request, "customers.view_tierpolicy")
    return list(TierPolicy.objects.order_by("-effective_from", "-id")[:100])


@router.post("/policies/tier", response={201: TierPolicyOut, **ERR}, tags=["policies"])
def create_tier_policy(request: HttpRequest, payload: TierPolicyIn) -> Any:
    return Status(201, services.tier_policy_create(actor=request.user, **payload.dict()))


@router.get("/policies/churn", response={200: list[ChurnPolicyOut], **ERR}, tags=["policies"])
def list_churn_policies(request: HttpRequest) -> Any:
    _need(request, "customers.view_churnpolicy")
    return list(ChurnPolicy.objects.order_by("-effective_from", "-id")[:100])


@router.post("/policies/churn", response={201: ChurnPolicyOut, **ERR}, tags=["policies"])
def create_churn_policy(request: HttpRequest, payload: ChurnPolicyIn) -> Any:
    return Status(201, services.churn_policy_create(actor=request.user, **payload.dict()))


# --- Excel import ----------------------------------------------------------------------------------------


@router.post(
    "/imports",
    response={201: ImportOut, **ERR},
    tags=["import"],
    summary="Upload an .xlsx: starts the dry run",
)
def start_import(request: HttpRequest, file: File[UploadedFile], update_existing: Form[bool] = False) -> Any:
    return Status(
        201,
        importing.customer_import_start(actor=request.user, uploaded=file, update_existing=update_existing),
    )


def _import(request: HttpRequest, import_id: int) -> CustomerImport:
    _need(request, "customers.import_customer")
    job = CustomerImport.objects.filter(pk=import_id).first()
    if job is None or (
        job.created_by_id != request.user.pk and not request.user.has_perm("customers.view_sensitive")
    ):
        raise NotFound()
    return job


@router.get(
    "/imports/{import_id}",
    response={200: ImportOut, **ERR},
    tags=["import"],
    summary="Progress and row errors",
)
def get_import(request: HttpRequest, import_id: int) -> CustomerImport:
    job = _import(request, import_id)
    job.refresh_from_db()
    return job


@router.post(
    "/imports/{import_id}/confirm",
    response={201: ImportOut, **ERR},
    tags=["import"],
    summary="Import for real the rows a finished dry run accepted",
)
def confirm_import(request: HttpRequest, import_id: int) -> Any:
    return Status(
        201, importing.customer_import_confirm(actor=request.user, dry_run=_import(request, import_id))
    )
