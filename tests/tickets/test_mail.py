"""Email intake and replies, against a real SMTP server (aiosmtpd) listening on loopback."""

from __future__ import annotations

import base64
import io
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from kefu.cli import main
from kefu.tickets import outbound, services
from kefu.tickets.mail import MalformedMail, parse_mail
from kefu.tickets.mail_services import mail_receive
from kefu.tickets.models import (
    Channel,
    EventKind,
    MailDirection,
    MailStatus,
    Ticket,
    TicketEvent,
    TicketKind,
    TicketMail,
    TicketState,
)
from tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """What the SMTP server received: envelope and the message as bytes."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": bytes(envelope.content)}
        )
        return "250 Message accepted for delivery"

    def parsed(self, index: int = -1) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.messages[index]["data"])
        assert isinstance(message, EmailMessage)
        return message


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "客服中心 <kefu@service.example.cn>"
    try:
        yield inbox
    finally:
        controller.stop()


def mail(
    *,
    subject: str = "关于发票的咨询",
    body: str = "您好，请问上个月的增值税发票什么时候能开出来？",
    sender: str = "王小明 <wang@example.com>",
    message_id: str | None = None,
    in_reply_to: str = "",
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "kefu@service.example.cn"
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.com")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    for name, content, content_type in attachments or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def nothing_written() -> bool:
    return not (Ticket.objects.exists() or TicketEvent.objects.exists() or TicketMail.objects.exists())


# --- intake -----------------------------------------------------------------------------------


def test_chinese_subject_mail_opens_an_email_ticket(users: dict[str, Any]) -> None:
    raw = mail(message_id="<first@example.com>")
    receipt = mail_receive(raw=raw)

    ticket = receipt.ticket
    assert receipt.created and not receipt.duplicate
    assert ticket.channel == Channel.EMAIL and ticket.kind == TicketKind.INQUIRY
    assert ticket.subject == "关于发票的咨询"
    assert ticket.description == "您好，请问上个月的增值税发票什么时候能开出来？"
    assert ticket.contact_email == "wang@example.com" and ticket.contact_name == "王小明"
    assert ticket.created_by is None and ticket.customer is None
    created = ticket.events.get(kind=EventKind.CREATED)
    assert created.data["message_id"] == "<first@example.com>"
    filed = TicketMail.objects.get()
    assert (filed.ticket, filed.direction, filed.event) == (ticket, MailDirection.IN, created)


def test_mail_goes_to_the_intake_group_for_its_kind(users: dict[str, Any], centre_group: Any) -> None:
    from kefu.tickets.models import AssignMode, TicketGroup

    complaints = TicketGroup.objects.create(
        name="客诉组", department=users["complaint_specialist"].department, kinds=["complaint"]
    )
    assert mail_receive(raw=mail()).ticket.group == centre_group
    complaints.kinds = ["inquiry"]
    complaints.assign_mode = AssignMode.ROUND_ROBIN
    complaints.save()
    complaints.members.set([users["complaint_specialist"]])
    ticket = mail_receive(raw=mail()).ticket
    assert ticket.group == complaints and ticket.department == complaints.department
    assert ticket.assignee == users["complaint_specialist"]


def test_sender_is_matched_to_the_one_customer_whose_contact_has_the_address(
    users: dict[str, Any], customer: Any
) -> None:
    contact = make_contact(
        actor=users["manager"], customer=customer, name="李红", email="li.hong@hengfeng.cn"
    )
    ticket = mail_receive(raw=mail(sender="Li Hong <LI.HONG@hengfeng.cn>")).ticket
    assert ticket.customer == customer and ticket.contact == contact
    assert ticket.department == customer.department

    other = make_customer(actor=users["manager"], name="另一家公司")
    make_contact(actor=users["manager"], customer=other, name="王刚", email="shared@example.com")
    make_contact(actor=users["manager"], customer=customer, name="赵强", email="shared@example.com")
    ambiguous = mail_receive(raw=mail(sender="shared@example.com")).ticket
    assert ambiguous.customer is None and ambiguous.contact is None


def test_gbk_mail_labelled_gb2312_is_decoded(users: dict[str, Any]) -> None:
    # 镕 and 喆 are not in GB2312: old mail programs label GBK text GB2312 all the same.
    subject = base64.b64encode("朱镕基路的维修报修 喆".encode("gbk")).decode()
    raw = (
        b"From: =?gbk?B?" + base64.b64encode("陈喆".encode("gbk")) + b"?= <chen@example.cn>\r\n"
        b"To: kefu@service.example.cn\r\n"
        b"Subject: =?gb2312?B?" + subject.encode() + b"?=\r\n"
        b"Message-ID: <gbk-1@example.cn>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "空调不制冷，地址：朱镕基路 8 号。".encode("gbk")
        + b"\r\n"
    )
    ticket = mail_receive(raw=raw).ticket
    assert ticket.subject == "朱镕基路的维修报修 喆"
    assert ticket.description == "空调不制冷，地址：朱镕基路 8 号。"
    assert ticket.contact_name == "陈喆"


def test_raw_8bit_headers_and_unlabelled_gb18030_text_are_decoded() -> None:
    raw = (
        "From: 刘洋 <liu@example.cn>\r\nSubject: 售后退货申请\r\nMessage-ID: <raw-8bit@example.cn>\r\n\r\n"
        "收到的货物有破损。\r\n"
    ).encode("gb18030")
    parsed = parse_mail(raw)
    assert (parsed.sender_name, parsed.subject, parsed.body) == ("刘洋", "售后退货申请", "收到的货物有破损。")


def test_html_only_mail_is_stripped_to_text() -> None:
    message = EmailMessage()
    message["From"] = "zhou@example.com"
    message["Subject"] = "网页邮件"
    message.set_content(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>第一段&amp;内容</p><div>第二段&nbsp;文字</div></body></html>",
        subtype="html",
    )
    parsed = parse_mail(message.as_bytes())
    assert parsed.body == "第一段&内容\n\n第二段 文字"


def test_plain_text_is_preferred_to_html() -> None:
    message = EmailMessage()
    message["From"] = "zhou@example.com"
    message["Subject"] = "两种格式"
    message.set_content("纯文本内容")
    message.add_alternative("<p>网页内容</p>", subtype="html")
    assert parse_mail(message.as_bytes()).body == "纯文本内容"


def test_attachments_are_kept_on_the_timeline_and_programs_refused(users: dict[str, Any]) -> None:
    photo = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    raw = mail(
        subject="设备故障照片",
        attachments=[
            ("故障照片.png", photo, "image/png"),
            ("setup.exe", b"MZ\x90\x00", "application/octet-stream"),
        ],
    )
    ticket = mail_receive(raw=raw).ticket
    files = list(ticket.events.filter(kind=EventKind.ATTACHMENT))
    assert [(e.attachment_name, e.attachment_size) for e in files] == [("故障照片.png", len(photo))]
    with files[0].attachment.open("rb") as handle:
        assert handle.read() == photo
    created = ticket.events.get(kind=EventKind.CREATED)
    assert created.data["refused_attachments"][0]["name"] == "setup.exe"
    assert "setup.exe" in ticket.description


def test_too_many_or_too_large_attachments_are_refused_by_name() -> None:
    from kefu.tickets import mail as mail_module

    raw = mail(
        attachments=[(f"{n}.pdf", b"%PDF-1.4 " + bytes([n]) * 10, "application/pdf") for n in range(12)]
    )
    parsed = parse_mail(raw)
    assert len(parsed.attachments) == mail_module.MAX_ATTACHMENTS
    assert [r["name"] for r in parsed.refused] == ["10.pdf", "11.pdf"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR garbage",
        b"\xff\xfe\xfd not a mail at all \x80\x81",
        b"Subject: no sender\r\n\r\nhello",
        b"From: not an address\r\nSubject: x\r\n\r\nhello",
        b"From: someone@example.com\r\n\r\n",
    ],
    ids=["empty", "blank", "binary", "garbage", "no-from", "bad-from", "nothing-in-it"],
)
def test_malformed_message_is_refused_and_nothing_written(raw: bytes) -> None:
    with pytest.raises(MalformedMail) as caught:
        mail_receive(raw=raw)
    assert caught.value.code == "malformed_mail" and caught.value.message
    assert nothing_written()


def test_the_same_message_delivered_twice_is_filed_once(users: dict[str, Any]) -> None:
    raw = mail(message_id="<twice@example.com>", attachments=[("单据.pdf", b"%PDF-1.4 x", "application/pdf")])
    first = mail_receive(raw=raw)
    counts = (Ticket.objects.count(), TicketEvent.objects.count(), TicketMail.objects.count())
    second = mail_receive(raw=raw)
    assert second.duplicate and not second.created and second.ticket == first.ticket
    assert (Ticket.objects.count(), TicketEvent.objects.count(), TicketMail.objects.count()) == counts


def test_a_message_without_message_id_is_still_recognised_when_delivered_again() -> None:
    raw = b"From: wu@example.com\r\nSubject: =?utf-8?b?5rKh5pyJ57yW5Y+3?=\r\n\r\nhello\r\n"
    first = mail_receive(raw=raw)
    assert first.ticket.subject == "没有编号"
    assert mail_receive(raw=raw).duplicate and Ticket.objects.count() == 1


def test_ticket_number_in_subject_threads_only_for_the_tickets_own_customer(users: dict[str, Any]) -> None:
    ticket = mail_receive(raw=mail(sender="wang@example.com")).ticket
    answer = mail_receive(raw=mail(subject=f"回复：[{ticket.number}] 关于发票的咨询", body="补充：要专票"))
    assert answer.ticket == ticket and not answer.created
    assert answer.event is not None and answer.event.kind == EventKind.CUSTOMER
    assert answer.event.body == "补充：要专票" and answer.event.actor is None

    stranger = mail_receive(raw=mail(subject=f"[{ticket.number}] 我也要看", sender="evil@example.org"))
    assert stranger.created and stranger.ticket != ticket
    assert not ticket.events.filter(body__contains="我也要看").exists()


def test_mail_on_a_closed_ticket_opens_a_follow_up(users: dict[str, Any], centre_group: Any) -> None:
    ticket = mail_receive(raw=mail(sender="wang@example.com")).ticket
    services.ticket_transition(actor=users["supervisor"], ticket=ticket, action="close")
    again = mail_receive(raw=mail(subject=f"Re: [{ticket.number}] 关于发票的咨询", body="发票还没收到"))
    assert again.created and again.ticket != ticket
    assert ticket.number in again.ticket.description
    ticket.refresh_from_db()
    assert ticket.state == TicketState.CLOSED


# --- replies by SMTP and the thread coming back ------------------------------------------------


def test_reply_is_delivered_by_smtp_threaded_and_the_answer_comes_back(
    users: dict[str, Any], centre_group: Any, smtp_server: Inbox, django_capture_on_commit_callbacks: Any
) -> None:
    inbound_id = "<ask-1@example.com>"
    ticket = mail_receive(raw=mail(message_id=inbound_id, subject="咨询：设备保养周期")).ticket
    agent = users["agent"]
    services.ticket_transition(actor=users["supervisor"], ticket=ticket, action="wait")
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(
            actor=agent,
            ticket=ticket,
            body="您好，设备每季度保养一次，保养手册见附件。",
            attachment=SimpleUploadedFile("保养手册.pdf", b"%PDF-1.4 manual", content_type="application/pdf"),
        )

    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["to"] == ["wang@example.com"]
    sent = smtp_server.parsed()
    # Django folds the encoded subject onto a continuation line; a mail program shows it trimmed.
    assert sent["Subject"].strip() == f"[{ticket.number}] 咨询：设备保养周期"
    assert parse_mail(smtp_server.messages[0]["data"]).ticket_number == ticket.number
    assert sent["In-Reply-To"] == inbound_id and inbound_id in sent["References"]
    assert sent["X-Kefu-Ticket"] == ticket.number
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None and "每季度保养一次" in body.get_content()
    files = list(sent.iter_attachments())
    assert [f.get_filename() for f in files] == ["保养手册.pdf"]
    assert files[0].get_content() == b"%PDF-1.4 manual"
    assert files[0].get_content_type() == "application/pdf"

    reply.refresh_from_db()
    outgoing = TicketMail.objects.get(direction=MailDirection.OUT)
    assert outgoing.status == MailStatus.SENT and outgoing.attempts == 1 and outgoing.sent_at is not None
    assert outgoing.message_id == sent["Message-ID"] == reply.data["message_id"]
    assert outgoing.event == reply and outgoing.message_id.endswith("@service.example.cn>")

    # The customer answers from their mail program: no ticket number, only the thread headers.
    answer = mail_receive(
        raw=mail(subject="回复: 保养", body="明白了，谢谢！", in_reply_to=sent["Message-ID"])
    )
    assert answer.ticket == ticket and not answer.created
    assert answer.event is not None and answer.event.kind == EventKind.CUSTOMER
    ticket.refresh_from_db()
    assert ticket.state == TicketState.OPEN and ticket.paused_at is None  # resumed from waiting
    state = ticket.events.filter(kind=EventKind.STATE).latest("id")
    assert state.data["from"] == TicketState.PENDING and state.actor is None

    # The second reply answers the customer's latest message and carries the whole thread.
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(actor=agent, ticket=ticket, body="不客气。")
    second = smtp_server.parsed()
    answer_id = TicketMail.objects.filter(direction=MailDirection.IN).latest("id").message_id
    assert second["In-Reply-To"] == answer_id
    assert second["References"].split() == [inbound_id, sent["Message-ID"], answer_id]


def test_a_reply_delivered_already_is_not_sent_again(
    users: dict[str, Any], centre_group: Any, smtp_server: Inbox, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = mail_receive(raw=mail()).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="已收到")
    assert outbound.deliver_reply(reply.pk) is True
    assert len(smtp_server.messages) == 1


def test_internal_notes_and_phone_tickets_send_no_mail(
    users: dict[str, Any],
    centre_group: Any,
    smtp_server: Inbox,
    open_ticket: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = mail_receive(raw=mail()).ticket
    phone_ticket = open_ticket(contact_email="someone@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(actor=users["agent"], ticket=ticket, body="内部备注", kind=EventKind.NOTE)
        services.ticket_reply(actor=users["agent"], ticket=phone_ticket, body="电话回复")
    assert smtp_server.messages == []


def test_failed_delivery_keeps_the_reply_and_records_the_failure(
    users: dict[str, Any], centre_group: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 5
    ticket = mail_receive(raw=mail()).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="您好，已处理。")
    reply.refresh_from_db()
    assert reply.body == "您好，已处理。"
    outgoing = TicketMail.objects.get(event=reply)
    assert outgoing.status == MailStatus.FAILED and outgoing.error and not outgoing.permanent
    with pytest.raises(outbound.DeliveryFailed):
        outbound.deliver_reply(reply.pk)
    outgoing.refresh_from_db()
    assert outgoing.attempts == 2
    # The retry keeps the same Message-ID, so the thread stays whole once it gets through.
    assert TicketMail.objects.filter(direction=MailDirection.OUT).count() == 1


class RefusingInbox(Inbox):
    """A server that refuses one mailbox for good (550), as a real server does for a typo."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server(settings: Any) -> Iterator[Inbox]:
    inbox = RefusingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 10
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.DEFAULT_FROM_EMAIL = "客服中心 <kefu@service.example.cn>"
    try:
        yield inbox
    finally:
        controller.stop()


def test_a_reply_on_an_email_ticket_is_queued_with_the_reply_itself(
    users: dict[str, Any], centre_group: Any
) -> None:
    ticket = mail_receive(raw=mail()).ticket
    reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="已收到，稍后答复")
    queued = TicketMail.objects.get(event=reply)
    assert queued.direction == MailDirection.OUT and queued.status == MailStatus.QUEUED
    assert queued.address == "wang@example.com" and queued.message_id == reply.data["message_id"]


def test_handler_retries_a_failed_delivery_and_it_goes_out_with_the_same_message_id(
    users: dict[str, Any],
    centre_group: Any,
    settings: Any,
    smtp_server: Inbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from kefu.tickets.mail_services import ticket_mail_retry

    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _free_port()  # nobody listens: the first attempt fails
    ticket = mail_receive(raw=mail()).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="您好，问题已解决。")
    failed = TicketMail.objects.get(event=reply)
    assert failed.status == MailStatus.FAILED and failed.error and smtp_server.messages == []

    settings.EMAIL_PORT = working_port
    with django_capture_on_commit_callbacks(execute=True):
        ticket_mail_retry(actor=users["agent"], mail=failed)
    failed.refresh_from_db()
    assert failed.status == MailStatus.SENT and failed.attempts == 2 and failed.error == ""
    assert len(smtp_server.messages) == 1 and smtp_server.parsed()["Message-ID"] == failed.message_id
    retry = ticket.events.filter(data__mail_retry=failed.message_id).get()
    assert retry.actor == users["agent"] and retry.internal


def test_an_address_refused_for_good_is_retried_after_the_handler_corrects_it(
    users: dict[str, Any],
    centre_group: Any,
    refusing_server: Inbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from kefu.tickets.mail_services import ticket_mail_retry

    ticket = mail_receive(raw=mail(sender="nobody@example.com")).ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="您好。")
    refused = TicketMail.objects.get(event=reply)
    assert refused.status == MailStatus.FAILED and refused.permanent and "No such user" in refused.error
    ticket.refresh_from_db()
    services.ticket_update(actor=users["agent"], ticket=ticket, data={"contact_email": "wang@example.com"})
    with django_capture_on_commit_callbacks(execute=True):
        ticket_mail_retry(actor=users["agent"], mail=refused)
    refused.refresh_from_db()
    assert refused.status == MailStatus.SENT and refused.address == "wang@example.com"
    assert refusing_server.messages[-1]["to"] == ["wang@example.com"]


def test_only_a_failed_delivery_can_be_retried_and_only_by_a_handler(
    users: dict[str, Any], centre_group: Any
) -> None:
    from kefu.core.errors import Conflict, PermissionDenied
    from kefu.tickets.mail_services import ticket_mail_retry

    ticket = mail_receive(raw=mail()).ticket
    reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="您好")
    queued = TicketMail.objects.get(event=reply)
    with pytest.raises(Conflict):
        ticket_mail_retry(actor=users["agent"], mail=queued)
    TicketMail.objects.filter(pk=queued.pk).update(status=MailStatus.FAILED, error="timed out")
    with pytest.raises(PermissionDenied):
        ticket_mail_retry(actor=users["leader"], mail=queued)
    inbound = TicketMail.objects.get(direction=MailDirection.IN)
    with pytest.raises(Conflict):
        ticket_mail_retry(actor=users["agent"], mail=inbound)
    assert TicketMail.objects.get(pk=queued.pk).status == MailStatus.FAILED


def test_ticket_page_shows_the_delivery_and_the_customers_mail_with_its_attachments(
    users: dict[str, Any], centre_group: Any, client_as: Callable[..., Any]
) -> None:
    from django.urls import reverse

    ticket = mail_receive(raw=mail(attachments=[("发票.pdf", b"%PDF-1.4 invoice", "application/pdf")])).ticket
    answer = mail_receive(
        raw=mail(
            subject=f"Re: [{ticket.number}] 发票",
            body="补充一张照片",
            attachments=[("现场.jpg", b"\xff\xd8photo", "image/jpeg")],
        )
    )
    assert answer.ticket == ticket
    reply = services.ticket_reply(actor=users["agent"], ticket=ticket, body="已收到")
    TicketMail.objects.filter(event=reply).update(status=MailStatus.FAILED, error="Connection refused")
    page = client_as(users["agent"]).get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-delivery="failed"' in page and "Connection refused" in page
    assert 'data-testid="mail-retry"' in page
    assert page.count('data-testid="mail-attachments"') == 2 and "发票.pdf" in page and "现场.jpg" in page
    assert 'data-testid="mail-from"' in page and "wang@example.com" in page
    # A reader sees the status but gets no button.
    reader = client_as(users["leader"]).get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-delivery="failed"' in reader and 'data-testid="mail-retry"' not in reader


# --- kefu mail-in -----------------------------------------------------------------------------


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


@pytest.fixture
def keep_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """A management command closes every database connection when it ends, as a process should;
    in-process that would end the test's transaction (PostgreSQL)."""
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


def test_kefu_mail_in_files_the_message_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, keep_connection: None
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(mail(message_id="<pipe@example.com>")))
    assert main(["mail-in"]) == 0
    ticket = Ticket.objects.get()
    assert ticket.number in capsys.readouterr().out
    assert TicketMail.objects.get().message_id == "<pipe@example.com>"


def test_kefu_mail_in_exits_65_on_a_malformed_message(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, keep_connection: None
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(b"\xff\xfe garbage"))
    with pytest.raises(SystemExit) as caught:
        main(["mail-in"])
    assert caught.value.code == 65
    assert "From" in capsys.readouterr().err
    assert nothing_written()


def test_mail_in_command_reads_a_stream_given_to_call_command() -> None:
    out = io.StringIO()
    call_command("mail_in", stdin=io.BytesIO(mail()), stdout=out)
    assert Ticket.objects.get().number in out.getvalue()
    with pytest.raises(CommandError) as caught:
        call_command("mail_in", stdin=io.BytesIO(b""), stdout=out)
    assert caught.value.returncode == 65


def test_kefu_mail_in_as_a_mail_server_pipe(tmp_path: Path) -> None:
    """The real console script in its own process, on its own fresh database, as Postfix runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(KEFU_DATA_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    kefu = [sys.executable, "-m", "kefu.cli"]
    subprocess.run([*kefu, "migrate", "--noinput", "-v", "0"], env=env, cwd=tmp_path, check=True, timeout=300)

    filed = subprocess.run(
        [*kefu, "mail-in"], input=mail(), env=env, cwd=tmp_path, capture_output=True, timeout=120
    )
    assert filed.returncode == 0, filed.stderr
    assert filed.stdout.decode().startswith("GD")

    refused = subprocess.run(
        [*kefu, "mail-in"], input=b"\x00\x01garbage", env=env, cwd=tmp_path, capture_output=True, timeout=120
    )
    assert refused.returncode == 65 and b"NUL" in refused.stderr


# --- the HTTP endpoint ------------------------------------------------------------------------

URL = "/api/v1/mail/inbound"


def test_endpoint_files_a_raw_message_for_a_user_who_may_open_tickets(
    users: dict[str, Any], api_as: Callable[..., Any]
) -> None:
    client = api_as(users["agent"])
    raw = mail(message_id="<http@example.com>")
    response = client.post(URL, data=raw, content_type="message/rfc822")
    assert response.status_code == 201, response.content
    body = response.json()
    ticket = Ticket.objects.get()
    assert body["number"] == ticket.number and body["created"] and not body["duplicate"]

    again = client.post(URL, data=raw, content_type="message/rfc822")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Ticket.objects.count() == 1


def test_endpoint_refuses_a_malformed_message_with_400(
    users: dict[str, Any], api_as: Callable[..., Any]
) -> None:
    response = api_as(users["agent"]).post(URL, data=b"\xff garbage", content_type="message/rfc822")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_mail"
    assert nothing_written()


def test_endpoint_refuses_a_message_over_the_size_limit(
    users: dict[str, Any], api_as: Callable[..., Any], settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    raw = mail(body="很长的内容" * 500)
    response = api_as(users["agent"]).post(URL, data=raw, content_type="message/rfc822")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert nothing_written()


def test_endpoint_needs_authentication(db: Any) -> None:
    from django.test import Client

    response = Client().post(URL, data=mail(), content_type="message/rfc822")
    assert response.status_code == 401
    assert nothing_written()


def test_endpoint_needs_the_right_to_open_tickets(users: dict[str, Any], api_as: Callable[..., Any]) -> None:
    response = api_as(users["technician"]).post(URL, data=mail(), content_type="message/rfc822")
    assert response.status_code == 403
    assert nothing_written()


def test_endpoint_accepts_the_message_as_an_uploaded_file(
    users: dict[str, Any], api_as: Callable[..., Any]
) -> None:
    client = api_as(users["agent"])
    upload = SimpleUploadedFile("mail.eml", mail(subject="上传的邮件"), content_type="message/rfc822")
    response = client.post(URL, data={"message": upload})
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().subject == "上传的邮件"

    form = client.post(URL, data="subject=x&body=y", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400 and form.json()["code"] == "malformed_mail"
    assert Ticket.objects.count() == 1
