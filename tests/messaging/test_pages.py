"""Member care pages: each role allowed or refused, and the pages doing their work."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from kefu.accounts.roles import ROLE_CODES, ROLE_DEFINITIONS
from kefu.messaging import services
from kefu.messaging.models import Campaign, CampaignState, Message, OptOut
from tests.messaging.conftest import make_members

pytestmark = pytest.mark.django_db

RIGHTS = {definition.code: frozenset(definition.permissions) for definition in ROLE_DEFINITIONS}

PAGES = [
    ("messaging:campaigns", "messaging.view_campaign"),
    ("messaging:campaign_create", "messaging.add_campaign"),
    ("messaging:templates", "messaging.view_messagetemplate"),
    ("messaging:template_create", "messaging.add_messagetemplate"),
    ("messaging:opt_outs", "messaging.view_optout"),
    ("messaging:log", "messaging.view_message"),
    ("messaging:log_export", "messaging.export_message"),
    ("messaging:policies", "messaging.view_messagingpolicy"),
]


@pytest.mark.parametrize("role", ROLE_CODES)
@pytest.mark.parametrize(("name", "perm"), PAGES, ids=[p[0] for p in PAGES])
def test_messaging_page_opens_for_roles_with_its_right_and_is_refused_to_the_others(
    role, name, perm, make_user, client_as
):
    user = make_user(role, username=role)
    response = client_as(user).get(reverse(name))
    expected = 200 if perm in RIGHTS[role] else 403
    assert response.status_code == expected, (role, name, response.status_code)


@pytest.mark.parametrize("role", ROLE_CODES)
def test_campaign_page_opens_for_roles_that_see_campaigns(role, make_user, client_as, notice_template, users):
    user = make_user(role, username=f"{role}-x")
    campaign = services.campaign_create(
        actor=users["manager"], name="看页面", template=notice_template, params={"item": "药"}
    )
    Campaign.objects.filter(pk=campaign.pk).update(created_by=user)
    response = client_as(user).get(reverse("messaging:campaign_detail", args=[campaign.pk]))
    expected = 200 if "messaging.view_campaign" in RIGHTS[role] else 403
    assert response.status_code == expected


def test_sidebar_shows_member_care_to_the_archive_specialist_only_where_allowed(users, client_as):
    html = client_as(users["archive_specialist"]).get(reverse("messaging:campaigns")).content.decode()
    assert reverse("messaging:templates") in html and reverse("messaging:opt_outs") in html
    html = client_as(users["technician"]).get(reverse("home")).content.decode()
    assert reverse("messaging:campaigns") not in html


def test_preview_partial_shows_the_count_and_the_text(users, client_as, notice_template):
    make_members(users["manager"], 4)
    response = client_as(users["archive_specialist"]).get(
        reverse("messaging:campaign_preview"),
        {"template": notice_template.pk, "kind": "person", "params": "item=口罩"},
    )
    html = response.content.decode()
    assert 'data-testid="preview-count">4<' in html
    assert "口罩" in html


def test_campaign_made_on_the_page_keeps_the_filters_and_goes_out_when_started(
    users, client_as, notice_template, recorder, django_capture_on_commit_callbacks
):
    make_members(users["manager"], 3)
    client = client_as(users["archive_specialist"])
    response = client.post(
        reverse("messaging:campaign_create"),
        {"name": "口罩到货", "template": notice_template.pk, "params": "item=口罩", "kind": "person"},
    )
    campaign = Campaign.objects.get(name="口罩到货")
    assert response.status_code == 302 and campaign.filters == {"kind": "person"}
    client.post(reverse("messaging:campaign_action", args=[campaign.pk, "submit"]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("messaging:campaign_action", args=[campaign.pk, "start"]))
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DONE and campaign.sent_count == 3
    page = client.get(reverse("messaging:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="campaign-percent"' in page and "100%" in page


def test_a_stale_action_form_is_answered_with_a_message_not_an_error(users, client_as, notice_template):
    campaign = services.campaign_create(
        actor=users["archive_specialist"], name="旧页面", template=notice_template, params={"item": "药"}
    )
    client = client_as(users["archive_specialist"])
    response = client.post(
        reverse("messaging:campaign_action", args=[campaign.pk, "pause"]), {"version": campaign.version}
    )
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.DRAFT


def test_opt_out_entered_on_the_page_is_recorded_with_who_entered_it(users, client_as, member):
    response = client_as(users["archive_specialist"]).post(
        reverse("messaging:opt_outs"),
        {"customer": member.archive_number, "channel": "sms", "note": "门店登记"},
    )
    assert response.status_code == 302
    opt_out = OptOut.objects.get(customer=member)
    assert opt_out.created_by == users["archive_specialist"] and opt_out.source == "page"


def test_send_log_export_is_an_excel_file_with_masked_mobiles_for_a_role_without_the_right(
    users, client_as, member, notice_template
):
    from django.contrib.auth.models import Permission

    services.message_send(
        actor=users["agent"], customer=member, channel="sms", template=notice_template, params={"item": "药"}
    )
    specialist = users["archive_specialist"]
    specialist.groups.first().permissions.remove(Permission.objects.get(codename="view_sensitive"))
    from kefu.accounts.access import forget_access

    forget_access(specialist)
    response = client_as(specialist).get(reverse("messaging:log_export"))
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][4] == "139****5678"
    assert Message.objects.count() == 1


def test_send_log_search_by_mobile_finds_the_message(users, client_as, member, notice_template):
    services.message_send(
        actor=users["agent"], customer=member, channel="sms", template=notice_template, params={"item": "药"}
    )
    html = (
        client_as(users["archive_specialist"])
        .get(reverse("messaging:log"), {"q": "1391234"})
        .content.decode()
    )
    assert "王秀英" in html
    html = (
        client_as(users["archive_specialist"])
        .get(reverse("messaging:log"), {"q": "1380000"})
        .content.decode()
    )
    assert "王秀英" not in html


def test_manager_sets_the_template_of_a_holiday_greeting_on_the_policies_page(
    users, client_as, notice_template
):
    from kefu.messaging.models import HolidayGreeting

    response = client_as(users["manager"]).post(
        reverse("messaging:policies"),
        {
            "policy": "greeting",
            "greeting-holiday_name": "中秋节",
            "greeting-template": notice_template.pk,
            "greeting-active": "on",
        },
    )
    assert response.status_code == 302
    assert HolidayGreeting.objects.get(holiday_name="中秋节").template == notice_template


def test_new_send_time_entered_on_the_policies_page_is_a_new_version(users, client_as):
    import datetime as dt

    from kefu.messaging.models import CarePolicy

    tomorrow = dt.date.today() + dt.timedelta(days=1)
    response = client_as(users["manager"]).post(
        reverse("messaging:policies"),
        {
            "policy": "care",
            "care-effective_from": tomorrow.isoformat(),
            "care-send_time": "10:30",
            "care-birthday_enabled": "on",
            "care-holiday_enabled": "on",
            "care-holiday_days_before": "1",
            "care-gift_note": "凭短信领取礼品",
        },
    )
    assert response.status_code == 302
    assert CarePolicy.in_force(tomorrow).send_time == dt.time(10, 30)
    assert CarePolicy.objects.count() == 2
