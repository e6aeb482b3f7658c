"""Editing a ticket's details: service, page (inline errors, stale forms), API, SLA recomputation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.tickets import services
from kefu.tickets.models import ComplaintCategory, EventKind, SlaStatus, Ticket
from tests.tickets.test_sla import Clock, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def _edit_post(ticket: Ticket, **changes: Any) -> dict[str, Any]:
    """The edit form as the page sends it: every field with its current value, plus the changes."""
    data: dict[str, Any] = {
        "subject": ticket.subject,
        "priority": ticket.priority,
        "description": ticket.description,
        "place": ticket.place,
        "contact_name": ticket.contact_name,
        "contact_phone": ticket.contact_phone,
        "contact_qq": ticket.contact_qq,
        "contact_email": ticket.contact_email,
        "occurred_at": "",
        "callback_due_at": "",
        "version": ticket.version,
    }
    if ticket.is_complaint:
        data["severity"] = ticket.severity
        data["category"] = ticket.category_id or ""
    data.update(changes)
    return data


# --- the service --------------------------------------------------------------------------------


def test_edit_records_who_changed_what_from_and_to_on_the_timeline(users: Any, open_ticket: Any) -> None:
    ticket = open_ticket(contact_name="王先生", place="杭州仓库")
    occurred = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(days=1)
    ticket = services.ticket_update(
        actor=users["agent"],
        ticket=ticket,
        data={"subject": "污水设备异响", "place": "宁波仓库", "occurred_at": occurred},
        version=ticket.version,
    )
    assert ticket.subject == "污水设备异响" and ticket.place == "宁波仓库" and ticket.occurred_at == occurred
    event = ticket.events.get(kind=EventKind.CHANGE)
    assert event.actor == users["agent"] and event.internal
    assert event.data["changes"]["subject"] == ["咨询污水处理设备的保养", "污水设备异响"]
    assert event.data["changes"]["place"] == ["杭州仓库", "宁波仓库"]
    assert event.data["changes"]["occurred_at"][0] == ""
    assert set(event.data["changed"]) == {"subject", "place", "occurred_at"}


def test_edit_without_a_real_change_writes_nothing(users: Any, open_ticket: Any) -> None:
    ticket = open_ticket(contact_phone="13812345678")
    version = ticket.version
    ticket = services.ticket_update(
        actor=users["agent"], ticket=ticket, data={"contact_phone": "138 1234 5678"}
    )
    assert ticket.version == version
    assert not ticket.events.filter(kind=EventKind.CHANGE).exists()


def test_edit_with_a_stale_version_is_a_conflict_and_writes_nothing(users: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    read = ticket.version
    services.ticket_update(
        actor=users["supervisor"], ticket=ticket, data={"subject": "主管改的"}, version=read
    )
    with pytest.raises(Conflict) as caught:
        services.ticket_update(
            actor=users["agent"], ticket=ticket, data={"subject": "专员改的"}, version=read
        )
    assert caught.value.code == "conflict"
    ticket.refresh_from_db()
    assert ticket.subject == "主管改的"
    assert ticket.events.filter(kind=EventKind.CHANGE).count() == 1


def test_bad_values_are_refused_field_by_field_and_nothing_is_written(users: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_update(
            actor=users["agent"],
            ticket=ticket,
            data={"subject": " ", "contact_email": "不是邮箱", "contact_qq": "qq12"},
        )
    assert set(caught.value.detail) == {"subject", "contact_email", "contact_qq"}
    assert Ticket.objects.get(pk=ticket.pk).version == ticket.version


def test_complaint_keeps_a_severity_and_its_category_can_be_corrected(users: Any, open_ticket: Any) -> None:
    complaint = open_ticket(kind="complaint", subject="送货延误")
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_update(actor=users["agent"], ticket=complaint, data={"severity": ""})
    assert "severity" in caught.value.detail
    delivery, service = (
        ComplaintCategory.objects.get_or_create(name="物流配送")[0],
        ComplaintCategory.objects.get_or_create(name="服务态度")[0],
    )
    complaint = services.ticket_update(actor=users["agent"], ticket=complaint, data={"category": delivery})
    complaint = services.ticket_update(actor=users["agent"], ticket=complaint, data={"category": service})
    assert complaint.category == service
    last = complaint.events.filter(kind=EventKind.CHANGE).latest("id")
    assert last.data["changes"]["category"] == ["物流配送", "服务态度"]
    with pytest.raises(ValidationFailed):
        services.ticket_update(actor=users["agent"], ticket=complaint, data={"category": None})


def test_an_inquiry_cannot_be_classified(users: Any, open_ticket: Any) -> None:
    category = ComplaintCategory.objects.get_or_create(name="产品质量")[0]
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_update(actor=users["agent"], ticket=open_ticket(), data={"category": category})
    assert "category" in caught.value.detail


def test_raising_severity_to_major_reports_to_the_manager(users: Any, open_ticket: Any) -> None:
    complaint = open_ticket(kind="complaint", subject="设备爆裂")
    services.ticket_update(actor=users["agent"], ticket=complaint, data={"severity": "major"})
    assert complaint.events.filter(kind=EventKind.ESCALATION, data__reason="major").exists()


def test_a_reader_cannot_edit(users: Any, open_ticket: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.ticket_update(actor=users["leader"], ticket=open_ticket(), data={"subject": "领导改"})


def test_priority_change_moves_the_deadlines_and_the_sla_status_with_them(
    clock: Clock, users: Any, open_ticket: Any
) -> None:
    clock.set(at(2026, 11, 23, 9, 0))
    ticket = open_ticket(kind="suggestion", assignee=users["agent"])
    assert ticket.first_response_due_at == at(2026, 11, 23, 18, 0)
    clock.set(at(2026, 11, 23, 10, 0))
    ticket = services.ticket_update(actor=users["agent"], ticket=ticket, data={"priority": "urgent"})
    # urgent: 30 working minutes from 9:00, already passed at 10:00
    assert ticket.first_response_due_at == at(2026, 11, 23, 9, 30)
    assert ticket.sla_status == SlaStatus.BREACHED
    assert services.tickets_check_sla(now=clock.now).breached == 1
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    event = ticket.events.filter(kind=EventKind.SLA).latest("id")
    assert event.data["changes"]["priority"][1] and event.data["deadlines"]["first_response_due_at"] == [
        "2026-11-23 18:00",
        "2026-11-23 09:30",
    ]

    ticket = services.ticket_update(actor=users["supervisor"], ticket=ticket, data={"priority": "normal"})
    assert ticket.first_response_due_at == at(2026, 11, 23, 18, 0)
    # No longer late: the status is on time again and a new breach escalates again.
    assert ticket.sla_status == SlaStatus.OK and ticket.escalation_level == 0


# --- the page -----------------------------------------------------------------------------------


def test_page_edit_saves_the_changes_and_shows_them_on_the_timeline(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket(contact_phone="13812345678")
    client = client_as(users["agent"])
    page = client.get(reverse("tickets:detail", args=[ticket.pk]))
    # The page offers the form and fetches it when opened.
    assert b'data-testid="edit-toggle"' in page.content and b'data-testid="edit-form"' not in page.content
    form = client.get(reverse("tickets:edit", args=[ticket.pk]))
    assert form.status_code == 200 and b'data-testid="edit-form"' in form.content
    assert b'name="subject"' in form.content
    response = client.post(
        reverse("tickets:edit", args=[ticket.pk]),
        _edit_post(ticket, subject="设备保养周期咨询", contact_qq="123456", priority="high"),
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.contact_qq, ticket.priority) == ("设备保养周期咨询", "123456", "high")
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-change="subject"' in page and "设备保养周期咨询" in page
    assert 'data-change="priority"' in page and 'data-change="deadlines"' in page


def test_page_edit_shows_a_bad_value_at_its_field_and_keeps_the_entries(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    response = client_as(users["agent"]).post(
        reverse("tickets:edit", args=[ticket.pk]),
        _edit_post(ticket, subject="新的标题", contact_email="wang-at-example"),
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-field-error="contact_email"' in content and 'value="新的标题"' in content
    assert Ticket.objects.get(pk=ticket.pk).subject == ticket.subject


def test_a_stale_edit_form_is_409_with_the_entries_kept_and_nothing_lost(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    form = _edit_post(ticket, subject="专员写的标题", place="上海门店")
    services.ticket_update(actor=users["supervisor"], ticket=ticket, data={"description": "主管补充的说明"})
    response = client_as(users["agent"]).post(reverse("tickets:edit", args=[ticket.pk]), form)
    assert response.status_code == 409
    content = response.content.decode()
    assert 'data-testid="edit-conflict"' in content
    assert 'value="专员写的标题"' in content and 'value="上海门店"' in content
    current = Ticket.objects.get(pk=ticket.pk)
    assert current.description == "主管补充的说明" and current.subject == ticket.subject
    # The form now carries the current version: saving again applies the editor's entries.
    assert f'name="version" value="{current.version}"' in content
    again = client_as(users["agent"]).post(
        reverse("tickets:edit", args=[ticket.pk]),
        {**form, "description": "主管补充的说明", "version": current.version},
    )
    assert again.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).subject == "专员写的标题"


def test_a_role_that_sees_phones_masked_keeps_the_number_by_leaving_it_empty(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket(contact_phone="13812345678")
    agent = users["agent"]
    assert not agent.has_perm("customers.view_sensitive")
    client = client_as(agent)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert "13812345678" not in page
    response = client.post(
        reverse("tickets:edit", args=[ticket.pk]), _edit_post(ticket, contact_phone="", place="仓库")
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.contact_phone == "13812345678" and ticket.place == "仓库"


def test_inline_validation_returns_the_field_with_its_error(
    users: Any, client_as: Any, open_ticket: Any
) -> None:
    ticket = open_ticket()
    url = reverse("tickets:edit_validate", args=[ticket.pk])
    client = client_as(users["agent"])
    bad = client.post(url, _edit_post(ticket, contact_phone="12345", validate_field="contact_phone"))
    assert bad.status_code == 200 and b'data-field-error="contact_phone"' in bad.content
    good = client.post(url, _edit_post(ticket, contact_phone="13900001111", validate_field="contact_phone"))
    assert good.status_code == 200 and b"data-field-error" not in good.content
    assert client.post(url, _edit_post(ticket, validate_field="nonsense")).status_code == 404


def test_an_archived_ticket_offers_no_edit_form(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(state="archived")
    client = client_as(users["manager"])
    page = client.get(reverse("tickets:detail", args=[ticket.pk]))
    assert b'data-testid="edit-toggle"' not in page.content
    assert client.get(reverse("tickets:edit", args=[ticket.pk])).status_code == 403


def test_the_edit_form_of_a_ticket_not_visible_is_404(users: Any, client_as: Any, open_ticket: Any) -> None:
    ticket = open_ticket()
    assert client_as(users["agent"]).get(reverse("tickets:edit", args=[ticket.pk + 10**6])).status_code == 404


# --- the API --------------------------------------------------------------------------------------


def test_api_edit_sets_the_time_of_the_event_and_the_category(
    users: Any, api_as: Any, open_ticket: Any
) -> None:
    complaint = open_ticket(kind="complaint", subject="态度差")
    category = ComplaintCategory.objects.get_or_create(name="服务态度")[0]
    response = api_as(users["agent"]).patch(
        f"/api/v1/tickets/{complaint.pk}",
        json.dumps(
            {
                "occurred_at": "2026-11-20T10:30:00+08:00",
                "category_id": category.pk,
                "version": complaint.version,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        body["occurred_at"].startswith("2026-11-20T02:30")
        and body["complaint"]["category"]["id"] == category.pk
    )
    missing = api_as(users["agent"]).patch(
        f"/api/v1/tickets/{complaint.pk}",
        json.dumps({"category_id": 999999}),
        content_type="application/json",
    )
    assert missing.status_code == 400 and "category_id" in missing.json()["detail"]
