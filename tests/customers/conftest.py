"""Shared helpers of the archive's page and API tests."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from kefu.accounts.models import User
from kefu.customers import services
from kefu.customers.models import (
    BorrowRequest,
    Contact,
    Customer,
    CustomerDocument,
    CustomerImport,
    ImportStatus,
)
from tests.factories import make_contact, make_customer

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
API = "/api/v1"


def pdf_upload(name: str = "合同.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def xlsx_upload(rows: list[list[Any]] | None = None, name: str = "客户.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["名称", "电话"])
    for row in rows if rows is not None else [["导入客户甲", "13700001111"]]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def xlsx_rows(response: Any) -> list[list[Any]]:
    """The data rows (header left out) of an .xlsx download."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[1:]


def text_of_testid(response: Any, testid: str) -> str:
    """The text inside the first element carrying data-testid=`testid` (elements without children)."""
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>([^<]*)<', response.content.decode())
    assert match, f'no element with data-testid="{testid}"'
    return match.group(1).strip()


def message_levels(response: Any) -> list[str]:
    return [message.level_tag for message in get_messages(response.wsgi_request)]


def assert_api_error(
    response: Any, status: int, *, code: str | None = None, field: str | None = None
) -> dict:
    """Every API error is JSON {"code", "message", "detail"}; optionally naming a field in detail."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) >= {"code", "message", "detail"}, body
    assert body["code"] and body["message"], body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert isinstance(body["detail"], dict) and field in body["detail"], body
    return body


def count_queries(call: Callable[[], Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as context:
        result = call()
    return len(context), result


class World:
    """What a permission check needs, created on first use and owned by `user`.

    The customer belongs to the user and his department, so every data scope (even "only mine")
    covers it: a refusal can then only come from a missing right, never from the scope.
    """

    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def borrower(self) -> User:
        return self._make_user("archive_specialist")

    @cached_property
    def customer(self) -> Customer:
        return make_customer(actor=self.user, name="权限测试客户")

    @cached_property
    def contact(self) -> Contact:
        return make_contact(actor=self.manager, customer=self.customer, name="联系人甲")

    def upload(self, *, important: bool = False, name: str = "合同.pdf") -> CustomerDocument:
        return services.document_upload(
            actor=self.manager,
            customer=self.customer,
            uploaded=pdf_upload(name),
            kind="contract",
            important=important,
        )

    @cached_property
    def document(self) -> CustomerDocument:
        return self.upload()

    @cached_property
    def requested_borrow(self) -> BorrowRequest:
        return services.borrow_request_create(
            actor=self.borrower,
            document=self.document,
            purpose="核对合同",
            due_back_on=timezone.localdate() + dt.timedelta(days=7),
        )

    @cached_property
    def returned_borrow(self) -> BorrowRequest:
        document = self.upload(name="已归还.pdf")
        borrow = services.borrow_request_create(
            actor=self.borrower,
            document=document,
            purpose="核对合同",
            due_back_on=timezone.localdate() + dt.timedelta(days=7),
        )
        services.borrow_request_transition(actor=self.manager, borrow=borrow, action="approve")
        return services.borrow_request_transition(actor=self.borrower, borrow=borrow, action="return")

    @cached_property
    def own_import(self) -> CustomerImport:
        # A finished dry run of the user's own; running a real import is not what these tests are about.
        return CustomerImport.objects.create(
            original_name="客户.xlsx",
            file="imports/客户.xlsx",
            dry_run=True,
            status=ImportStatus.DONE,
            total_rows=1,
            processed_rows=1,
            created_count=1,
            created_by=self.user,
            finished_at=timezone.now(),
        )


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)
