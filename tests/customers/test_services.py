from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kefu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kefu.customers import services
from kefu.customers.models import (
    BorrowRequest,
    BorrowState,
    Customer,
    CustomerDocument,
    CustomerPhone,
    Lifecycle,
    TierChange,
    TierSource,
)
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_customer_create_gives_archive_number_pinyin_and_phone_index(users):
    customer = services.customer_create(
        actor=users["agent"], data={"name": "张三丰贸易有限公司", "phone": "+86 138-0013-8000"}
    )
    assert customer.archive_number.startswith("KH")
    assert customer.name_initials == "zsfmyyxgs"
    assert customer.name_pinyin.startswith("zhangsanfeng")
    assert customer.owner == users["agent"]
    assert customer.department == users["agent"].department
    assert list(CustomerPhone.objects.filter(customer=customer).values_list("number", flat=True)) == [
        "13800138000"
    ]


def test_archive_numbers_are_unique_and_increasing(users):
    first = make_customer(actor=users["manager"])
    second = make_customer(actor=users["manager"])
    assert first.archive_number != second.archive_number
    assert second.archive_number > first.archive_number


def test_customer_create_rejects_a_bad_phone_with_a_clear_message(users):
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(actor=users["agent"], data={"name": "坏号码公司", "phone": "12345"})
    assert "phone" in caught.value.detail
    assert Customer.objects.count() == 0


def test_customer_create_checks_credit_code_and_id_number_check_digits(users):
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(
            actor=users["agent"], data={"name": "甲公司", "credit_code": "91350100M000100Y44"}
        )
    assert "credit_code" in caught.value.detail
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(
            actor=users["agent"], data={"name": "李四", "kind": "person", "id_number": "110105194912310021"}
        )
    assert "id_number" in caught.value.detail
    ok = services.customer_create(
        actor=users["agent"], data={"name": "王五", "kind": "person", "id_number": "11010519491231002x"}
    )
    assert ok.id_number == "11010519491231002X"


def test_duplicate_credit_code_is_refused_and_names_the_other_archive(users):
    first = services.customer_create(
        actor=users["manager"], data={"name": "甲公司", "credit_code": "91350100M000100Y43"}
    )
    with pytest.raises(ValidationFailed) as caught:
        services.customer_create(
            actor=users["manager"], data={"name": "乙公司", "credit_code": "91350100m000100y43"}
        )
    assert first.archive_number in caught.value.detail["credit_code"][0]


def test_agent_without_right_cannot_create(users):
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=users["technician"], data={"name": "无权公司"})


@pytest.mark.parametrize(
    ("tons", "brand", "vip", "tier"),
    [
        ("25000", False, False, "A"),
        ("20000", False, False, "A"),
        ("15000", False, False, "B"),
        ("9999", False, True, "C"),
        ("9999", False, False, ""),
        ("10", True, False, "A"),
    ],
)
def test_tier_follows_the_policy(users, tons, brand, vip, tier):
    customer = make_customer(actor=users["manager"], annual_tons=Decimal(tons), brand_value=brand, is_vip=vip)
    assert customer.tier == tier
    assert customer.tier_source == TierSource.POLICY
    assert customer.tier_policy is not None


def test_tier_change_on_update_is_kept_in_history(users):
    customer = make_customer(actor=users["manager"], annual_tons=Decimal("12000"))
    assert customer.tier == "B"
    services.customer_update(
        actor=users["manager"], customer=customer, data={"annual_tons": Decimal("30000")}
    )
    change = TierChange.objects.filter(customer=customer).first()
    assert (change.from_tier, change.to_tier, change.actor) == ("B", "A", users["manager"])


def test_setting_the_tier_by_hand_needs_a_reason_and_the_right(users):
    customer = make_customer(actor=users["manager"])
    with pytest.raises(ValidationFailed):
        services.customer_set_tier(actor=users["manager"], customer=customer, tier="A", reason=" ")
    with pytest.raises(PermissionDenied):
        services.customer_set_tier(actor=users["agent"], customer=customer, tier="A", reason="战略客户")
    updated = services.customer_set_tier(
        actor=users["manager"], customer=customer, tier="A", reason="战略客户"
    )
    assert (updated.tier, updated.tier_source, updated.is_vip) == ("A", TierSource.MANUAL, True)
    back = services.customer_set_tier(actor=users["manager"], customer=updated, tier=None, reason="")
    assert back.tier_source == TierSource.POLICY


def test_a_new_tier_policy_retiers_policy_customers_but_not_manual_ones(
    users, django_capture_on_commit_callbacks
):
    by_policy = make_customer(actor=users["manager"], annual_tons=Decimal("15000"))
    manual = make_customer(actor=users["manager"], annual_tons=Decimal("15000"))
    services.customer_set_tier(actor=users["manager"], customer=manual, tier="C", reason="按合同")
    with django_capture_on_commit_callbacks(execute=True):
        services.tier_policy_create(
            actor=users["manager"],
            effective_from=timezone.localdate(),
            a_min_tons=Decimal("14000"),
            b_min_tons=Decimal("5000"),
        )
    by_policy.refresh_from_db()
    manual.refresh_from_db()
    assert by_policy.tier == "A"
    assert manual.tier == "C"


def test_tier_policy_b_threshold_must_be_below_a(users):
    with pytest.raises(ValidationFailed) as caught:
        services.tier_policy_create(
            actor=users["manager"],
            effective_from=timezone.localdate(),
            a_min_tons=Decimal("100"),
            b_min_tons=Decimal("100"),
        )
    assert "b_min_tons" in caught.value.detail


def test_update_with_a_stale_version_is_a_conflict_and_changes_nothing(users):
    customer = make_customer(actor=users["manager"], name="原名公司")
    services.customer_update(actor=users["manager"], customer=customer, data={"city": "上海"}, version=1)
    with pytest.raises(Conflict):
        services.customer_update(
            actor=users["manager"], customer=customer, data={"name": "新名公司"}, version=1
        )
    customer.refresh_from_db()
    assert customer.name == "原名公司"


def test_agent_cannot_hand_a_customer_to_another_department(users, departments):
    customer = make_customer(actor=users["agent"])
    with pytest.raises(PermissionDenied):
        services.customer_update(
            actor=users["agent"], customer=customer, data={"department": departments["big"]}
        )
    moved = services.customer_update(
        actor=users["supervisor"], customer=customer, data={"owner": users["supervisor"]}
    )
    assert moved.owner == users["supervisor"]


def test_customer_outside_the_scope_cannot_be_changed(users):
    customer = make_customer(actor=users["big_customer_specialist"])
    with pytest.raises(NotFound):
        services.customer_update(actor=users["agent"], customer=customer, data={"city": "北京"})


def test_lost_customer_needs_a_reason(users):
    customer = make_customer(actor=users["manager"])
    with pytest.raises(ValidationFailed) as caught:
        services.customer_update(
            actor=users["manager"], customer=customer, data={"lifecycle": Lifecycle.LOST}
        )
    assert "lost_reason" in caught.value.detail


def test_history_records_who_changed_what(users):
    customer = make_customer(actor=users["agent"], city="杭州")
    services.customer_update(actor=users["supervisor"], customer=customer, data={"city": "宁波"})
    entry = LogEntry.objects.get_for_object(customer).order_by("-timestamp").first()
    assert entry.actor == users["supervisor"]
    assert entry.changes_dict["city"] == ["杭州", "宁波"]


def test_contact_phones_join_the_lookup_index_and_leave_it_on_delete(users):
    customer = make_customer(actor=users["manager"])
    contact = make_contact(
        actor=users["manager"], customer=customer, mobile="139 0000 1111", telephone="0571-88886666"
    )
    numbers = set(CustomerPhone.objects.filter(customer=customer).values_list("number", flat=True))
    assert {"13900001111", "057188886666"} <= numbers
    services.contact_delete(actor=users["manager"], contact=contact)
    assert not CustomerPhone.objects.filter(number="13900001111").exists()


def test_first_contact_is_primary_and_only_one_stays_primary(users):
    customer = make_customer(actor=users["manager"])
    first = make_contact(actor=users["manager"], customer=customer)
    second = make_contact(actor=users["manager"], customer=customer, is_primary=True)
    first.refresh_from_db()
    assert first.is_primary is False and second.is_primary is True


def test_contact_rejects_bad_qq_and_phone(users):
    customer = make_customer(actor=users["manager"])
    with pytest.raises(ValidationFailed) as caught:
        services.contact_create(
            actor=users["manager"], customer=customer, data={"name": "赵六", "qq": "abc", "mobile": "1"}
        )
    assert {"qq", "mobile"} <= set(caught.value.detail)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.pdf", b"", "empty"),
        ("virus.exe", b"MZ\x90\x00", "type"),
        ("fake.pdf", b"MZ\x90\x00not a pdf", "content"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_saved(users, media_root, name, content, problem):
    customer = make_customer(actor=users["manager"])
    with pytest.raises(ValidationFailed) as caught:
        services.document_upload(
            actor=users["manager"],
            customer=customer,
            uploaded=SimpleUploadedFile(name, content),
            kind="contract",
        )
    assert caught.value.detail["file"]
    assert CustomerDocument.objects.count() == 0
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_upload_over_the_size_limit_is_refused(users, settings):
    settings.UPLOAD_MAX_MB = 1
    customer = make_customer(actor=users["manager"])
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024 + 1))
    with pytest.raises(ValidationFailed) as caught:
        services.document_upload(actor=users["manager"], customer=customer, uploaded=big, kind="contract")
    assert "MB" in caught.value.message


def test_good_upload_is_stored_with_its_hash(users):
    customer = make_customer(actor=users["manager"])
    document = services.document_upload(
        actor=users["manager"],
        customer=customer,
        uploaded=SimpleUploadedFile("合同.pdf", PDF),
        kind="contract",
        important=True,
    )
    assert document.title == "合同"
    assert document.size == len(PDF)
    assert document.file.read() == PDF


def _document(users, important=True):
    customer = make_customer(actor=users["manager"])
    return services.document_upload(
        actor=users["manager"],
        customer=customer,
        uploaded=SimpleUploadedFile("合同.pdf", PDF),
        kind="contract",
        important=important,
    )


def test_borrowing_goes_request_approve_return_check(users):
    document = _document(users)
    due = timezone.localdate() + dt.timedelta(days=5)
    borrow = services.borrow_request_create(
        actor=users["archive_specialist"], document=document, purpose="合同复核", due_back_on=due
    )
    assert borrow.number.startswith("JY")
    borrow = services.borrow_request_transition(actor=users["manager"], borrow=borrow, action="approve")
    assert borrow.state == BorrowState.APPROVED and borrow.decided_by == users["manager"]
    borrow = services.borrow_request_transition(
        actor=users["archive_specialist"], borrow=borrow, action="return"
    )
    borrow = services.borrow_request_transition(
        actor=users["archive_specialist"], borrow=borrow, action="check", check_passed=True
    )
    assert borrow.state == BorrowState.CHECKED and borrow.check_passed is True


def test_agent_cannot_approve_a_borrowing(users):
    document = _document(users)
    borrow = services.borrow_request_create(
        actor=users["archive_specialist"], document=document, purpose="查阅", due_back_on=timezone.localdate()
    )
    with pytest.raises(PermissionDenied):
        services.borrow_request_transition(actor=users["agent"], borrow=borrow, action="approve")


def test_manager_cannot_approve_own_borrowing(users):
    document = _document(users)
    borrow = services.borrow_request_create(
        actor=users["manager"], document=document, purpose="查阅", due_back_on=timezone.localdate()
    )
    with pytest.raises(PermissionDenied):
        services.borrow_request_transition(actor=users["manager"], borrow=borrow, action="approve")


def test_rejection_needs_a_reason_and_a_checked_request_cannot_be_approved(users):
    document = _document(users)
    borrow = services.borrow_request_create(
        actor=users["archive_specialist"], document=document, purpose="查阅", due_back_on=timezone.localdate()
    )
    with pytest.raises(ValidationFailed):
        services.borrow_request_transition(actor=users["manager"], borrow=borrow, action="reject")
    borrow = services.borrow_request_transition(
        actor=users["manager"], borrow=borrow, action="reject", note="无必要"
    )
    with pytest.raises(Conflict):
        services.borrow_request_transition(actor=users["manager"], borrow=borrow, action="approve")


def test_a_file_on_loan_cannot_be_requested_twice(users):
    document = _document(users)
    services.borrow_request_create(
        actor=users["archive_specialist"], document=document, purpose="查阅", due_back_on=timezone.localdate()
    )
    with pytest.raises(Conflict):
        services.borrow_request_create(
            actor=users["manager"], document=document, purpose="查阅", due_back_on=timezone.localdate()
        )
    assert BorrowRequest.objects.count() == 1


def test_failed_return_check_needs_a_note(users):
    document = _document(users)
    borrow = services.borrow_request_create(
        actor=users["archive_specialist"], document=document, purpose="查阅", due_back_on=timezone.localdate()
    )
    services.borrow_request_transition(actor=users["manager"], borrow=borrow, action="approve")
    services.borrow_request_transition(actor=users["archive_specialist"], borrow=borrow, action="return")
    with pytest.raises(ValidationFailed):
        services.borrow_request_transition(
            actor=users["archive_specialist"], borrow=borrow, action="check", check_passed=False
        )


def test_a_purchase_moves_an_opened_customer_to_purchasing_and_stamps_last_trade(users):
    customer = make_customer(actor=users["manager"], lifecycle=Lifecycle.OPENED)
    services.trade_record_create(
        actor=users["manager"],
        customer=customer,
        traded_on=timezone.localdate(),
        kind="purchase",
        amount=Decimal("1200.50"),
    )
    customer.refresh_from_db()
    assert customer.lifecycle == Lifecycle.PURCHASING
    assert customer.last_trade_at is not None


def test_future_trade_is_refused(users):
    customer = make_customer(actor=users["manager"])
    with pytest.raises(ValidationFailed):
        services.trade_record_create(
            actor=users["manager"],
            customer=customer,
            traded_on=timezone.localdate() + dt.timedelta(days=3),
            kind="purchase",
            amount=Decimal("1"),
        )


def test_contact_record_stamps_last_contact(users):
    customer = make_customer(actor=users["agent"])
    services.contact_record_create(
        actor=users["agent"], customer=customer, summary="电话回访，客户满意", channel="phone"
    )
    customer.refresh_from_db()
    assert customer.last_contact_at is not None


def test_bulk_assign_needs_the_right_and_visible_customers(users, departments):
    customers = [make_customer(actor=users["manager"]) for _ in range(3)]
    with pytest.raises(PermissionDenied):
        services.customers_assign(
            actor=users["agent"],
            customer_ids=[c.pk for c in customers],
            owner=users["agent"],
            department=None,
        )
    moved = services.customers_assign(
        actor=users["manager"],
        customer_ids=[c.pk for c in customers],
        owner=users["agent"],
        department=departments["centre"],
    )
    assert moved == 3
    assert Customer.objects.filter(owner=users["agent"], department=departments["centre"]).count() == 3


def test_a_future_policy_waits_for_its_date_then_the_daily_job_applies_it(
    users, django_capture_on_commit_callbacks
):
    from kefu.customers.tasks import apply_tier_policy_in_force

    customer = make_customer(actor=users["manager"], annual_tons=Decimal("15000"))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.tier_policy_create(
            actor=users["manager"],
            effective_from=tomorrow,
            a_min_tons=Decimal("14000"),
            b_min_tons=Decimal("5000"),
        )
    assert apply_tier_policy_in_force.call_local() == 0
    customer.refresh_from_db()
    assert customer.tier == "B"
    from kefu.customers.models import TierPolicy

    TierPolicy.objects.filter(effective_from=tomorrow).update(effective_from=timezone.localdate())
    assert apply_tier_policy_in_force.call_local() == 1
    assert apply_tier_policy_in_force.call_local() == 0
    customer.refresh_from_db()
    assert customer.tier == "A"
