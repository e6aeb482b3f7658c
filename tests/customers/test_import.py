from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.customers.importing import customer_import_confirm, customer_import_start
from kefu.customers.models import Contact, Customer, CustomerImport, ImportStatus
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

HEADERS = [
    "名称*",
    "类型",
    "统一社会信用代码",
    "电话",
    "年规模(吨)",
    "大客户名单",
    "生命周期",
    "联系人",
    "联系人手机",
]


def xlsx(rows, headers=HEADERS, name="客户.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


GOOD = [
    [
        "甲化工有限公司",
        "企业",
        "91350100M000100Y43",
        "021-61234567",
        25000,
        "是",
        "购销",
        "张三",
        "13812345678",
    ],
    ["乙会员", "会员", "", "13912345678", None, "否", "开户", "", ""],
]


@pytest.fixture
def run(users, django_capture_on_commit_callbacks):
    """Start (or confirm) an import and let its job run, as the Huey consumer would."""

    def start(upload, *, actor=None, update_existing=False):
        with django_capture_on_commit_callbacks(execute=True):
            job = customer_import_start(
                actor=actor or users["archive_specialist"], uploaded=upload, update_existing=update_existing
            )
        job.refresh_from_db()
        return job

    def confirm(job, *, actor=None):
        with django_capture_on_commit_callbacks(execute=True):
            real = customer_import_confirm(actor=actor or users["archive_specialist"], dry_run=job)
        real.refresh_from_db()
        return real

    start.confirm = confirm
    return start


def test_dry_run_checks_every_row_and_saves_nothing(run):
    job = run(xlsx(GOOD))
    assert (job.status, job.total_rows, job.processed_rows, job.created_count, job.error_count) == (
        ImportStatus.DONE,
        2,
        2,
        2,
        0,
    )
    assert job.percent == 100
    assert Customer.objects.count() == 0


def test_confirmed_import_creates_customers_with_contacts_and_tiers(run):
    real = run.confirm(run(xlsx(GOOD)))
    assert (real.dry_run, real.status, real.created_count) == (False, ImportStatus.DONE, 2)
    company = Customer.objects.get(name="甲化工有限公司")
    assert company.tier == "A"
    assert company.lifecycle == "purchasing"
    assert Contact.objects.get(customer=company).mobile == "13812345678"
    assert Customer.objects.get(name="乙会员").kind == "person"


def test_a_dry_run_can_be_confirmed_only_once(run):
    job = run(xlsx(GOOD))
    run.confirm(job)
    with pytest.raises(Conflict):
        run.confirm(job)
    assert Customer.objects.count() == 2


def test_bad_row_is_reported_with_row_column_and_reason_and_good_rows_still_import(run):
    rows = [
        GOOD[0],
        ["丙公司", "企业", "", "12345", None, "", "", "", ""],
        ["丁公司", "企业", "", "", "很多", "", "", "", ""],
    ]
    job = run(xlsx(rows))
    assert job.error_count == 2
    by_row = {e["row"]: e for e in job.errors}
    assert by_row[3]["column"] == "电话" and "12345" in by_row[3]["message"]
    assert by_row[4]["column"] == "年规模(吨)"
    real = run.confirm(job)
    assert real.created_count == 1
    assert list(Customer.objects.values_list("name", flat=True)) == ["甲化工有限公司"]


def test_bad_contact_mobile_rejects_the_whole_row(run):
    job = run(xlsx([["戊公司", "企业", "", "", None, "", "", "李四", "999"]]))
    assert job.error_count == 1
    assert job.errors[0]["column"] == "联系人手机"
    assert job.created_count == 0


def test_duplicates_in_the_archive_are_skipped_or_updated(run, users):
    make_customer(actor=users["manager"], name="旧名", phone="13912345678")
    job = run(xlsx(GOOD))
    assert (job.created_count, job.skipped_count) == (1, 1)
    assert any("旧名" in e["message"] for e in job.errors)
    updating = run(xlsx(GOOD), update_existing=True)
    assert (updating.created_count, updating.updated_count) == (1, 1)
    run.confirm(updating)
    assert Customer.objects.filter(name="乙会员").count() == 1
    assert not Customer.objects.filter(name="旧名").exists()


def test_duplicates_inside_the_file_point_to_the_first_row(run):
    rows = [GOOD[0], ["甲化工分公司", "企业", "91350100M000100Y43", "", None, "", "", "", ""]]
    job = run(xlsx(rows))
    assert job.errors[0]["row"] == 3
    assert "2" in job.errors[0]["message"]


def test_wrong_columns_are_refused_at_once_with_the_expected_ones(users):
    with pytest.raises(ValidationFailed) as caught:
        customer_import_start(
            actor=users["archive_specialist"], uploaded=xlsx([["x"]], headers=["公司", "手机"])
        )
    assert "名称" in caught.value.message
    assert CustomerImport.objects.count() == 0


def test_a_file_that_is_not_excel_is_refused(users):
    with pytest.raises(ValidationFailed) as caught:
        customer_import_start(
            actor=users["archive_specialist"], uploaded=SimpleUploadedFile("客户.xlsx", b"name,phone\n")
        )
    assert "Excel" in caught.value.message or "xlsx" in caught.value.message
    with pytest.raises(ValidationFailed):
        customer_import_start(
            actor=users["archive_specialist"], uploaded=SimpleUploadedFile("客户.csv", b"name,phone\n")
        )
    assert CustomerImport.objects.count() == 0


def test_an_empty_file_is_refused(users):
    with pytest.raises(ValidationFailed) as caught:
        customer_import_start(actor=users["archive_specialist"], uploaded=SimpleUploadedFile("空.xlsx", b""))
    assert caught.value.detail["file"]


def test_unknown_columns_are_ignored_with_a_note(run):
    job = run(xlsx([["己公司", "备注列"]], headers=["名称", "奇怪的列"]))
    assert "奇怪的列" in job.message
    assert job.created_count == 1


def test_agent_may_not_import(users):
    with pytest.raises(PermissionDenied):
        customer_import_start(actor=users["agent"], uploaded=xlsx(GOOD))


def test_import_job_is_idempotent(run):
    from kefu.customers.importing import customer_import_run

    real = run.confirm(run(xlsx(GOOD)))
    customer_import_run(import_id=real.pk)
    assert Customer.objects.count() == 2


def test_import_pages_show_progress_and_row_errors(run, users, client_as):
    job = run(xlsx([GOOD[0], ["丙公司", "企业", "", "12345", None, "", "", "", ""]]))
    client = client_as(users["archive_specialist"])
    page = client.get(f"/customers/imports/{job.pk}/").content.decode()
    assert "12345" in page and 'data-testid="import-error-table"' in page
    assert "import-confirm" in page
    response = client.post(f"/customers/imports/{job.pk}/confirm/")
    assert response.status_code == 302
