"""Writes to the customer archive. Pages, API, import, CLI and jobs all come through here."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.accounts.models import Department, User
from kefu.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    validation_error_from_django,
)
from kefu.core.history import acting
from kefu.core.numbering import next_number
from kefu.core.permissions import require_perm, require_visible
from kefu.core.phones import normalize_phone
from kefu.core.pinyin import bigrams, pinyin_full, pinyin_initials
from kefu.core.validators import is_valid_credit_code, is_valid_id_number
from kefu.customers.models import (
    BorrowRequest,
    BorrowState,
    ChurnPolicy,
    Contact,
    ContactRecord,
    Customer,
    CustomerDocument,
    CustomerKind,
    CustomerNameGram,
    CustomerPhone,
    Lifecycle,
    Tier,
    TierChange,
    TierPolicy,
    TierSource,
    TradeRecord,
)
from kefu.customers.signals import customer_lost, tier_changed, trade_recorded

# Fields a caller may set on a customer through customer_create / customer_update.
CUSTOMER_FIELDS = [
    "kind",
    "name",
    "short_name",
    "credit_code",
    "legal_representative",
    "registered_capital",
    "licence_valid_until",
    "tax_registration_number",
    "id_number",
    "gender",
    "birthday",
    "member_number",
    "member_since",
    "phone",
    "email",
    "province",
    "city",
    "address",
    "postcode",
    "website",
    "industry",
    "source",
    "lifecycle",
    "lost_reason",
    "is_vip",
    "brand_value",
    "annual_tons",
    "production_process",
    "raw_materials",
    "investment",
    "production_notes",
    "credit_status",
    "credit_rating",
    "credit_limit",
    "credit_checked_on",
    "owner",
    "department",
    "sms_opt_out",
    "notes",
]
CONTACT_FIELDS = [
    "name",
    "title",
    "is_primary",
    "gender",
    "mobile",
    "telephone",
    "qq",
    "wechat",
    "email",
    "address",
    "birthday",
    "notes",
]
# Changing these moves a customer between people; it needs the assign right.
ASSIGNMENT_FIELDS = {"owner", "department"}

ALLOWED_DOCUMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
    ".zip": "application/zip",
}
# The first bytes each type must start with: a renamed .exe is not a contract.
MAGIC_NUMBERS = {
    ".pdf": [b"%PDF"],
    ".jpg": [b"\xff\xd8\xff"],
    ".jpeg": [b"\xff\xd8\xff"],
    ".png": [b"\x89PNG\r\n\x1a\n"],
    ".gif": [b"GIF87a", b"GIF89a"],
    ".doc": [b"\xd0\xcf\x11\xe0"],
    ".xls": [b"\xd0\xcf\x11\xe0"],
    ".docx": [b"PK\x03\x04"],
    ".xlsx": [b"PK\x03\x04"],
    ".zip": [b"PK\x03\x04"],
}


# --- helpers ---------------------------------------------------------------------------------


def _birthday_mmdd(day: dt.date | None) -> str:
    return day.strftime("%m%d") if day else ""


def _clean_text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _validate_customer(customer: Customer) -> None:
    errors = customer_problems(customer)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)


def customer_problems(customer: Customer) -> dict[str, list[str]]:
    """Domain checks beyond the field types, all at once by field (also used for inline validation)."""
    errors: dict[str, list[str]] = {}
    if not (customer.name or "").strip():
        errors.setdefault("name", []).append(_("Enter the customer's name."))
    if customer.phone and not normalize_phone(customer.phone):
        errors.setdefault("phone", []).append(
            _(
                "“%(value)s” is not a valid phone number: enter an 11-digit mobile or a landline with area code."
            )
            % {"value": customer.phone}
        )
    if customer.credit_code:
        customer.credit_code = customer.credit_code.strip().upper()
        if not is_valid_credit_code(customer.credit_code):
            errors.setdefault("credit_code", []).append(
                _("The unified social credit code must have 18 characters and a correct check character.")
            )
    if customer.id_number:
        customer.id_number = customer.id_number.strip().upper()
        if not is_valid_id_number(customer.id_number):
            errors.setdefault("id_number", []).append(
                _("The ID number must have 18 characters, a real birth date and a correct check digit.")
            )
    if customer.kind == CustomerKind.COMPANY and customer.id_number:
        errors.setdefault("id_number", []).append(_("A company has a credit code, not an ID number."))
    for field in ("annual_tons", "registered_capital", "investment", "credit_limit"):
        value = getattr(customer, field)
        if value is not None and Decimal(value) < 0:
            errors.setdefault(field, []).append(_("The value cannot be negative."))
    if customer.lifecycle == Lifecycle.LOST and not customer.lost_reason:
        errors.setdefault("lost_reason", []).append(_("Say why the customer was lost."))
    if customer.birthday and customer.birthday > timezone.localdate():
        errors.setdefault("birthday", []).append(_("The birthday cannot be in the future."))
    try:
        customer.full_clean(exclude=["archive_number", "credit_code", "member_number"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    _check_unique(
        customer, "credit_code", _("Another customer already has this credit code: %(other)s."), errors
    )
    _check_unique(
        customer,
        "member_number",
        _("Another customer already has this member card number: %(other)s."),
        errors,
    )
    return errors


def _check_unique(customer: Customer, field: str, message: str, errors: dict[str, list[str]]) -> None:
    value = getattr(customer, field)
    if not value:
        setattr(customer, field, None)
        return
    other = (
        Customer.objects.filter(**{field: value})
        .exclude(pk=customer.pk)
        .values_list("archive_number", flat=True)
        .first()
    )
    if other:
        errors.setdefault(field, []).append(message % {"other": other})


def _validate_contact(contact: Contact) -> None:
    errors: dict[str, list[str]] = {}
    if not (contact.name or "").strip():
        errors.setdefault("name", []).append(_("Enter the contact's name."))
    for field in ("mobile", "telephone"):
        value = getattr(contact, field)
        if value and not normalize_phone(value):
            errors.setdefault(field, []).append(
                _(
                    "“%(value)s” is not a valid phone number: enter an 11-digit mobile or a landline with area code."
                )
                % {"value": value}
            )
    if contact.qq and not contact.qq.isdigit():
        errors.setdefault("qq", []).append(_("A QQ number has only digits."))
    if contact.birthday and contact.birthday > timezone.localdate():
        errors.setdefault("birthday", []).append(_("The birthday cannot be in the future."))
    try:
        contact.full_clean(exclude=["customer"], validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)


def customer_reindex_phones(customer: Customer) -> None:
    """Rebuild the phone lookup rows of one customer from its main phone and its contacts."""
    numbers: set[tuple[int | None, str]] = set()
    main = normalize_phone(customer.phone)
    if main:
        numbers.add((None, main))
    for contact_id, mobile, telephone in customer.contacts.values_list("id", "mobile", "telephone"):
        for raw in (mobile, telephone):
            normalized = normalize_phone(raw)
            if normalized:
                numbers.add((contact_id, normalized))
    CustomerPhone.objects.filter(customer=customer).delete()
    CustomerPhone.objects.bulk_create(
        [
            CustomerPhone(customer=customer, contact_id=contact_id, number=number)
            for contact_id, number in numbers
        ]
    )


def customer_reindex_name(customer: Customer) -> None:
    """Rebuild the name-fragment index rows of one customer."""
    CustomerNameGram.objects.filter(customer=customer).delete()
    CustomerNameGram.objects.bulk_create(
        [
            CustomerNameGram(
                customer=customer,
                gram=gram,
                department_id=customer.department_id,
                owner_id=customer.owner_id,
            )
            for gram in sorted(bigrams(customer.name, customer.short_name))
        ]
    )


def customer_reindex_scope(customers: Iterable[Customer]) -> None:
    """Copy the customers' department and owner onto their name pieces (after an assignment)."""
    groups: dict[tuple[int | None, int | None], list[int]] = {}
    for customer in customers:
        groups.setdefault((customer.department_id, customer.owner_id), []).append(customer.pk)
    for (department_id, owner_id), ids in groups.items():
        CustomerNameGram.objects.filter(customer_id__in=ids).update(
            department_id=department_id, owner_id=owner_id
        )


def _apply_tier_policy(customer: Customer, *, actor: User | None, reason: str = "") -> None:
    """Recompute the tier of a customer whose tier follows the policy, recording any change."""
    if customer.tier_source != TierSource.POLICY:
        return
    in_force = TierPolicy.in_force()
    policy = in_force if in_force.pk else None
    tier = in_force.tier_for(
        annual_tons=customer.annual_tons, brand_value=customer.brand_value, is_vip=customer.is_vip
    )
    old_policy_id = customer.tier_policy_id
    customer.tier_policy = policy
    if tier != customer.tier:
        old = customer.tier
        customer.tier = tier
        customer.tier_reason = reason or _("Computed from the tier policy")
        if customer.pk:
            _record_tier_change(
                customer,
                old=old,
                actor=actor,
                source=TierSource.POLICY,
                reason=customer.tier_reason,
                policy=policy,
            )
    elif old_policy_id != customer.tier_policy_id and not customer.tier_reason:
        customer.tier_reason = _("Computed from the tier policy")


def _record_tier_change(
    customer: Customer, *, old: str, actor: User | None, source: str, reason: str, policy: TierPolicy | None
) -> None:
    TierChange.objects.create(
        customer=customer,
        at=timezone.now(),
        from_tier=old,
        to_tier=customer.tier,
        source=source,
        reason=reason,
        policy=policy,
        actor=actor if actor is not None and actor.pk else None,
    )
    customer_id, new = customer.pk, customer.tier
    transaction.on_commit(
        lambda: tier_changed.send(sender=Customer, customer_id=customer_id, old_tier=old, new_tier=new)
    )


def _check_assignment(actor: User, customer: Customer, changed: set[str]) -> None:
    """Moving a customer to someone else needs the assign right; putting it on oneself does not."""
    if not (changed & ASSIGNMENT_FIELDS) or actor.has_perm("customers.assign_customer"):
        return
    own = (customer.owner_id in (None, actor.pk)) and (customer.department_id in (None, actor.department_id))
    if not own:
        raise PermissionDenied(
            _("Only a supervisor or manager may give a customer to another person or department.")
        )


def _lifecycle_touch(customer: Customer, old: str | None) -> None:
    if old != customer.lifecycle:
        customer.lifecycle_changed_at = timezone.now()
    if customer.lifecycle != Lifecycle.LOST:
        customer.lost_reason = ""


# --- customers -------------------------------------------------------------------------------


@transaction.atomic
def customer_create(*, actor: User, data: Mapping[str, Any], skip_permission: bool = False) -> Customer:
    if not skip_permission:
        require_perm(actor, "customers.add_customer")
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    customer = Customer(created_by=actor if actor.pk else None)
    for field, value in data.items():
        setattr(customer, field, _clean_text(value))
    if "owner" not in data:
        customer.owner = actor if actor.pk else None
    if "department" not in data:
        customer.department = getattr(actor, "department", None)
    _check_assignment(actor, customer, {f for f in ASSIGNMENT_FIELDS if f in data})
    _validate_customer(customer)
    customer.name = customer.name.strip()
    customer.name_pinyin = pinyin_full(customer.name)[:400]
    customer.name_initials = pinyin_initials(customer.name)[:200]
    customer.birthday_mmdd = _birthday_mmdd(customer.birthday)
    _lifecycle_touch(customer, None)
    _apply_tier_policy(customer, actor=actor)
    with acting(actor):
        for _attempt in range(3):
            customer.archive_number = next_number("KH", width=7)
            try:
                with transaction.atomic():
                    customer.save()
                break
            except IntegrityError as exc:
                # Only a clash of archive numbers (someone imported that number by hand) is retried.
                if "archive_number" not in str(exc):
                    raise ValidationFailed(
                        _("The customer could not be saved: a unique field is already used.")
                    ) from exc
        else:
            raise Conflict(_("Could not allocate an archive number; try again."))
        if customer.tier:
            _record_tier_change(
                customer,
                old="",
                actor=actor,
                source=TierSource.POLICY,
                reason=customer.tier_reason,
                policy=customer.tier_policy,
            )
        customer_reindex_phones(customer)
        customer_reindex_name(customer)
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: User,
    customer: Customer,
    data: Mapping[str, Any],
    version: int | None = None,
    skip_permission: bool = False,
) -> Customer:
    if not skip_permission:
        require_perm(actor, "customers.change_customer")
        require_visible(actor, customer)
    unknown = set(data) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if version is not None and locked.version != version:
        raise Conflict(
            _("%(name)s was changed by someone else since you opened it; reload to see the changes.")
            % {"name": locked.name}
        )
    old_lifecycle = locked.lifecycle
    changed = {f for f, v in data.items() if _field_value(locked, f) != _clean_text(v)}
    for field, value in data.items():
        setattr(locked, field, _clean_text(value))
    if not skip_permission:
        _check_assignment(actor, locked, changed)
    _validate_customer(locked)
    locked.name = locked.name.strip()
    locked.name_pinyin = pinyin_full(locked.name)[:400]
    locked.name_initials = pinyin_initials(locked.name)[:200]
    locked.birthday_mmdd = _birthday_mmdd(locked.birthday)
    _lifecycle_touch(locked, old_lifecycle)
    _apply_tier_policy(locked, actor=actor)
    locked.version += 1
    with acting(actor):
        locked.save()
        if old_lifecycle != Lifecycle.LOST and locked.lifecycle == Lifecycle.LOST:
            lost_id = locked.pk
            transaction.on_commit(lambda: customer_lost.send(sender=Customer, customer_id=lost_id))
        if "phone" in changed:
            customer_reindex_phones(locked)
        if changed & {"name", "short_name"}:
            customer_reindex_name(locked)
        elif changed & ASSIGNMENT_FIELDS:
            customer_reindex_scope([locked])
    return locked


def _field_value(instance: Any, field: str) -> Any:
    return getattr(instance, field)


@transaction.atomic
def customer_set_tier(*, actor: User, customer: Customer, tier: str | None, reason: str) -> Customer:
    """Set the tier by hand (with a reason), or give it back to the policy with tier=None."""
    require_perm(actor, "customers.set_tier")
    require_visible(actor, customer)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    with acting(actor):
        if tier is None:
            locked.tier_source = TierSource.POLICY
            locked.tier_reason = ""
            _apply_tier_policy(locked, actor=actor, reason=reason or _("Tier returned to the policy"))
        else:
            if tier not in Tier.values:
                raise ValidationFailed(
                    _("Choose tier A, B, C or none."), detail={"tier": [_("Unknown tier.")]}
                )
            if not (reason or "").strip():
                raise ValidationFailed(
                    _("Give a reason when setting a tier by hand."),
                    detail={"reason": [_("This field is required.")]},
                )
            old = locked.tier
            locked.tier = tier
            locked.tier_source = TierSource.MANUAL
            locked.tier_reason = reason.strip()[:300]
            if tier in (Tier.A, Tier.B, Tier.C):
                locked.is_vip = True
            _record_tier_change(
                locked, old=old, actor=actor, source=TierSource.MANUAL, reason=locked.tier_reason, policy=None
            )
        locked.version += 1
        locked.save()
    return locked


@transaction.atomic
def customers_assign(
    *, actor: User, customer_ids: Iterable[int], owner: User | None, department: Department | None
) -> int:
    """Bulk hand-over of customers to a person and/or department. Returns how many moved."""
    require_perm(actor, "customers.assign_customer")
    ids = list(customer_ids)
    in_range = [pk for pk in ids if 0 < pk < 2**63]  # a bigger id is no row, not a database error
    visible = list(Customer.objects.visible_to(actor).filter(pk__in=in_range).select_for_update())
    if len(visible) != len(set(ids)):
        raise NotFound(_("Some of the chosen customers are not visible to you."))
    if owner is None and department is None:
        raise ValidationFailed(_("Choose a new owner or a new department."))
    with acting(actor):
        for customer in visible:
            if owner is not None:
                customer.owner = owner
            if department is not None:
                customer.department = department
            customer.version += 1
            customer.save(update_fields=["owner", "department", "version", "updated_at"])
        customer_reindex_scope(visible)
    return len(visible)


def customers_recompute_tiers(*, policy_id: int | None = None, batch_size: int = 2000) -> int:
    """Move every policy-tiered customer to the tier the given (or in-force) policy version gives.

    Customers already computed under this version are skipped, so a re-run costs one query.
    Returns how many customers changed tier.
    """
    policy = TierPolicy.objects.filter(pk=policy_id).first() if policy_id else TierPolicy.in_force()
    if policy is None or policy.pk is None:
        return 0
    if policy.effective_from > timezone.localdate():
        return 0  # not in force yet; the daily job applies it on its date
    moved = 0
    last_id = 0
    pending = Customer.objects.filter(tier_source=TierSource.POLICY).exclude(tier_policy_id=policy.pk)
    while True:
        with transaction.atomic():
            batch = list(pending.filter(pk__gt=last_id).order_by("pk").select_for_update()[:batch_size])
            if not batch:
                return moved
            last_id = batch[-1].pk
            for customer in batch:
                old = customer.tier
                customer.tier = policy.tier_for(
                    annual_tons=customer.annual_tons, brand_value=customer.brand_value, is_vip=customer.is_vip
                )
                customer.tier_policy = policy
                if old != customer.tier:
                    customer.tier_reason = _("Recomputed under the tier policy of %(date)s") % {
                        "date": policy.effective_from.isoformat()
                    }
                    _record_tier_change(
                        customer,
                        old=old,
                        actor=None,
                        source=TierSource.POLICY,
                        reason=customer.tier_reason,
                        policy=policy,
                    )
                    moved += 1
                customer.save(update_fields=["tier", "tier_policy", "tier_reason", "updated_at"])


# --- contacts --------------------------------------------------------------------------------


def _ensure_single_primary(contact: Contact) -> None:
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)


@transaction.atomic
def contact_create(*, actor: User, customer: Customer, data: Mapping[str, Any]) -> Contact:
    require_perm(actor, "customers.add_contact")
    require_visible(actor, customer)
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    contact = Contact(customer=customer)
    for field, value in data.items():
        setattr(contact, field, _clean_text(value))
    if not customer.contacts.exists():
        contact.is_primary = True
    _validate_contact(contact)
    contact.name_pinyin = pinyin_full(contact.name)[:200]
    contact.name_initials = pinyin_initials(contact.name)[:50]
    contact.birthday_mmdd = _birthday_mmdd(contact.birthday)
    with acting(actor):
        contact.save()
        _ensure_single_primary(contact)
        customer_reindex_phones(customer)
    return contact


@transaction.atomic
def contact_update(
    *, actor: User, contact: Contact, data: Mapping[str, Any], version: int | None = None
) -> Contact:
    require_perm(actor, "customers.change_contact")
    require_visible(actor, contact.customer)
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if version is not None and locked.version != version:
        raise Conflict(_("This contact was changed by someone else; reload to see the changes."))
    for field, value in data.items():
        setattr(locked, field, _clean_text(value))
    _validate_contact(locked)
    locked.name_pinyin = pinyin_full(locked.name)[:200]
    locked.name_initials = pinyin_initials(locked.name)[:50]
    locked.birthday_mmdd = _birthday_mmdd(locked.birthday)
    locked.version += 1
    with acting(actor):
        locked.save()
        _ensure_single_primary(locked)
        customer_reindex_phones(locked.customer)
    return locked


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact) -> None:
    require_perm(actor, "customers.delete_contact")
    require_visible(actor, contact.customer)
    customer = contact.customer
    with acting(actor):
        contact.delete()
        customer_reindex_phones(customer)


# --- documents -------------------------------------------------------------------------------


def _document_checks(uploaded: Any) -> tuple[str, str]:
    """Size and type limits; returns (extension, content type) or raises with what to fix."""
    name = Path(getattr(uploaded, "name", "") or "").name
    ext = Path(name).suffix.lower()
    size = getattr(uploaded, "size", 0) or 0
    limit = settings.UPLOAD_MAX_MB * 1024 * 1024
    if not name:
        raise ValidationFailed(_("Choose a file to upload."), detail={"file": [_("No file was sent.")]})
    if size == 0:
        raise ValidationFailed(
            _("The file “%(name)s” is empty.") % {"name": name}, detail={"file": [_("The file is empty.")]}
        )
    if size > limit:
        raise ValidationFailed(
            _("The file “%(name)s” is %(size).1f MB; the limit is %(limit)d MB.")
            % {"name": name, "size": size / 1024 / 1024, "limit": settings.UPLOAD_MAX_MB},
            detail={"file": [_("The file is too large.")]},
        )
    if ext not in ALLOWED_DOCUMENT_TYPES:
        raise ValidationFailed(
            _("Files of type “%(ext)s” are not accepted. Allowed: %(allowed)s.")
            % {"ext": ext or "?", "allowed": ", ".join(sorted(ALLOWED_DOCUMENT_TYPES))},
            detail={"file": [_("This file type is not accepted.")]},
        )
    uploaded.seek(0)
    head = uploaded.read(16)
    uploaded.seek(0)
    if ext in MAGIC_NUMBERS and not any(head.startswith(magic) for magic in MAGIC_NUMBERS[ext]):
        raise ValidationFailed(
            _("The file “%(name)s” is not really a %(ext)s file; it may be damaged or renamed.")
            % {"name": name, "ext": ext},
            detail={"file": [_("The content does not match the file type.")]},
        )
    return ext, ALLOWED_DOCUMENT_TYPES[ext]


@transaction.atomic
def document_upload(
    *,
    actor: User,
    customer: Customer,
    uploaded: Any,
    kind: str,
    title: str = "",
    important: bool = False,
    notes: str = "",
) -> CustomerDocument:
    require_perm(actor, "customers.add_customerdocument")
    require_visible(actor, customer)
    ext, content_type = _document_checks(uploaded)
    digest = hashlib.sha256()
    for chunk in uploaded.chunks() if hasattr(uploaded, "chunks") else [uploaded.read()]:
        digest.update(chunk)
    uploaded.seek(0)
    original = Path(uploaded.name).name[:255]
    document = CustomerDocument(
        customer=customer,
        kind=kind,
        title=(title or "").strip() or Path(original).stem[:200],
        original_name=original,
        extension=ext,
        size=uploaded.size,
        content_type=content_type,
        sha256=digest.hexdigest(),
        important=important,
        notes=(notes or "").strip(),
        uploaded_by=actor,
    )
    try:
        document.full_clean(exclude=["file", "customer", "uploaded_by"])
    except ValidationError as exc:
        raise validation_error_from_django(exc) from exc
    with acting(actor):
        document.file.save(original, File(uploaded), save=False)
        # If the row cannot be written, the stored file must not stay behind as an orphan.
        try:
            document.save()
        except Exception:
            document.file.delete(save=False)
            raise
    return document


@transaction.atomic
def document_delete(*, actor: User, document: CustomerDocument) -> None:
    require_perm(actor, "customers.delete_customerdocument")
    require_visible(actor, document.customer)
    if document.borrowings.exclude(
        state__in=[BorrowState.CHECKED, BorrowState.REJECTED, BorrowState.CANCELLED]
    ).exists():
        raise DomainError(
            _("This file is on loan; it can be removed after it is returned and checked."), code="on_loan"
        )
    if document.borrowings.exists():
        raise DomainError(
            _("This file has a borrowing history and stays in the archive."), code="has_history"
        )
    stored = document.file.name
    storage = document.file.storage
    with acting(actor):
        document.delete()
    transaction.on_commit(lambda: storage.delete(stored))


def document_guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# --- trades and contact records ----------------------------------------------------------------


@transaction.atomic
def trade_record_create(
    *,
    actor: User,
    customer: Customer,
    traded_on: dt.date,
    kind: str,
    amount: Decimal,
    product: str = "",
    quantity_tons: Decimal | None = None,
    reference: str = "",
    notes: str = "",
) -> TradeRecord:
    require_perm(actor, "customers.add_traderecord")
    require_visible(actor, customer)
    record = TradeRecord(
        customer=customer,
        traded_on=traded_on,
        kind=kind,
        amount=amount,
        product=product.strip(),
        quantity_tons=quantity_tons,
        reference=reference.strip(),
        notes=notes.strip(),
        recorded_by=actor,
    )
    errors: dict[str, list[str]] = {}
    if traded_on and traded_on > timezone.localdate():
        errors["traded_on"] = [_("A trade cannot be dated in the future.")]
    if quantity_tons is not None and quantity_tons < 0:
        errors["quantity_tons"] = [_("The value cannot be negative.")]
    try:
        record.full_clean(exclude=["customer", "recorded_by"])
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    with acting(actor):
        record.save()
        traded_at = timezone.make_aware(dt.datetime.combine(traded_on, dt.time(12, 0)))
        Customer.objects.filter(pk=customer.pk).filter(
            models_q_last_before("last_trade_at", traded_at)
        ).update(last_trade_at=traded_at)
        if customer.lifecycle in (Lifecycle.POTENTIAL, Lifecycle.OPENED) and kind == "purchase":
            Customer.objects.filter(pk=customer.pk).update(
                lifecycle=Lifecycle.PURCHASING, lifecycle_changed_at=timezone.now()
            )
    customer_id, trade_id = customer.pk, record.pk
    transaction.on_commit(
        lambda: trade_recorded.send(sender=TradeRecord, customer_id=customer_id, trade_id=trade_id, kind=kind)
    )
    return record


def models_q_last_before(field: str, moment: dt.datetime) -> Any:
    from django.db.models import Q

    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": moment})


@transaction.atomic
def contact_record_create(
    *,
    actor: User,
    customer: Customer,
    summary: str,
    channel: str,
    happened_at: dt.datetime | None = None,
    contact: Contact | None = None,
    skip_permission: bool = False,
) -> ContactRecord:
    """`skip_permission` is for services that checked their own right to reach the customer
    (a return visit leaves its contact on the file)."""
    if not skip_permission:
        require_perm(actor, "customers.add_contactrecord")
        require_visible(actor, customer)
    happened_at = happened_at or timezone.now()
    if happened_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(
            _("A contact cannot be recorded in the future."), detail={"happened_at": [_("In the future.")]}
        )
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationFailed(
            _("That contact belongs to another customer."), detail={"contact": [_("Wrong customer.")]}
        )
    record = ContactRecord(
        customer=customer,
        contact=contact,
        happened_at=happened_at,
        channel=channel,
        summary=(summary or "").strip(),
        recorded_by=actor,
    )
    try:
        record.full_clean(exclude=["customer", "contact", "recorded_by"])
    except ValidationError as exc:
        raise validation_error_from_django(exc) from exc
    with acting(actor):
        record.save()
        Customer.objects.filter(pk=customer.pk).filter(
            models_q_last_before("last_contact_at", happened_at)
        ).update(last_contact_at=happened_at)
    return record


# --- policies --------------------------------------------------------------------------------


@transaction.atomic
def tier_policy_create(
    *,
    actor: User,
    effective_from: dt.date,
    a_min_tons: Decimal,
    b_min_tons: Decimal,
    brand_value_makes_a: bool = True,
    scale_makes_vip: bool = True,
    note: str = "",
) -> TierPolicy:
    require_perm(actor, "customers.add_tierpolicy")
    if a_min_tons <= 0 or b_min_tons <= 0:
        raise ValidationFailed(
            _("Thresholds must be positive."), detail={"b_min_tons": [_("Must be positive.")]}
        )
    if b_min_tons >= a_min_tons:
        raise ValidationFailed(
            _("The tier B threshold must be below the tier A threshold."),
            detail={"b_min_tons": [_("Must be below the tier A threshold.")]},
        )
    policy = TierPolicy(
        effective_from=effective_from,
        a_min_tons=a_min_tons,
        b_min_tons=b_min_tons,
        brand_value_makes_a=brand_value_makes_a,
        scale_makes_vip=scale_makes_vip,
        note=note.strip(),
        created_by=actor,
    )
    with acting(actor):
        policy.save()
    if effective_from <= timezone.localdate():
        from kefu.customers.tasks import recompute_tiers

        transaction.on_commit(lambda: recompute_tiers(policy.pk))
    return policy


@transaction.atomic
def churn_policy_create(
    *,
    actor: User,
    effective_from: dt.date,
    days_without_trade: int,
    days_without_contact: int,
    birthday_days_ahead: int,
    note: str = "",
) -> ChurnPolicy:
    require_perm(actor, "customers.add_churnpolicy")
    errors = {}
    for field, value, top in (
        ("days_without_trade", days_without_trade, 3650),
        ("days_without_contact", days_without_contact, 3650),
        ("birthday_days_ahead", birthday_days_ahead, 366),
    ):
        if value < 1 or value > top:
            errors[field] = [_("Enter a number of days between 1 and %(top)d.") % {"top": top}]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    policy = ChurnPolicy(
        effective_from=effective_from,
        days_without_trade=days_without_trade,
        days_without_contact=days_without_contact,
        birthday_days_ahead=birthday_days_ahead,
        note=note.strip(),
        created_by=actor,
    )
    with acting(actor):
        policy.save()
    return policy


# --- borrowing (借阅) --------------------------------------------------------------------------

BORROW_ACTION_LABELS = {
    "approve": gettext_lazy("approved"),
    "reject": gettext_lazy("rejected"),
    "cancel": gettext_lazy("cancelled"),
    "return": gettext_lazy("returned"),
    "check": gettext_lazy("checked"),
}

# state × action → (new state, right needed). The requester may also cancel his own request.
BORROW_TRANSITIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    (BorrowState.REQUESTED, "approve"): (BorrowState.APPROVED, "customers.approve_borrowrequest"),
    (BorrowState.REQUESTED, "reject"): (BorrowState.REJECTED, "customers.approve_borrowrequest"),
    (BorrowState.REQUESTED, "cancel"): (BorrowState.CANCELLED, None),
    (BorrowState.APPROVED, "return"): (BorrowState.RETURNED, None),
    (BorrowState.RETURNED, "check"): (BorrowState.CHECKED, "customers.check_borrowrequest"),
}


@transaction.atomic
def borrow_request_create(
    *, actor: User, document: CustomerDocument, purpose: str, due_back_on: dt.date
) -> BorrowRequest:
    require_perm(actor, "customers.add_borrowrequest")
    require_visible(actor, document.customer)
    errors: dict[str, list[str]] = {}
    if not (purpose or "").strip():
        errors["purpose"] = [_("Say what the file is needed for.")]
    today = timezone.localdate()
    if due_back_on < today:
        errors["due_back_on"] = [_("The return date cannot be in the past.")]
    elif due_back_on > today + dt.timedelta(days=90):
        errors["due_back_on"] = [_("A file can be borrowed for at most 90 days.")]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], detail=errors)
    open_states = [BorrowState.REQUESTED, BorrowState.APPROVED, BorrowState.RETURNED]
    if BorrowRequest.objects.filter(document=document, state__in=open_states).exists():
        raise Conflict(_("This file is already requested or on loan; wait until it is returned and checked."))
    request = BorrowRequest(
        number=next_number("JY", year=today.year, width=4),
        document=document,
        customer=document.customer,
        requester=actor,
        purpose=purpose.strip()[:300],
        due_back_on=due_back_on,
    )
    with acting(actor):
        request.save()
    return request


@transaction.atomic
def borrow_request_transition(
    *, actor: User, borrow: BorrowRequest, action: str, note: str = "", check_passed: bool | None = None
) -> BorrowRequest:
    locked = BorrowRequest.objects.select_for_update().get(pk=borrow.pk)
    key = (locked.state, action)
    if key not in BORROW_TRANSITIONS:
        raise Conflict(
            _("A request that is “%(state)s” cannot be %(action)s.")
            % {"state": locked.get_state_display(), "action": BORROW_ACTION_LABELS.get(action, action)},
            code="invalid_transition",
        )
    new_state, perm = BORROW_TRANSITIONS[key]
    if perm:
        require_perm(actor, perm)
    if (
        action in ("cancel", "return")
        and locked.requester_id != actor.pk
        and not actor.has_perm("customers.check_borrowrequest")
    ):
        raise PermissionDenied(_("Only the borrower or the archive specialist may do this."))
    if action == "approve" and locked.requester_id == actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("You cannot approve your own borrowing request."))
    now = timezone.now()
    note = (note or "").strip()[:300]
    if action in ("approve", "reject"):
        if action == "reject" and not note:
            raise ValidationFailed(
                _("Give a reason for the rejection."), detail={"note": [_("This field is required.")]}
            )
        locked.decided_by, locked.decided_at, locked.decision_note = actor, now, note
    elif action == "return":
        locked.returned_at, locked.returned_note = now, note
    elif action == "check":
        if check_passed is None:
            raise ValidationFailed(
                _("Say whether the file came back complete."), detail={"check_passed": [_("Required.")]}
            )
        if not check_passed and not note:
            raise ValidationFailed(
                _("Describe what is missing or damaged."), detail={"note": [_("This field is required.")]}
            )
        locked.checked_by, locked.checked_at, locked.check_passed, locked.check_note = (
            actor,
            now,
            check_passed,
            note,
        )
    locked.state = new_state
    with acting(actor):
        locked.save()
    return locked
