"""The messaging API beyond permissions: the reply callback's secret, masking, a campaign end to end."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.messaging import services
from kefu.messaging.models import Campaign, CampaignState, Message, OptOut
from tests.messaging.conftest import make_members

pytestmark = pytest.mark.django_db

INBOUND = "/api/v1/messaging/inbound"


def post(client, url, data, **headers):
    return client.post(url, json.dumps(data), content_type="application/json", **headers)


def test_reply_callback_with_the_shared_secret_opts_the_customer_out(settings, member):
    settings.SMS_INBOUND_SECRET = "s3cret"
    response = post(Client(), INBOUND, {"phone": "13912345678", "text": "退订"}, HTTP_X_KEFU_SECRET="s3cret")
    assert response.status_code == 200 and response.json() == {"opted_out": 1}
    assert OptOut.objects.get(customer=member).source == "reply"


@pytest.mark.parametrize("secret", ["", "wrong"])
def test_reply_callback_without_the_right_secret_is_refused_and_changes_nothing(settings, member, secret):
    settings.SMS_INBOUND_SECRET = "s3cret"
    response = post(Client(), INBOUND, {"phone": "13912345678", "text": "R"}, HTTP_X_KEFU_SECRET=secret)
    assert response.status_code == 403 and response.json()["code"] == "bad_secret"
    assert not OptOut.objects.exists()


def test_reply_callback_is_off_while_no_secret_is_configured(settings, member):
    settings.SMS_INBOUND_SECRET = ""
    response = post(Client(), INBOUND, {"phone": "13912345678", "text": "R"}, HTTP_X_KEFU_SECRET="")
    assert response.status_code == 403


def test_send_log_shows_mobiles_masked_to_a_role_that_may_not_see_them(
    users, member, notice_template, api_as, make_user
):
    from django.contrib.auth.models import Group, Permission

    services.message_send(
        actor=users["agent"], customer=member, channel="sms", template=notice_template, params={"item": "药"}
    )
    group = Group.objects.create(name="只看发送记录")
    group.permissions.add(Permission.objects.get(codename="view_message"))
    reader = make_user("agent")  # sees the centre's customers, but not their phones
    reader.groups.add(group)
    item = api_as(reader).get("/api/v1/messaging/messages").json()["items"][0]
    assert item["address"] == "139****5678"


def test_campaign_through_the_api_preview_create_submit_start(users, api_as, notice_template, recorder):
    make_members(users["manager"], 3)
    client = api_as(users["archive_specialist"])
    body = {"template_id": notice_template.pk, "filters": {"kind": "person"}, "params": {"item": "体检套餐"}}
    preview = post(client, "/api/v1/messaging/campaigns/preview", body).json()
    assert preview["count"] == 3 and "体检套餐" in preview["text"]
    created = post(client, "/api/v1/messaging/campaigns", {**body, "name": "体检通知"})
    assert created.status_code == 201
    campaign_id = created.json()["id"]
    url = f"/api/v1/messaging/campaigns/{campaign_id}/transitions"
    assert post(client, url, {"action": "submit"}).json()["state"] == "approved"
    started = post(client, url, {"action": "start"})
    assert started.status_code == 200
    campaign = Campaign.objects.get(pk=campaign_id)
    assert campaign.total_count == 3
    log = client.get(f"/api/v1/messaging/campaigns/{campaign_id}/messages").json()
    assert log["count"] == 3


def test_an_impossible_transition_answers_409(users, api_as, notice_template):
    campaign = services.campaign_create(
        actor=users["archive_specialist"], name="x", template=notice_template, params={"item": "药"}
    )
    response = post(
        api_as(users["archive_specialist"]),
        f"/api/v1/messaging/campaigns/{campaign.pk}/transitions",
        {"action": "pause"},
    )
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.DRAFT


def test_marketing_template_without_opt_out_words_is_refused_by_the_api(users, api_as):
    response = post(
        api_as(users["archive_specialist"]),
        "/api/v1/messaging/templates",
        {"name": "促销", "purpose": "marketing", "provider_code": "S", "signature": "店", "body": "全场八折"},
    )
    assert response.status_code == 400 and "body" in response.json()["detail"]


def test_send_log_query_count_does_not_grow_with_rows(users, api_as, notice_template):
    members = make_members(users["manager"], 12)
    client = api_as(users["manager"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/messaging/messages").status_code == 200
        return len(captured)

    for member in members[:2]:
        services.message_send(
            actor=users["manager"],
            customer=member,
            channel="sms",
            template=notice_template,
            params={"item": "药"},
        )
    queries()  # the first request also records the token's use and caches the caller's rights
    few = queries()
    for member in members[2:]:
        services.message_send(
            actor=users["manager"],
            customer=member,
            channel="sms",
            template=notice_template,
            params={"item": "药"},
        )
    assert Message.objects.count() == 12
    assert queries() == few
