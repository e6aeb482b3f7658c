"""The ticket pages: who may open each one (every role), forms, bulk actions, export, query counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse

from kefu.accounts.models import User
from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.core.models import Notification, SavedFilter
from kefu.customers.models import Customer
from kefu.tickets import services
from kefu.tickets import urls as ticket_urls
from kefu.tickets.models import (
    AfterSalesCase,
    ApprovalState,
    CannedReply,
    ComplaintCategory,
    EventKind,
    MailStatus,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketMail,
    TicketState,
)
from kefu.tickets.services import TicketInput, ticket_create
from tests.customers.conftest import count_queries, message_levels, xlsx_rows
from tests.factories import make_customer
from tests.tickets.test_reports import PAGES as REPORT_PAGES

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}


def role_has(role: str, perms: tuple[str, ...]) -> bool:
    return set(perms) <= RIGHTS[role]


def messages_text(response: Any) -> str:
    from django.contrib.messages import get_messages

    return " | ".join(str(m) for m in get_messages(response.wsgi_request))


class World:
    """A ticket of each kind opened in the user's name, so every data scope (even "only mine")
    covers them: a refusal can then only come from a missing right."""

    def __init__(self, user: User, make_user: Callable[..., User]) -> None:
        self.user = user
        self._make_user = make_user

    @cached_property
    def manager(self) -> User:
        return self._make_user("manager")

    @cached_property
    def handler(self) -> User:
        return self._make_user("agent")

    @cached_property
    def customer(self) -> Customer:
        return make_customer(actor=self.manager, name="工单测试客户")

    def _open(self, **fields: Any) -> Ticket:
        data = TicketInput(
            kind=fields.pop("kind", "inquiry"),
            channel="hotline",
            subject=fields.pop("subject", "咨询设备保养"),
            customer=self.customer,
            contact_phone="13812345678",
            **fields,
        )
        ticket = ticket_create(actor=self.manager, data=data)
        # Opened in the user's name: test set-up, not a product path.
        Ticket.objects.filter(pk=ticket.pk).update(created_by=self.user)
        return Ticket.objects.get(pk=ticket.pk)

    @cached_property
    def ticket(self) -> Ticket:
        return self._open()

    @cached_property
    def callback_ticket(self) -> Ticket:
        from django.utils import timezone

        return self._open(callback_due_at=timezone.now() + timezone.timedelta(hours=2))

    @cached_property
    def complaint(self) -> Ticket:
        return self._open(kind="complaint", subject="投诉送货延误")

    @cached_property
    def complaint_awaiting(self) -> Ticket:
        ticket = self._open(kind="complaint", subject="投诉服务态度")
        for step in (2, 3):
            services.complaint_step_complete(actor=self.manager, ticket=ticket, step=step, note=f"第{step}步")
        return services.complaint_request_approval(actor=self.manager, ticket=ticket, proposal="赔偿运费")

    @cached_property
    def after_sales(self) -> Ticket:
        return self._open(kind="after_sales", subject="退货", after_sales={"case_type": "return"})

    @cached_property
    def attachment_event(self) -> TicketEvent:
        upload = SimpleUploadedFile("照片.jpg", b"\xff\xd8\xff photo", content_type="image/jpeg")
        return services.ticket_reply(
            actor=self.manager, ticket=self.ticket, body="现场照片", kind=EventKind.NOTE, attachment=upload
        )

    @cached_property
    def failed_mail(self) -> TicketMail:
        data = TicketInput(
            kind="inquiry", channel="email", subject="邮件咨询", contact_email="wang@example.com"
        )
        ticket = ticket_create(actor=self.manager, data=data)
        Ticket.objects.filter(pk=ticket.pk).update(created_by=self.user)
        reply = services.ticket_reply(actor=self.manager, ticket=ticket, body="您好")
        TicketMail.objects.filter(event=reply).update(status=MailStatus.FAILED, error="Connection refused")
        return TicketMail.objects.get(event=reply)

    @cached_property
    def canned(self) -> CannedReply:
        return CannedReply.objects.filter(active=True).first()

    @cached_property
    def group(self) -> TicketGroup:
        from kefu.accounts.models import Department

        return TicketGroup.objects.create(name="权限测试组", department=Department.objects.first())

    @cached_property
    def category(self) -> ComplaintCategory:
        return ComplaintCategory.objects.first()

    @cached_property
    def own_filter(self) -> SavedFilter:
        return SavedFilter.objects.create(user=self.user, page="tickets", name="我的", query="queue=all")


@pytest.fixture
def world(make_user: Callable[..., User]) -> Callable[[User], World]:
    return lambda user: World(user, make_user)


# --- who may open what --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    perms: tuple[str, ...]
    args: Callable[[World], list[Any]] = lambda w: []
    query: Callable[[World], str] = lambda w: ""
    method: str = "get"
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    ok: int = 200

    def url(self, w: World) -> str:
        return reverse(f"tickets:{self.name}", args=self.args(w)) + self.query(w)


@dataclass(frozen=True)
class Action:
    """A button of the ticket page: the service refuses a missing right with a message."""

    name: str
    perms: tuple[str, ...]
    args: Callable[[World], list[Any]]
    data: Callable[[World], dict[str, Any]]
    done: Callable[[World], bool]
    label: str = ""

    def url(self, w: World) -> str:
        return reverse(f"tickets:{self.name}", args=self.args(w))


VIEW = ("tickets.view_ticket",)

PAGES = [
    Page("list", VIEW),
    Page("queue_counts", VIEW),
    Page("list", VIEW, query=lambda w: "?queue=all&kind=complaint&sort=due&q=GD"),
    Page("export", ("tickets.export_ticket",)),
    Page("intake", ("tickets.add_ticket",)),
    Page("intake_lookup", ("tickets.add_ticket",), query=lambda w: "?contact_phone=13812345678"),
    Page(
        "intake_customer",
        ("tickets.add_ticket",),
        method="post",
        data=lambda w: {"kind": "person", "name": "", "phone": "13900001111"},
    ),
    Page("create", ("tickets.add_ticket",)),
    Page("detail", VIEW, args=lambda w: [w.ticket.pk]),
    Page("detail", VIEW, args=lambda w: [w.complaint_awaiting.pk]),
    Page("detail", VIEW, args=lambda w: [w.after_sales.pk]),
    Page(
        "canned_insert",
        ("tickets.view_cannedreply",),
        args=lambda w: [w.ticket.pk],
        query=lambda w: f"?canned={w.canned.pk}&body=",
    ),
    Page("attachment", VIEW, args=lambda w: [w.ticket.pk, w.attachment_event.pk]),
    Page(
        "edit_validate",
        ("tickets.view_ticket", "tickets.change_ticket"),
        args=lambda w: [w.ticket.pk],
        method="post",
        data=lambda w: {"validate_field": "contact_qq", "contact_qq": "12a", "subject": "x", "version": 1},
    ),
    Page(
        "filter_save",
        VIEW,
        method="post",
        data=lambda w: {"name": "紧急", "query": "priority=urgent"},
        ok=302,
    ),
    Page("filter_delete", VIEW, args=lambda w: [w.own_filter.pk], method="post", ok=302),
    Page("bulk", VIEW, method="post", data=lambda w: {}, ok=302),
    Page("sla", ("tickets.view_slapolicy",)),
    Page("canned", ("tickets.change_cannedreply",)),
    Page("canned_create", ("tickets.add_cannedreply",)),
    Page("canned_edit", ("tickets.change_cannedreply",), args=lambda w: [w.canned.pk]),
    Page(
        "canned_toggle", ("tickets.change_cannedreply",), args=lambda w: [w.canned.pk], method="post", ok=302
    ),
    Page(
        "canned_delete", ("tickets.change_cannedreply",), args=lambda w: [w.canned.pk], method="post", ok=302
    ),
    Page("groups", ("tickets.change_ticketgroup",)),
    Page("group_create", ("tickets.add_ticketgroup",)),
    Page("group_edit", ("tickets.change_ticketgroup",), args=lambda w: [w.group.pk]),
    Page("categories", ("tickets.change_complaintcategory",)),
    Page("category_edit", ("tickets.change_complaintcategory",), args=lambda w: [w.category.pk]),
]


def _state(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


ACTIONS = [
    Action(
        "reply",
        ("tickets.change_ticket",),
        lambda w: [w.ticket.pk],
        lambda w: {"kind": "reply", "body": "您好,已为您查询"},
        lambda w: w.ticket.events.filter(kind=EventKind.REPLY).exists(),
    ),
    Action(
        "edit",
        ("tickets.change_ticket",),
        lambda w: [w.ticket.pk],
        lambda w: {
            "subject": "改过的标题",
            "priority": "high",
            "contact_phone": "13812345678",
            "version": w.ticket.version,
        },
        lambda w: _state(w.ticket).subject == "改过的标题",
    ),
    Action(
        "mail_retry",
        ("tickets.change_ticket",),
        lambda w: [w.failed_mail.ticket_id, w.failed_mail.pk],
        lambda w: {},
        lambda w: TicketMail.objects.get(pk=w.failed_mail.pk).status == MailStatus.QUEUED,
    ),
    Action(
        "claim",
        ("tickets.change_ticket",),
        lambda w: [w.ticket.pk],
        lambda w: {},
        lambda w: _state(w.ticket).assignee_id == w.user.pk,
    ),
    Action(
        "assign",
        ("tickets.assign_ticket",),
        lambda w: [w.ticket.pk],
        lambda w: {"assignee": w.handler.pk},
        lambda w: _state(w.ticket).assignee_id == w.handler.pk,
    ),
    Action(
        "transition",
        ("tickets.change_ticket",),
        lambda w: [w.ticket.pk, "wait"],
        lambda w: {},
        lambda w: _state(w.ticket).state == TicketState.PENDING,
        label="wait",
    ),
    Action(
        "callback",
        ("tickets.change_ticket",),
        lambda w: [w.callback_ticket.pk],
        lambda w: {"note": "已回电告知结果"},
        lambda w: _state(w.callback_ticket).callback_done_at is not None,
    ),
    Action(
        "step",
        ("tickets.change_ticket",),
        lambda w: [w.complaint.pk],
        lambda w: {"step": 2, "note": "已核实"},
        lambda w: _state(w.complaint).complaint_step == 3,
    ),
    Action(
        "decision",
        ("tickets.approve_complaint",),
        lambda w: [w.complaint_awaiting.pk],
        lambda w: {"decision": "approve", "note": "同意"},
        lambda w: _state(w.complaint_awaiting).approval_state == ApprovalState.APPROVED,
    ),
    Action(
        "after_sales",
        ("tickets.change_ticket",),
        lambda w: [w.after_sales.pk],
        lambda w: {"case_type": "return", "order_number": "TB123", "quality_problem": "1"},
        lambda w: AfterSalesCase.objects.get(ticket=w.after_sales).order_number == "TB123",
    ),
    Action(
        "after_sales_remark",
        ("tickets.change_ticket",),
        lambda w: [w.after_sales.pk],
        lambda w: {"change": "收货地址为杭州市西湖区"},
        lambda w: "杭州市西湖区" in AfterSalesCase.objects.get(ticket=w.after_sales).order_remarks,
    ),
]


def _page_id(entry: Page | Action) -> str:
    if isinstance(entry, Action):
        return f"{entry.name}:{entry.label}" if entry.label else entry.name
    index = [p for p in PAGES if p.name == entry.name].index(entry)
    return entry.name if index == 0 else f"{entry.name}:{index}"


def _open(client: Client, entry: Page, w: World) -> Any:
    if entry.method == "post":
        return client.post(entry.url(w), entry.data(w))
    return client.get(entry.url(w))


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("entry", PAGES, ids=_page_id)
def test_page_is_open_to_roles_with_its_right_and_refused_to_the_others(
    role: str, entry: Page, make_user: Any, client_as: Any, world: Any
) -> None:
    user = make_user(role, username=role)
    w = world(user)
    response = _open(client_as(user), entry, w)
    if role_has(role, entry.perms):
        assert response.status_code == entry.ok, (role, entry.name, response.status_code)
    else:
        assert response.status_code == 403, (role, entry.name, response.status_code)
        assert b'data-testid="error-page"' in response.content


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize("entry", ACTIONS, ids=_page_id)
def test_ticket_action_is_done_for_roles_with_its_right_and_refused_with_a_message(
    role: str, entry: Action, make_user: Any, client_as: Any, world: Any
) -> None:
    user = make_user(role, username=role)
    w = world(user)
    response = client_as(user).post(entry.url(w), entry.data(w))
    if not role_has(role, VIEW):
        assert response.status_code == 403
        assert not entry.done(w)
    elif role_has(role, entry.perms):
        assert response.status_code == 302, (role, entry.name, response.content[:300])
        assert "success" in message_levels(response), (role, entry.name, messages_text(response))
        assert entry.done(w)
    else:
        assert response.status_code == 302
        assert message_levels(response) == ["error"], (role, entry.name)
        assert not entry.done(w)


@pytest.mark.parametrize("entry", PAGES + ACTIONS, ids=_page_id)
def test_anonymous_visitor_is_sent_to_the_login_page(entry: Any, make_user: Any, world: Any) -> None:
    w = world(make_user("manager"))
    client = Client()
    url = entry.url(w)
    if isinstance(entry, Action) or entry.method == "post":
        response = client.post(url, entry.data(w))
    else:
        response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_every_ticket_page_is_in_the_permission_table() -> None:
    names = {p.name for p in ticket_urls.urlpatterns if isinstance(p, URLPattern)}
    # The transition route serves every state change; "wait" stands for them here, the rest are
    # covered by the complaint flow below.
    # The complaint report's pages have their own table in test_reports.py.
    reports = {e.name for e in REPORT_PAGES}
    assert names - {"approval"} == {e.name for e in PAGES} | {e.name for e in ACTIONS} | reports


# --- the queues ------------------------------------------------------------------------------------


def test_queue_tab_past_the_cap_shows_a_plus(
    users: Any, client_as: Any, open_ticket: Any, settings: Any
) -> None:
    settings.LIST_COUNT_CAP = 1
    open_ticket(assignee=users["agent"])
    open_ticket(assignee=users["agent"])
    html = client_as(users["agent"]).get(reverse("tickets:queue_counts")).content.decode()
    assert re.search(r'data-testid="count-mine" [^>]*>1\+<', html)


def test_queue_tabs_show_their_counts_and_the_empty_state(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    client = client_as(users["agent"])
    response = client.get(reverse("tickets:list"))
    html = response.content.decode()
    assert 'data-testid="empty-state"' in html
    open_ticket(assignee=users["agent"], subject="保养咨询甲一")
    open_ticket(subject="报修乙二")
    html = client.get(reverse("tickets:list")).content.decode()
    assert "保养咨询甲一" in html and "报修乙二" not in html  # the default tab is "mine"
    assert f'hx-get="{reverse("tickets:queue_counts")}"' in html  # the tab counts come after the list
    counts = client.get(reverse("tickets:queue_counts")).content.decode()
    assert re.search(r'data-testid="count-mine" [^>]*>1<', counts)
    assert re.search(r'data-testid="count-unassigned" [^>]*>1<', counts)
    html = client.get(reverse("tickets:list") + "?queue=unassigned").content.decode()
    assert "报修乙二" in html and "保养咨询甲一" not in html


def test_filters_and_search_narrow_the_list(users: Any, client_as: Any, open_ticket: Any) -> None:
    open_ticket(kind="complaint", subject="送货延误投诉")
    inquiry = open_ticket(subject="询问价格")
    client = client_as(users["supervisor"])
    html = client.get(reverse("tickets:list") + "?queue=all&kind=complaint").content.decode()
    assert "送货延误投诉" in html and "询问价格" not in html
    html = client.get(reverse("tickets:list") + f"?queue=all&q={inquiry.number}").content.decode()
    assert "询问价格" in html and "送货延误投诉" not in html
    # Nonsense in the query string is ignored, never a 500.
    response = client.get(
        reverse("tickets:list") + "?queue=x&kind=y&assignee=abc&created_from=2026-99-99&sort=z"
    )
    assert response.status_code == 200


def test_htmx_filtering_returns_only_the_table(users: Any, client_as: Any, open_ticket: Any) -> None:
    open_ticket(subject="局部刷新")
    response = client_as(users["agent"]).get(reverse("tickets:list") + "?queue=all", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "局部刷新" in html and "<html" not in html


def test_list_query_count_does_not_grow_with_rows(users: Any, client_as: Any, open_ticket: Any) -> None:
    client = client_as(users["supervisor"])
    url = reverse("tickets:list") + "?queue=all"
    for _ in range(2):
        open_ticket(assignee=users["agent"])
    client.get(url)  # warm caches (calendar, content types)
    few, _response = count_queries(lambda: client.get(url))
    for n in range(10):
        open_ticket(
            actor=users["supervisor"],
            assignee=users["agent"] if n % 2 else None,
            kind="complaint" if n % 3 else "inquiry",
        )
    many, response = count_queries(lambda: client.get(url))
    assert response.status_code == 200
    assert many == few, (few, many)


def test_saved_filters_are_saved_applied_and_deleted_by_their_owner_only(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    client = client_as(users["agent"])
    response = client.post(
        reverse("tickets:filter_save"), {"name": "我的客诉", "query": "queue=all&kind=complaint&page=3"}
    )
    saved = SavedFilter.objects.get(user=users["agent"], name="我的客诉")
    assert saved.query == "queue=all&kind=complaint"  # the page number is not a filter
    assert response["Location"].endswith("?queue=all&kind=complaint")
    html = client.get(reverse("tickets:list")).content.decode()
    assert "我的客诉" in html and "?queue=all&amp;kind=complaint" in html
    # Someone else's filter does not exist for another user.
    response = client_as(users["supervisor"]).post(reverse("tickets:filter_delete", args=[saved.pk]))
    assert message_levels(response) == ["error"] and SavedFilter.objects.filter(pk=saved.pk).exists()
    # An empty name is refused.
    response = client.post(reverse("tickets:filter_save"), {"name": "", "query": "queue=all"})
    assert message_levels(response) == ["error"] and SavedFilter.objects.count() == 1
    client.post(reverse("tickets:filter_delete", args=[saved.pk]))
    assert not SavedFilter.objects.exists()


def test_bulk_assign_moves_the_ticked_tickets(users: Any, client_as: Any, open_ticket: Any) -> None:
    tickets = [open_ticket(), open_ticket()]
    response = client_as(users["supervisor"]).post(
        reverse("tickets:bulk"),
        {"ids": [t.pk for t in tickets], "action": "assign", "assignee": users["agent"].pk},
    )
    assert "success" in message_levels(response)
    assert all(_state(t).assignee_id == users["agent"].pk for t in tickets)


def test_bulk_close_shows_each_ticket_that_failed(users: Any, client_as: Any, open_ticket: Any) -> None:
    inquiry = open_ticket()
    complaint = open_ticket(kind="complaint")
    response = client_as(users["supervisor"]).post(
        reverse("tickets:bulk"), {"ids": [inquiry.pk, complaint.pk], "action": "close"}
    )
    assert _state(inquiry).state == TicketState.CLOSED
    assert _state(complaint).state == TicketState.OPEN
    text = messages_text(response)
    assert complaint.number in text and message_levels(response) == ["success", "warning"]


def test_bulk_without_the_right_is_refused_with_a_message(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    response = client_as(users["agent"]).post(
        reverse("tickets:bulk"), {"ids": [ticket.pk], "action": "close"}
    )
    assert message_levels(response) == ["error"]
    assert _state(ticket).state == TicketState.OPEN


def test_export_is_a_valid_xlsx_of_the_filtered_list(users: Any, client_as: Any, open_ticket: Any) -> None:
    complaint = open_ticket(kind="complaint", subject="导出的客诉", contact_phone="13812345678")
    open_ticket(subject="不导出的咨询")
    response = client_as(users["supervisor"]).get(reverse("tickets:export") + "?queue=all&kind=complaint")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = xlsx_rows(response)
    assert [row[0] for row in rows] == [complaint.number]
    assert rows[0][7] == "导出的客诉"
    assert rows[0][10] == "138 1234 5678"


# --- the ticket page ----------------------------------------------------------------------------


def test_ticket_page_masks_the_phone_for_roles_without_the_right(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket(contact_phone="13812345678")
    agent_html = client_as(users["agent"]).get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "138****5678" in agent_html and "13812345678" not in agent_html
    supervisor_html = (
        client_as(users["supervisor"]).get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    )
    assert "138 1234 5678" in supervisor_html


def test_a_ticket_outside_the_scope_is_not_found(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    assert client_as(users["coordinator"]).get(reverse("tickets:detail", args=[ticket.pk])).status_code == 404


def test_an_empty_reply_is_shown_at_the_field_and_nothing_is_written(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    response = client_as(users["agent"]).post(
        reverse("tickets:reply", args=[ticket.pk]), {"kind": "reply", "body": " "}
    )
    assert response.status_code == 200
    assert 'data-field-error="body"' in response.content.decode()
    assert ticket.events.count() == 1


def test_internal_notes_look_different_from_replies(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    client = client_as(users["agent"])
    client.post(reverse("tickets:reply", args=[ticket.pk]), {"kind": "note", "body": "客户脾气急"})
    client.post(reverse("tickets:reply", args=[ticket.pk]), {"kind": "reply", "body": "您好,已处理"})
    html = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    note = re.search(
        r'<li class="card mb-2 kefu-internal[^"]*" data-event="note" data-internal="1">(.*?)</li>', html, re.S
    )
    assert note and "客户脾气急" in note.group(1)
    reply = re.search(r'<li class="card mb-2 " data-event="reply">(.*?)</li>', html, re.S)
    assert reply and "您好,已处理" in reply.group(1)


def test_attachment_is_uploaded_and_downloaded_by_those_who_see_the_ticket(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    upload = SimpleUploadedFile("发票.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    client_as(users["agent"]).post(
        reverse("tickets:reply", args=[ticket.pk]), {"kind": "note", "body": "", "attachment": upload}
    )
    event = ticket.events.exclude(attachment="").get()
    url = reverse("tickets:attachment", args=[ticket.pk, event.pk])
    response = client_as(users["supervisor"]).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 test"
    assert client_as(users["coordinator"]).get(url).status_code == 404


def test_canned_reply_is_inserted_with_placeholders_filled(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket(contact_name="王先生")
    reply = services.canned_reply_save(
        actor=users["manager"],
        data={
            "category": "greeting",
            "title": "问候",
            "body": "{customer_name}您好,我是{agent_name},工单{ticket_number}",
        },
    )
    response = client_as(users["agent"]).get(
        reverse("tickets:canned_insert", args=[ticket.pk]), {"canned": reply.pk, "body": "前文"}
    )
    html = response.content.decode()
    assert f"前文\n王先生您好,我是{users['agent']},工单{ticket.number}" in html
    assert 'id="reply-body"' in html


def test_stale_version_shows_a_conflict_message(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    services.ticket_transition(actor=users["supervisor"], ticket=ticket, action="wait")
    response = client_as(users["agent"]).post(
        reverse("tickets:transition", args=[ticket.pk, "close"]), {"version": ticket.version}
    )
    assert response.status_code == 302 and message_levels(response) == ["error"]
    assert _state(ticket).state == TicketState.PENDING


def test_a_missing_note_is_shown_at_the_action(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    response = client_as(users["agent"]).post(reverse("tickets:transition", args=[ticket.pk, "resolve"]), {})
    assert response.status_code == 200
    assert 'data-field-error="note"' in response.content.decode()
    assert _state(ticket).state == TicketState.OPEN


def test_an_unknown_action_is_refused_not_a_500(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    response = client_as(users["agent"]).post(reverse("tickets:transition", args=[ticket.pk, "explode"]), {})
    assert response.status_code == 302 and message_levels(response) == ["error"]


def test_complaint_cannot_be_closed_before_approval_and_the_page_says_why(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket(kind="complaint")
    client = client_as(users["agent"])
    html = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="blocker-close"' in html
    response = client.post(reverse("tickets:transition", args=[ticket.pk, "close"]), {})
    assert message_levels(response) == ["error"]
    assert "approv" in messages_text(response).lower() or "批" in messages_text(response)
    assert _state(ticket).state == TicketState.OPEN


def test_complaint_walks_its_steps_through_the_page(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket(kind="complaint", apologised=True)
    agent, supervisor = client_as(users["agent"]), client_as(users["supervisor"])
    step = reverse("tickets:step", args=[ticket.pk])
    agent.post(step, {"step": 2, "note": "核实属实"})
    agent.post(step, {"step": 3, "note": "司机绕路"})
    response = agent.post(reverse("tickets:approval", args=[ticket.pk]), {"proposal": ""})
    assert 'data-field-error="proposal"' in response.content.decode()
    agent.post(reverse("tickets:approval", args=[ticket.pk]), {"proposal": "退运费并致歉"})
    # A reject needs a reason.
    response = supervisor.post(
        reverse("tickets:decision", args=[ticket.pk]), {"decision": "reject", "note": ""}
    )
    assert 'data-field-error="note"' in response.content.decode()
    supervisor.post(reverse("tickets:decision", args=[ticket.pk]), {"decision": "approve", "note": "同意"})
    agent.post(step, {"step": 5, "note": "已退运费"})
    agent.post(step, {"step": 6, "note": "客户满意"})
    response = agent.post(step, {"step": 7, "note": "归类"})
    assert 'data-field-error="category"' in response.content.decode()
    category = ComplaintCategory.objects.first()
    agent.post(step, {"step": 7, "note": "归类", "category": category.pk})
    response = agent.post(reverse("tickets:transition", args=[ticket.pk, "close"]), {"note": "结案"})
    assert "success" in message_levels(response)
    ticket.refresh_from_db()
    assert ticket.state == TicketState.CLOSED and ticket.category == category and ticket.complaint_step == 8
    html = agent.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert html.count('data-done="1"') == 7


def test_after_sales_panel_shows_who_pays_the_shipping(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket(kind="after_sales", after_sales={"case_type": "return"})
    client = client_as(users["agent"])
    client.post(
        reverse("tickets:after_sales", args=[ticket.pk]), {"case_type": "return", "quality_problem": "0"}
    )
    html = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert re.search(
        r'data-testid="shipping-rule">\s*The customer pays|data-testid="shipping-rule">\s*客户', html
    )
    response = client.post(
        reverse("tickets:after_sales", args=[ticket.pk]), {"case_type": "return", "refund_amount": "abc"}
    )
    assert response.status_code == 200 and "refund_amount" in response.content.decode()


def test_an_empty_order_remark_is_refused_at_the_field(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket(kind="after_sales", after_sales={"case_type": "exchange"})
    response = client_as(users["agent"]).post(
        reverse("tickets:after_sales_remark", args=[ticket.pk]), {"change": ""}
    )
    assert 'data-field-error="change"' in response.content.decode()
    assert AfterSalesCase.objects.get(ticket=ticket).order_remarks == ""


# --- intake ----------------------------------------------------------------------------------------


def test_lookup_shows_the_callers_file_with_open_tickets(
    users: Any, client_as: Any, open_ticket: Any, customer: Customer
) -> None:
    open_ticket(subject="上次的咨询")
    phone = customer.phone
    html = (
        client_as(users["agent"])
        .get(reverse("tickets:intake_lookup"), {"contact_phone": phone})
        .content.decode()
    )
    assert customer.name in html and "上次的咨询" in html and 'data-testid="caller-file"' in html


def test_unknown_number_offers_a_quick_create_that_selects_the_new_customer(
    users: Any, client_as: Any
) -> None:
    client = client_as(users["agent"])
    html = client.get(reverse("tickets:intake_lookup"), {"contact_phone": "139 0000 1111"}).content.decode()
    assert 'data-testid="quick-customer-form"' in html
    html = client.post(
        reverse("tickets:intake_customer"), {"kind": "person", "name": "新来电客户", "phone": "13900001111"}
    ).content.decode()
    customer = Customer.objects.get(name="新来电客户")
    assert f'name="customer" value="{customer.pk}"' in html and 'form="intake-form"' in html


def test_quick_create_errors_are_shown_in_the_form(users: Any, client_as: Any) -> None:
    html = (
        client_as(users["agent"])
        .post(reverse("tickets:intake_customer"), {"kind": "person", "name": "", "phone": "13900001111"})
        .content.decode()
    )
    assert 'data-field-error="name"' in html and not Customer.objects.exists()


def test_answer_now_records_a_closed_ticket(users: Any, client_as: Any, customer: Customer) -> None:
    response = client_as(users["agent"]).post(
        reverse("tickets:intake"),
        {
            "contact_phone": customer.phone,
            "customer": customer.pk,
            "subject": "营业时间",
            "kind": "inquiry",
            "channel": "hotline",
            "priority": "normal",
            "answer": "工作日9点到18点",
            "mode": "answer",
        },
    )
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("tickets:intake")
    assert (
        ticket.state == TicketState.CLOSED
        and ticket.answered_on_first_contact
        and ticket.customer == customer
    )


def test_open_a_case_with_the_five_ws(users: Any, client_as: Any) -> None:
    response = client_as(users["supervisor"]).post(
        reverse("tickets:intake"),
        {
            "contact_phone": "0571-88886666",
            "subject": "产品漏水",
            "description": "新买的净水器漏水",
            "kind": "complaint",
            "channel": "complaint_hotline",
            "priority": "high",
            "severity": "serious",
            "occurred_at": "2026-01-05T10:30",
            "place": "杭州西湖区",
            "contact_name": "赵女士",
            "contact_qq": "123456",
            "apologised": "on",
            "assignee": users["agent"].pk,
            "mode": "open",
        },
    )
    ticket = Ticket.objects.get()
    assert response["Location"] == reverse("tickets:detail", args=[ticket.pk])
    assert (ticket.kind, ticket.severity, ticket.place, ticket.assignee) == (
        "complaint",
        "serious",
        "杭州西湖区",
        users["agent"],
    )
    assert ticket.contact_phone == "057188886666"
    assert ticket.steps.get(step=1).data == {"apologised": True}


def test_a_complaint_cannot_be_answered_on_the_call(users: Any, client_as: Any) -> None:
    response = client_as(users["agent"]).post(
        reverse("tickets:intake"),
        {
            "subject": "投诉",
            "kind": "complaint",
            "channel": "hotline",
            "priority": "normal",
            "answer": "好的",
            "mode": "answer",
        },
    )
    assert response.status_code == 200
    assert 'data-field-error="answer"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_bad_phone_is_shown_at_the_field(users: Any, client_as: Any) -> None:
    response = client_as(users["agent"]).post(
        reverse("tickets:create"),
        {
            "contact_phone": "12345",
            "subject": "来信",
            "kind": "inquiry",
            "channel": "letter",
            "priority": "normal",
        },
    )
    assert response.status_code == 200
    assert 'data-field-error="contact_phone"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_new_ticket_form_opens_an_after_sales_case(users: Any, client_as: Any) -> None:
    response = client_as(users["agent"]).post(
        reverse("tickets:create"),
        {
            "subject": "要求换货",
            "kind": "after_sales",
            "channel": "wangwang",
            "priority": "normal",
            "case_type": "exchange",
            "order_number": "TB20260101",
            "buyer_id": "tb_buyer",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert AfterSalesCase.objects.get(ticket=ticket).order_number == "TB20260101"
    assert ticket.assignee is None  # an agent cannot give it to someone else


# --- settings --------------------------------------------------------------------------------------


def _sla_post(**overrides: Any) -> dict[str, Any]:
    from django.utils import timezone

    data = {
        "effective_from": (timezone.localdate() + timezone.timedelta(days=1)).isoformat(),
        "at_risk_percent": 80,
        "manager_after_minutes": 120,
        "note": "旺季",
        "targets-TOTAL_FORMS": 2,
        "targets-INITIAL_FORMS": 0,
        "targets-0-kind": "",
        "targets-0-priority": "",
        "targets-0-tier": "",
        "targets-0-first_response_minutes": 60,
        "targets-0-resolution_minutes": 480,
        "targets-1-kind": "complaint",
        "targets-1-priority": "",
        "targets-1-tier": "",
        "targets-1-first_response_minutes": "",
        "targets-1-resolution_minutes": "",
    }
    data.update(overrides)
    return data


def test_manager_saves_a_new_sla_version(users: Any, client_as: Any) -> None:
    before = SlaPolicy.objects.count()
    response = client_as(users["manager"]).post(reverse("tickets:sla"), _sla_post())
    assert response.status_code == 302
    policy = SlaPolicy.objects.order_by("-id").first()
    assert SlaPolicy.objects.count() == before + 1 and policy.note == "旺季"
    assert list(policy.targets.values_list("first_response_minutes", "resolution_minutes")) == [(60, 480)]


def test_a_bad_sla_version_is_refused_with_the_reason(users: Any, client_as: Any) -> None:
    before = SlaPolicy.objects.count()
    response = client_as(users["manager"]).post(
        reverse("tickets:sla"), _sla_post(**{"targets-0-kind": "inquiry", "at_risk_percent": 150})
    )
    assert response.status_code == 200 and SlaPolicy.objects.count() == before
    assert 'data-field-error="at_risk_percent"' in response.content.decode()


def test_supervisor_reads_the_sla_but_cannot_save_one(users: Any, client_as: Any) -> None:
    client = client_as(users["supervisor"])
    assert 'data-testid="sla-form"' not in client.get(reverse("tickets:sla")).content.decode()
    before = SlaPolicy.objects.count()
    response = client.post(reverse("tickets:sla"), _sla_post())
    assert SlaPolicy.objects.count() == before
    assert response.status_code == 200


def test_canned_replies_are_added_edited_deactivated_and_deleted(users: Any, client_as: Any) -> None:
    client = client_as(users["manager"])
    client.post(
        reverse("tickets:canned_create"),
        {"category": "apology", "title": "致歉", "body": "非常抱歉", "active": "on"},
    )
    reply = CannedReply.objects.get(title="致歉")
    response = client.post(
        reverse("tickets:canned_edit", args=[reply.pk]), {"category": "apology", "title": "致歉", "body": ""}
    )
    assert 'data-field-error="body"' in response.content.decode()
    client.post(reverse("tickets:canned_toggle", args=[reply.pk]))
    reply.refresh_from_db()
    assert reply.active is False
    client.post(reverse("tickets:canned_delete", args=[reply.pk]))
    assert not CannedReply.objects.filter(pk=reply.pk).exists()


def test_ticket_group_and_category_are_saved_from_their_pages(
    users: Any, client_as: Any, departments: Any
) -> None:
    client = client_as(users["manager"])
    response = client.post(
        reverse("tickets:group_create"),
        {
            "name": "客诉组",
            "department": departments["complaints"].pk,
            "assign_mode": "round_robin",
            "members": [users["complaint_specialist"].pk],
            "active": "on",
        },
    )
    assert response.status_code == 302
    group = TicketGroup.objects.get(name="客诉组")
    assert list(group.members.all()) == [users["complaint_specialist"]]
    response = client.post(
        reverse("tickets:group_create"),
        {
            "name": "技术组",
            "department": departments["tech"].pk,
            "assign_mode": "manual",
            "members": [users["technician"].pk],
        },
    )
    assert response.status_code == 200 and not TicketGroup.objects.filter(name="技术组").exists()
    client.post(reverse("tickets:categories"), {"name": "物流问题", "sort_order": 5, "active": "on"})
    assert ComplaintCategory.objects.filter(name="物流问题").exists()
    response = client.post(reverse("tickets:categories"), {"name": "物流问题"})
    assert 'data-field-error="name"' in response.content.decode()


# --- notifications ---------------------------------------------------------------------------------


def test_the_bell_counts_unread_and_the_page_marks_them_read(
    users: Any, client_as: Any, open_ticket: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(actor=users["supervisor"], assignee=users["agent"])
    client = client_as(users["agent"])
    html = client.get(reverse("home")).content.decode()
    assert re.search(r'data-testid="bell-count">1<', html)
    page = client.get(reverse("notifications")).content.decode()
    assert ticket.number in page
    note = Notification.objects.get(recipient=users["agent"])
    response = client.post(reverse("notifications_read"), {"ids": [note.pk], "follow": "1"})
    assert response["Location"] == f"/tickets/{ticket.pk}/"
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="bell-count"' not in html


def test_one_cannot_mark_anothers_notifications(
    users: Any, client_as: Any, open_ticket: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(actor=users["supervisor"], assignee=users["agent"])
    note = Notification.objects.get(recipient=users["agent"])
    client_as(users["supervisor"]).post(reverse("notifications_read"), {"ids": [note.pk]})
    note.refresh_from_db()
    assert note.read_at is None


def test_a_bad_sla_row_is_named_and_nothing_saved(users: Any, client_as: Any) -> None:
    before = SlaPolicy.objects.count()
    response = client_as(users["manager"]).post(
        reverse("tickets:sla"),
        _sla_post(**{"targets-1-first_response_minutes": 600, "targets-1-resolution_minutes": 60}),
    )
    assert response.status_code == 200 and SlaPolicy.objects.count() == before
    errors = response.context["form"].non_field_errors()
    assert len(errors) == 1 and "2" in errors[0]


def test_an_archived_complaint_shows_no_step_form(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket(kind="complaint")
    manager, supervisor = users["manager"], users["supervisor"]
    for step in (2, 3):
        services.complaint_step_complete(actor=manager, ticket=ticket, step=step, note="记录")
    services.complaint_request_approval(actor=manager, ticket=ticket, proposal="方案")
    services.complaint_decide(actor=supervisor, ticket=ticket, approve=True)
    for step in (5, 6):
        services.complaint_step_complete(actor=manager, ticket=ticket, step=step, note="记录")
    services.complaint_step_complete(
        actor=manager, ticket=ticket, step=7, note="归类", category=ComplaintCategory.objects.first()
    )
    services.ticket_transition(actor=manager, ticket=ticket, action="close")
    client = client_as(manager)
    assert (
        'data-testid="step-form"' in client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    )
    for step in (8, 9):
        client.post(reverse("tickets:step", args=[ticket.pk]), {"step": step, "note": f"第{step}步"})
    ticket.refresh_from_db()
    assert ticket.state == TicketState.ARCHIVED
    html = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="step-form"' not in html and html.count('data-done="1"') == 9
