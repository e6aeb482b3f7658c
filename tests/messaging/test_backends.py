"""The SMS backends against fake providers on loopback: signatures checked, errors and timeouts."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from kefu.messaging import backends, services
from kefu.messaging.models import Message, MessageStatus

pytestmark = pytest.mark.django_db


def sms(phone: str = "13912345678", **params: str) -> backends.Sms:
    return backends.Sms(
        phone=phone,
        signature="康宁大药房",
        template_code="SMS_100",
        params={"name": "王秀英", **params},
        param_order=("name",),
        text="尊敬的王秀英",
    )


def test_provider_accepts_the_signed_request_and_the_message_counts_as_sent(provider):
    [result] = backends.sms_backend().send([sms()])
    assert result.ok, result.error
    assert result.provider_id
    assert provider.bad_signatures == 0
    assert len(provider.requests) == 1


def test_aliyun_request_carries_signature_template_code_and_parameters(aliyun):
    backends.sms_backend().send([sms()])
    request = aliyun.requests[0]
    assert request["Action"] == "SendSms"
    assert request["SignName"] == "康宁大药房"
    assert request["TemplateCode"] == "SMS_100"
    assert json.loads(request["TemplateParam"]) == {"name": "王秀英"}


def test_tencent_request_carries_app_id_signature_and_ordered_parameters(tencent):
    backends.sms_backend().send([sms()])
    body = tencent.requests[0]["body"]
    assert body["PhoneNumberSet"] == ["+8613912345678"]
    assert body["SmsSdkAppId"] == "1400000000"
    assert body["SignName"] == "康宁大药房"
    assert body["TemplateId"] == "SMS_100"
    assert body["TemplateParamSet"] == ["王秀英"]


def test_a_batch_goes_in_one_provider_call(provider):
    results = backends.sms_backend().send([sms("13900000001"), sms("13900000002"), sms("13900000003")])
    assert [r.ok for r in results] == [True, True, True]
    assert len(provider.requests) == 1


def test_aliyun_batch_uses_send_batch_sms_with_a_signature_per_number(aliyun):
    backends.sms_backend().send([sms("13900000001"), sms("13900000002")])
    request = aliyun.requests[0]
    assert request["Action"] == "SendBatchSms"
    assert json.loads(request["PhoneNumberJson"]) == ["13900000001", "13900000002"]
    assert json.loads(request["SignNameJson"]) == ["康宁大药房", "康宁大药房"]


def test_a_wrong_secret_is_refused_by_the_provider_and_reported_as_failed(provider, settings):
    settings.SMS_KEY_SECRET = "not-the-secret"
    [result] = backends.sms_backend().send([sms()])
    assert not result.ok
    assert provider.bad_signatures == 1
    assert "Signature" in result.error


def test_a_provider_error_fails_the_message_with_the_providers_words_and_is_not_retried(provider):
    provider.mode = "error"
    [result] = backends.sms_backend().send([sms()])
    assert not result.ok and not result.transient
    expected = {"aliyun": "isv.MOBILE_NUMBER_ILLEGAL: 非法手机号", "tencent": "模板未审批"}[provider.kind]
    assert expected in result.error


def test_a_busy_provider_is_a_failure_worth_retrying(provider):
    provider.mode = "busy"
    [result] = backends.sms_backend().send([sms()])
    assert not result.ok and result.transient


def test_a_provider_that_does_not_answer_in_time_is_a_timeout_worth_retrying(provider):
    provider.mode = "slow"
    [result] = backends.sms_backend().send([sms()])
    assert not result.ok and result.transient
    assert "timeout" in result.error


def test_message_failing_with_a_provider_error_is_logged_failed_with_its_message(
    provider, users, member, notice_template, django_capture_on_commit_callbacks
):
    provider.mode = "error"
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_send(
            actor=users["agent"],
            customer=member,
            channel="sms",
            template=notice_template,
            params={"item": "血压计"},
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error and message.provider == provider.kind
    assert message.attempts == 1


def test_message_timing_out_stays_queued_for_the_retry_and_is_sent_by_it(
    provider, users, member, notice_template, django_capture_on_commit_callbacks
):
    provider.mode = "slow"
    message = services.message_send(
        actor=users["agent"],
        customer=member,
        channel="sms",
        template=notice_template,
        params={"item": "血压计"},
    )
    with pytest.raises(services.RetryLater):
        services.message_deliver(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    assert "timeout" in message.error
    provider.mode = "ok"
    assert services.message_deliver(message.pk) == MessageStatus.SENT
    assert services.message_deliver(message.pk) == MessageStatus.SENT  # a second run sends nothing more
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (MessageStatus.SENT, 2, "")


def test_retries_stop_after_three_attempts_with_the_message_failed(provider, users, member, notice_template):
    provider.mode = "busy"
    message = services.message_send(
        actor=users["agent"],
        customer=member,
        channel="sms",
        template=notice_template,
        params={"item": "血压计"},
    )
    for _attempt in range(2):
        with pytest.raises(services.RetryLater):
            services.message_deliver(message.pk)
    assert services.message_deliver(message.pk) == MessageStatus.FAILED
    assert Message.objects.get(pk=message.pk).attempts == 3


def test_log_backend_writes_a_json_line_per_message_under_the_data_dir(sms_outbox):
    backends.sms_backend().send([sms("13900000001"), sms("13900000002")])
    [outbox] = list(sms_outbox.glob("outbox-*.jsonl"))
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [line["phone"] for line in lines] == ["13900000001", "13900000002"]
    assert lines[0]["signature"] == "康宁大药房" and lines[0]["template_code"] == "SMS_100"


def test_email_goes_through_djangos_mail_backend(users, member, django_capture_on_commit_callbacks):
    member.email = "wang@example.com"
    member.save()
    template = services.template_save(
        actor=users["manager"],
        data={
            "name": "邮件通知",
            "channel": "email",
            "purpose": "notice",
            "subject": "${name}您好",
            "body": "会员日通知",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_send(
            actor=users["agent"], customer=member, channel="email", template=template
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert [m.to for m in mail.outbox] == [["wang@example.com"]]
    assert mail.outbox[0].subject == "王秀英您好"
