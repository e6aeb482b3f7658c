"""Excel import of customers: a dry run first, per-row errors with reasons, duplicates detected.

Each row is written in its own savepoint through `customer_create`, so a bad row never leaves a
half-written customer behind and the dry run applies exactly the checks the real run applies.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from kefu.accounts.models import Department, User
from kefu.core.errors import Conflict, DomainError, ValidationFailed
from kefu.core.excel import xlsx_response
from kefu.core.permissions import require_perm
from kefu.core.phones import normalize_phone
from kefu.customers.models import (
    Customer,
    CustomerImport,
    CustomerKind,
    CustomerPhone,
    ImportStatus,
    Lifecycle,
)
from kefu.customers.services import contact_create, customer_create, customer_update

MAX_STORED_ERRORS = 1000
PROGRESS_EVERY = 50


@dataclass(frozen=True)
class Column:
    header: str  # the Chinese header in the template
    field: str
    required: bool = False
    kind: str = "text"  # text / decimal / date / bool / kind / lifecycle / user / department


COLUMNS: list[Column] = [
    Column("名称", "name", required=True),
    Column("类型", "kind", kind="kind"),
    Column("简称", "short_name"),
    Column("统一社会信用代码", "credit_code"),
    Column("身份证号", "id_number"),
    Column("电话", "phone"),
    Column("邮箱", "email"),
    Column("省份", "province"),
    Column("城市", "city"),
    Column("地址", "address"),
    Column("行业", "industry"),
    Column("年规模(吨)", "annual_tons", kind="decimal"),
    Column("品牌推广价值", "brand_value", kind="bool"),
    Column("大客户名单", "is_vip", kind="bool"),
    Column("生命周期", "lifecycle", kind="lifecycle"),
    Column("信用等级", "credit_rating"),
    Column("生日", "birthday", kind="date"),
    Column("会员卡号", "member_number"),
    Column("负责人", "owner", kind="user"),
    Column("部门", "department", kind="department"),
    Column("联系人", "contact_name"),
    Column("联系人手机", "contact_mobile"),
    Column("联系人职务", "contact_title"),
    Column("备注", "notes"),
]
CONTACT_COLUMNS = {"contact_name", "contact_mobile", "contact_title"}
KIND_WORDS = {
    "企业": CustomerKind.COMPANY,
    "公司": CustomerKind.COMPANY,
    "company": CustomerKind.COMPANY,
    "个人": CustomerKind.PERSON,
    "会员": CustomerKind.PERSON,
    "person": CustomerKind.PERSON,
}
LIFECYCLE_WORDS = {
    "潜在": Lifecycle.POTENTIAL,
    "开户": Lifecycle.OPENED,
    "购销": Lifecycle.PURCHASING,
    "销户": Lifecycle.CLOSED,
    "流失": Lifecycle.LOST,
    **{v: v for v in Lifecycle.values},
}
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "有"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "", "无"}


class RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _header_map(headers: list[Any]) -> tuple[dict[int, Column], list[str]]:
    by_name = {c.header: c for c in COLUMNS} | {c.field: c for c in COLUMNS}
    mapping: dict[int, Column] = {}
    unknown: list[str] = []
    for index, raw in enumerate(headers):
        text = str(raw).strip().rstrip("*") if raw is not None else ""
        if not text:
            continue
        column = by_name.get(text)
        if column is None:
            unknown.append(text)
        else:
            mapping[index] = column
    return mapping, unknown


def _open_sheet(path: Any) -> Any:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationFailed(
            _(
                "This is not a readable Excel (.xlsx) file. Save it from Excel or WPS as “Excel workbook (.xlsx)” and try again."
            ),
            detail={"file": [_("Not an .xlsx file.")]},
        ) from exc
    return workbook, workbook.worksheets[0]


def _check_headers(sheet: Any) -> tuple[dict[int, Column], list[str]]:
    first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if not first:
        raise ValidationFailed(
            _("The first sheet is empty: the first row must hold the column headers."),
            detail={"file": [_("No header row.")]},
        )
    mapping, unknown = _header_map(list(first))
    missing = [c.header for c in COLUMNS if c.required and c not in mapping.values()]
    if missing:
        raise ValidationFailed(
            _("Required columns are missing: %(missing)s. Download the template to see the expected columns.")
            % {"missing": "、".join(missing)},
            detail={"file": [_("Wrong columns.")], "missing": missing, "unknown": unknown},
        )
    return mapping, unknown


def customer_import_start(*, actor: User, uploaded: Any, update_existing: bool = False) -> CustomerImport:
    """Check the file's shape at once (so a wrong file gets an answer now), then queue the dry run."""
    require_perm(actor, "customers.import_customer")
    name = Path(getattr(uploaded, "name", "") or "").name
    if not getattr(uploaded, "size", 0):
        raise ValidationFailed(
            _("The file “%(name)s” is empty.") % {"name": name or "?"},
            detail={"file": [_("The file is empty.")]},
        )
    if uploaded.size > settings.UPLOAD_MAX_MB * 1024 * 1024:
        raise ValidationFailed(
            _("The file is larger than %(limit)d MB.") % {"limit": settings.UPLOAD_MAX_MB},
            detail={"file": [_("The file is too large.")]},
        )
    if Path(name).suffix.lower() != ".xlsx":
        raise ValidationFailed(
            _("Only Excel .xlsx files can be imported; “%(name)s” is not one.") % {"name": name},
            detail={"file": [_("Not an .xlsx file.")]},
        )
    uploaded.seek(0)
    workbook, sheet = _open_sheet(uploaded)
    try:
        _mapping, unknown = _check_headers(sheet)
    finally:
        workbook.close()
    uploaded.seek(0)
    with transaction.atomic():
        job = CustomerImport(
            original_name=name[:255], dry_run=True, update_existing=update_existing, created_by=actor
        )
        if unknown:
            job.message = _("Columns ignored: %(columns)s") % {"columns": "、".join(unknown)[:400]}
        job.file.save(name, File(uploaded), save=False)
        job.save()
        _enqueue(job)
    return job


def customer_import_confirm(*, actor: User, dry_run: CustomerImport) -> CustomerImport:
    """Run for real the file whose dry run the user has read."""
    require_perm(actor, "customers.import_customer")
    with transaction.atomic():
        locked = CustomerImport.objects.select_for_update().get(pk=dry_run.pk)
        if not locked.dry_run or locked.status != ImportStatus.DONE:
            raise Conflict(_("Only a finished dry run can be confirmed."))
        if CustomerImport.objects.filter(source=locked).exists():
            raise Conflict(_("This dry run was already confirmed; see the import list."))
        if locked.created_count + locked.updated_count == 0:
            raise DomainError(_("The dry run found no row to import."), code="nothing_to_import")
        job = CustomerImport.objects.create(
            file=locked.file.name,
            original_name=locked.original_name,
            dry_run=False,
            source=locked,
            update_existing=locked.update_existing,
            created_by=actor,
        )
        _enqueue(job)
    return job


def _enqueue(job: CustomerImport) -> None:
    from kefu.customers.tasks import run_customer_import

    transaction.on_commit(lambda: run_customer_import(job.pk))


def customer_import_run(*, import_id: int) -> CustomerImport:
    """The job body: idempotent — a finished import is not run twice."""
    job = CustomerImport.objects.select_related("created_by").get(pk=import_id)
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return job
    CustomerImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    try:
        _run(job)
    except DomainError as exc:
        _finish(job, status=ImportStatus.FAILED, message=exc.message)
    except Exception as exc:
        _finish(
            job,
            status=ImportStatus.FAILED,
            message=_("The import stopped on an unexpected error: %(error)s") % {"error": exc},
        )
        raise
    return job


def _finish(job: CustomerImport, *, status: str, message: str = "") -> None:
    job.status = status
    if message:
        job.message = (job.message + " " + message).strip()[:500]
    job.finished_at = timezone.now()
    job.save()


def _run(job: CustomerImport) -> None:
    actor = job.created_by
    with job.file.open("rb") as handle:
        workbook, sheet = _open_sheet(handle)
        try:
            mapping, _unknown = _check_headers(sheet)
            rows = [
                row
                for row in sheet.iter_rows(min_row=2, values_only=True)
                if any(v not in (None, "") for v in row)
            ]
        finally:
            workbook.close()
    if len(rows) > settings.IMPORT_MAX_ROWS:
        raise ValidationFailed(
            _("The file has %(rows)d rows; at most %(limit)d can be imported at once.")
            % {"rows": len(rows), "limit": settings.IMPORT_MAX_ROWS}
        )
    job.total_rows = len(rows)
    job.errors = []
    CustomerImport.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
    seen_codes: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    users = _UserLookup()
    for offset, values in enumerate(rows):
        row_number = offset + 2  # as Excel numbers it, after the header row
        try:
            data, contact = _parse_row(values, mapping, users)
            outcome = _import_row(job, actor, data, contact, row_number, seen_codes, seen_phones)
        except RowError as exc:
            _add_error(job, row_number, exc.field, exc.message)
        except DomainError as exc:
            field, message = _first_problem(exc)
            _add_error(job, row_number, field, message)
        else:
            if outcome == "created":
                job.created_count += 1
            elif outcome == "updated":
                job.updated_count += 1
            else:
                job.skipped_count += 1
        job.processed_rows = offset + 1
        if job.processed_rows % PROGRESS_EVERY == 0:
            CustomerImport.objects.filter(pk=job.pk).update(
                processed_rows=job.processed_rows,
                created_count=job.created_count,
                updated_count=job.updated_count,
                skipped_count=job.skipped_count,
                error_count=job.error_count,
            )
    _finish(job, status=ImportStatus.DONE)


class _DryRunRollback(Exception):
    """Raised inside a dry-run savepoint to undo a row that was written only to be checked."""


def _import_row(
    job: CustomerImport,
    actor: User,
    data: dict[str, Any],
    contact: dict[str, Any],
    row_number: int,
    seen_codes: dict[str, int],
    seen_phones: dict[str, int],
) -> str:
    code = (data.get("credit_code") or "").strip().upper()
    phone = normalize_phone(data.get("phone"))
    if code and code in seen_codes:
        raise RowError(
            "credit_code", _("Same credit code as row %(row)d of this file.") % {"row": seen_codes[code]}
        )
    if phone and phone in seen_phones:
        raise RowError("phone", _("Same phone as row %(row)d of this file.") % {"row": seen_phones[phone]})
    existing = _find_duplicate(code, phone)
    if existing is not None and not job.update_existing:
        _add_error(
            job,
            row_number,
            "credit_code" if code else "phone",
            _("Already in the archive as %(number)s %(name)s; skipped.")
            % {"number": existing.archive_number, "name": existing.name},
            count=False,
        )
        _remember(seen_codes, seen_phones, code, phone, row_number)
        return "skipped"
    try:
        with transaction.atomic():
            if existing is not None:
                customer_update(actor=actor, customer=existing, data=data)
                outcome = "updated"
            else:
                customer = customer_create(actor=actor, data=data)
                if contact:
                    _create_contact(actor, customer, contact)
                outcome = "created"
            if job.dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    _remember(seen_codes, seen_phones, code, phone, row_number)
    return outcome


def _create_contact(actor: User, customer: Customer, contact: dict[str, Any]) -> None:
    if not contact.get("name"):
        raise RowError("contact_name", _("A contact mobile or title was given without the contact's name."))
    try:
        contact_create(actor=actor, customer=customer, data=contact)
    except ValidationFailed as exc:
        field, message = _first_problem(exc)
        raise RowError(f"contact_{field}", message) from exc


def _remember(
    seen_codes: dict[str, int], seen_phones: dict[str, int], code: str, phone: str | None, row: int
) -> None:
    if code:
        seen_codes[code] = row
    if phone:
        seen_phones[phone] = row


def _find_duplicate(code: str, phone: str | None) -> Customer | None:
    condition = Q()
    if code:
        condition |= Q(credit_code=code)
    if phone:
        condition |= Q(
            pk__in=CustomerPhone.objects.filter(number=phone, contact__isnull=True).values("customer_id")
        )
    if not condition:
        return None
    return Customer.objects.filter(condition).order_by("pk").first()


def _add_error(job: CustomerImport, row: int, field: str, message: str, *, count: bool = True) -> None:
    if count:
        job.error_count += 1
    if len(job.errors) < MAX_STORED_ERRORS:
        header = next((c.header for c in COLUMNS if c.field == field), field)
        job.errors.append({"row": row, "column": header, "message": str(message), "skipped": not count})


def _first_problem(exc: DomainError) -> tuple[str, str]:
    if isinstance(exc.detail, dict):
        for field, problems in exc.detail.items():
            if isinstance(problems, list) and problems:
                return field, "；".join(str(p) for p in problems)
    return "", exc.message


class _UserLookup:
    """Owner and department cells name people and departments; look each name up once per file."""

    def __init__(self) -> None:
        self.users: dict[str, User | None] = {}
        self.departments: dict[str, Department | None] = {}

    def user(self, text: str) -> User | None:
        if text not in self.users:
            self.users[text] = User.objects.filter(
                Q(username=text) | Q(full_name=text), is_active=True
            ).first()
        return self.users[text]

    def department(self, text: str) -> Department | None:
        if text not in self.departments:
            self.departments[text] = Department.objects.filter(Q(code=text) | Q(name=text)).first()
        return self.departments[text]


def _parse_row(
    values: tuple[Any, ...], mapping: dict[int, Column], users: _UserLookup
) -> tuple[dict[str, Any], dict[str, Any]]:
    data: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    for index, column in mapping.items():
        raw = values[index] if index < len(values) else None
        value = _convert(raw, column, users)
        if column.field in CONTACT_COLUMNS:
            if value not in (None, ""):
                contact[column.field.removeprefix("contact_")] = value
        elif value is not None:
            data[column.field] = value
    if not data.get("name"):
        raise RowError("name", _("The name is empty."))
    return data, contact


def _convert(raw: Any, column: Column, users: _UserLookup) -> Any:
    text = (
        ""
        if raw is None
        else (str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)).strip()
    )
    if column.kind == "text":
        return text
    if text == "":
        return None
    if column.kind == "decimal":
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation as exc:
            raise RowError(column.field, _("“%(value)s” is not a number.") % {"value": text}) from exc
    if column.kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
            try:
                return dt.datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        raise RowError(
            column.field, _("“%(value)s” is not a date; write it as 2026-01-31.") % {"value": text}
        )
    if column.kind == "bool":
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise RowError(column.field, _("Write 是 or 否, not “%(value)s”.") % {"value": text})
    if column.kind == "kind":
        if text.lower() in KIND_WORDS or text in KIND_WORDS:
            return KIND_WORDS.get(text) or KIND_WORDS[text.lower()]
        raise RowError(column.field, _("The type must be 企业 or 个人, not “%(value)s”.") % {"value": text})
    if column.kind == "lifecycle":
        if text in LIFECYCLE_WORDS:
            return LIFECYCLE_WORDS[text]
        raise RowError(
            column.field,
            _("Unknown lifecycle “%(value)s”: use 潜在, 开户, 购销, 销户 or 流失.") % {"value": text},
        )
    if column.kind == "user":
        user = users.user(text)
        if user is None:
            raise RowError(column.field, _("No active staff member is called “%(value)s”.") % {"value": text})
        return user
    if column.kind == "department":
        department = users.department(text)
        if department is None:
            raise RowError(column.field, _("No department is called “%(value)s”.") % {"value": text})
        return department
    return text


IMPORT_TEMPLATE_EXAMPLE = [
    "示例科技有限公司",
    "企业",
    "示例科技",
    "91350100M000100Y43",
    "",
    "021-61234567",
    "info@example.cn",
    "上海",
    "上海市",
    "浦东新区张江路 1 号",
    "化工",
    "12000",
    "否",
    "是",
    "购销",
    "AA",
    "",
    "",
    "",
    "",
    "张三",
    "13812345678",
    "采购经理",
    "",
]
TEMPLATE_SHEET = gettext_lazy("customers")


def template_response() -> FileResponse:
    headers = [c.header + ("*" if c.required else "") for c in COLUMNS]
    return xlsx_response(
        filename=_("customer-import-template"),
        sheet=str(TEMPLATE_SHEET),
        headers=headers,
        rows=[IMPORT_TEMPLATE_EXAMPLE],
    )
