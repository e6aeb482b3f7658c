"""message_send, templates and opt-outs."""

from __future__ import annotations

import pytest

from kefu.core.errors import PermissionDenied, ValidationFailed
from kefu.messaging import services
from kefu.messaging.models import Message, MessageStatus, MessageTemplate, OptOut, OptOutSource, SkipReason
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def test_marketing_template_without_opt_out_words_is_refused(users):
    with pytest.raises(ValidationFailed) as caught:
        services.template_save(
            actor=users["manager"],
            data={
                "name": "无退订促销",
                "channel": "sms",
                "purpose": "marketing",
                "provider_code": "SMS_300",
                "signature": "康宁大药房",
                "body": "全场八折，欢迎光临",
            },
        )
    assert "body" in caught.value.detail
    assert not MessageTemplate.objects.filter(name="无退订促销").exists()


def test_marketing_template_with_opt_out_words_is_saved(promo_template):
    assert promo_template.pk and promo_template.purpose == "marketing"


def test_changing_a_promotion_to_drop_the_opt_out_words_is_refused(users, promo_template):
    with pytest.raises(ValidationFailed):
        services.template_save(actor=users["manager"], template=promo_template, data={"body": "全场八折"})
    promo_template.refresh_from_db()
    assert "拒收请回复R" in promo_template.body


def test_sms_template_needs_the_provider_code_and_signature(users):
    with pytest.raises(ValidationFailed) as caught:
        services.template_save(
            actor=users["manager"],
            data={"name": "缺代码", "channel": "sms", "purpose": "notice", "body": "您好"},
        )
    assert "provider_code" in caught.value.detail


def test_message_send_writes_a_queued_log_row_and_delivers_it_after_commit(
    users, member, notice_template, recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.message_send(
            actor=users["agent"],
            customer=member,
            channel="sms",
            template=notice_template,
            params={"item": "血压计"},
            source="surveys:1",
        )
    assert message.status == MessageStatus.QUEUED and recorder.phones == []
    assert message.body == "尊敬的王秀英，您预订的血压计已到店，请凭会员卡领取。"
    for callback in callbacks:
        callback()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert recorder.phones == ["13912345678"]
    assert message.source == "surveys:1"


def test_message_send_needs_every_template_parameter(users, member, notice_template):
    with pytest.raises(ValidationFailed) as caught:
        services.message_send(actor=users["agent"], customer=member, channel="sms", template=notice_template)
    assert "item" in caught.value.message
    assert not Message.objects.exists()


def test_message_send_is_refused_without_the_right(users, member, notice_template):
    with pytest.raises(PermissionDenied):
        services.message_send(
            actor=users["technician"],
            customer=member,
            channel="sms",
            template=notice_template,
            params={"item": "药"},
        )


def test_opted_out_customer_is_skipped_and_nothing_reaches_the_provider(
    users, member, notice_template, recorder, django_capture_on_commit_callbacks
):
    services.opt_out_create(
        actor=users["archive_specialist"], customer=member, channel="sms", note="电话要求"
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_send(
            actor=users["agent"],
            customer=member,
            channel="sms",
            template=notice_template,
            params={"item": "药"},
        )
    assert (message.status, message.skip_reason) == (MessageStatus.SKIPPED, SkipReason.OPTED_OUT)
    assert recorder.phones == []


def test_opt_out_recorded_after_queueing_is_still_honoured_at_delivery(
    users, member, notice_template, recorder
):
    message = services.message_send(
        actor=users["agent"], customer=member, channel="sms", template=notice_template, params={"item": "药"}
    )
    services.opt_out_create(actor=users["archive_specialist"], customer=member, channel="sms")
    services.message_deliver(message.pk)
    message.refresh_from_db()
    assert message.skip_reason == SkipReason.OPTED_OUT and recorder.phones == []


def test_sms_opt_out_does_not_stop_email(users, member):
    services.opt_out_create(actor=users["archive_specialist"], customer=member, channel="sms")
    member.email = "wang@example.com"
    member.save()
    template = services.template_save(
        actor=users["manager"],
        data={"name": "邮件", "channel": "email", "purpose": "notice", "subject": "通知", "body": "您好"},
    )
    message = services.message_send(actor=users["agent"], customer=member, channel="email", template=template)
    assert message.status == MessageStatus.QUEUED


def test_customer_without_a_mobile_falls_back_to_the_primary_contacts_mobile(
    users, notice_template, recorder
):
    company = make_customer(actor=users["manager"], name="恒丰纸业", phone="0571-88886666")
    make_contact(
        actor=users["manager"], customer=company, name="李经理", mobile="13811112222", is_primary=True
    )
    message = services.message_send(
        actor=users["manager"],
        customer=company,
        channel="sms",
        template=notice_template,
        params={"item": "样品"},
    )
    assert message.address == "13811112222"


def test_customer_with_no_mobile_at_all_is_skipped_as_no_address(users, notice_template):
    company = make_customer(actor=users["manager"], name="无手机公司", phone="0571-88886666")
    message = services.message_send(
        actor=users["manager"],
        customer=company,
        channel="sms",
        template=notice_template,
        params={"item": "样品"},
    )
    assert (message.status, message.skip_reason) == (MessageStatus.SKIPPED, SkipReason.NO_ADDRESS)


def test_same_dedupe_key_sends_only_once(users, member, notice_template):
    first = services.message_send(
        actor=users["agent"],
        customer=member,
        channel="sms",
        template=notice_template,
        params={"item": "药"},
        dedupe_key="k1",
    )
    second = services.message_send(
        actor=users["agent"],
        customer=member,
        channel="sms",
        template=notice_template,
        params={"item": "药"},
        dedupe_key="k1",
    )
    assert first.pk == second.pk and Message.objects.count() == 1


def test_reply_r_opts_the_number_out_and_records_it_as_a_reply(users, member):
    assert services.opt_out_inbound_reply(phone="+86 139 1234 5678", text=" r ") == 1
    opt_out = OptOut.objects.get(customer=member, channel="sms")
    assert opt_out.active and opt_out.source == OptOutSource.REPLY and opt_out.address == "13912345678"
    assert opt_out.created_by is None and opt_out.created_at


@pytest.mark.parametrize("text", ["TD", "退订", "T"])
def test_every_opt_out_word_is_understood(users, member, text):
    assert services.opt_out_inbound_reply(phone="13912345678", text=text) == 1


def test_an_ordinary_reply_opts_nobody_out(users, member):
    assert services.opt_out_inbound_reply(phone="13912345678", text="谢谢") == 0
    assert not OptOut.objects.exists()


def test_withdrawn_opt_out_lets_messages_through_again_and_keeps_who_withdrew_it(
    users, member, notice_template
):
    opt_out = services.opt_out_create(actor=users["archive_specialist"], customer=member, channel="sms")
    services.opt_out_withdraw(actor=users["manager"], opt_out=opt_out, note="客户来电恢复")
    opt_out.refresh_from_db()
    assert not opt_out.active and opt_out.withdrawn_by == users["manager"] and opt_out.withdrawn_at
    message = services.message_send(
        actor=users["agent"], customer=member, channel="sms", template=notice_template, params={"item": "药"}
    )
    assert message.status == MessageStatus.QUEUED
