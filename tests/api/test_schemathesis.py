"""Property-based fuzzing of the whole JSON API from its own OpenAPI document (schemathesis).

Each operation of /api/v1/openapi.json becomes one test; schemathesis sends schema-valid and
schema-invalid requests, signed in with a manager's API token, to the WSGI app in this process
(test database, a few real rows so that ids in paths sometimes exist). Whatever the input, the
answer must not be a 5xx, its status must be one the document lists, and its body must match
the documented schema (errors are ErrorOut: code, message, detail).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kefu.accounts.models import Department, Role, User
from kefu.accounts.services import api_token_create, staff_grade_create
from kefu.api import api
from kefu.customers.importing import customer_import_start
from kefu.customers.models import DocumentKind
from kefu.customers.services import BORROW_ACTION_LABELS, borrow_request_create, document_upload
from kefu.tickets.models import (
    CannedReply,
    ComplaintCauseAnalysis,
    MailStatus,
    Ticket,
    TicketEvent,
    TicketGroup,
    TicketMail,
)
from kefu.tickets.report_services import cause_analysis_save
from kefu.tickets.services import TicketInput, ticket_create, ticket_group_save, ticket_reply
from kefu.visits.models import VisitScript
from kefu.visits.services import VisitInput, visit_create, visits_plan_due
from kefu.wsgi import application
from tests.factories import make_contact, make_customer

OPENAPI_PATH = "/api/v1/openapi.json"
# A deeper run: KEFU_FUZZ_EXAMPLES=200 pytest tests/api/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("KEFU_FUZZ_EXAMPLES", "25"))

# The document is built without a request, so collecting the tests needs no database; the
# test below proves it is the one served at OPENAPI_PATH.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = application

# A raw email (POST /mail/inbound) is bytes like any binary body.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")

# Ids of the seeded rows by path parameter name, filled by the `token_headers` fixture; random
# integers alone would almost never name a row that exists.
KNOWN_IDS: dict[str, list[int]] = {}


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
    """Half of the well-typed ids become ids of real rows; ill-typed values stay as generated."""
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    choices: dict[str, Any] = {}
    for name, value in path_parameters.items():
        if name == "action" and isinstance(value, str):
            choices[name] = st.one_of(st.just(value), st.sampled_from(sorted(BORROW_ACTION_LABELS)))
        elif isinstance(value, int) and KNOWN_IDS.get(name):
            choices[name] = st.one_of(st.just(value), st.sampled_from(KNOWN_IDS[name]))
        else:
            choices[name] = st.just(value)
    return st.fixed_dictionaries(choices)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def token_headers(make_user: Callable[..., User], django_capture_on_commit_callbacks: Any) -> dict[str, str]:
    """A manager (data scope: all) with an API token, and a little of everything to find by id."""
    manager = make_user("manager", username="manager")
    agent = make_user("agent", username="agent")
    customers = [
        make_customer(actor=manager, name=name, department=agent.department)
        for name in ("张三丰贸易有限公司", "李四化工有限公司", "王五会员")
    ]
    contact = make_contact(actor=manager, customer=customers[0], name="赵六")
    document = document_upload(
        actor=manager,
        customer=customers[0],
        kind=DocumentKind.CONTRACT,
        title="购销合同",
        important=True,
        uploaded=SimpleUploadedFile("合同.pdf", b"%PDF-1.4\n%kefu test\n", content_type="application/pdf"),
    )
    borrow = borrow_request_create(
        actor=agent,
        document=document,
        purpose="核对合同条款",
        due_back_on=dt.date.today() + dt.timedelta(days=7),
    )
    grade = staff_grade_create(actor=manager, data={"name": "一级客服", "level": 1})
    workbook = Workbook()
    workbook.active.append(["名称*", "电话"])
    workbook.active.append(["导入测试有限公司", "13955556666"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with django_capture_on_commit_callbacks(execute=True):  # the dry run, done, ready to confirm
        dry_run = customer_import_start(
            actor=manager, uploaded=SimpleUploadedFile("客户.xlsx", buffer.getvalue())
        )
    tickets = _seed_tickets(manager=manager, agent=agent, customer=customers[0])
    visits = [visit_create(actor=manager, data=VisitInput(customer=customers[1], assignee=agent))]
    visits_plan_due()
    messaging = _seed_messaging(manager=manager, customer=customers[0])
    token, key = api_token_create(actor=manager, name="schemathesis")
    KNOWN_IDS.clear()
    KNOWN_IDS.update(
        customer_id=[c.pk for c in customers],
        contact_id=[contact.pk],
        document_id=[document.pk],
        borrow_id=[borrow.pk],
        user_id=[manager.pk, agent.pk],
        grade_id=[grade.pk],
        token_id=[token.pk],
        import_id=[dry_run.pk],
        department_id=list(Department.objects.values_list("pk", flat=True)),
        role_id=list(Role.objects.values_list("pk", flat=True)),
        ticket_id=[t.pk for t in tickets],
        event_id=list(TicketEvent.objects.filter(ticket__in=tickets).values_list("pk", flat=True)),
        reply_id=list(CannedReply.objects.values_list("pk", flat=True)[:5]),
        group_id=list(TicketGroup.objects.values_list("pk", flat=True)),
        visit_id=[v.pk for v in visits],
        script_id=list(VisitScript.objects.values_list("pk", flat=True)[:3]),
        mail_id=list(TicketMail.objects.values_list("pk", flat=True)),
        analysis_id=[_seed_cause_analysis(manager=manager).pk],
    )
    # Surveys and messaging both name their templates' path parameter template_id.
    for name, ids in [*_seed_surveys(manager=manager, customer=customers[0]).items(), *messaging.items()]:
        KNOWN_IDS[name] = [*KNOWN_IDS.get(name, []), *ids]
    return {"Authorization": f"Bearer {key}"}


def _seed_surveys(*, manager: User, customer: Any) -> dict[str, list[int]]:
    """A pending and an answered survey, and a sending, for the survey endpoints' ids."""
    from kefu.surveys.models import SurveySend, SurveyTemplate
    from kefu.surveys.services import InviteInput, survey_invite, survey_response_submit

    template = SurveyTemplate.objects.get(family="field-service", active=True)
    pending, answered = (
        survey_invite(actor=manager, data=InviteInput(template=template, customer=customer, channel="phone"))
        for _n in range(2)
    )
    survey_response_submit(
        invitation=answered,
        actor=manager,
        answers={
            str(q.pk): (5 if q.kind == "rating" else (q.choices or ["好"])[0])
            for q in template.questions.all()
        },
    )
    sending = SurveySend.objects.create(template=template, channel="sms", sent_by=manager, total=0)
    return {
        "invitation_id": [pending.pk, answered.pk],
        "template_id": list(SurveyTemplate.objects.values_list("pk", flat=True)),
        "sending_id": [sending.pk],
    }


def _seed_tickets(*, manager: User, agent: User, customer: Any) -> list[Ticket]:
    """One ticket of each shape the ticket endpoints act on differently."""
    group = ticket_group_save(
        actor=manager, data={"name": "客服中心组", "department": agent.department, "members": [agent]}
    )
    inquiry = ticket_create(
        actor=agent,
        data=TicketInput(
            kind="inquiry",
            channel="hotline",
            subject="咨询保养",
            customer=customer,
            contact_phone="13812345678",
        ),
    )
    ticket_reply(
        actor=agent,
        ticket=inquiry,
        body="照片",
        kind="note",
        attachment=SimpleUploadedFile("照片.jpg", b"\xff\xd8photo", content_type="image/jpeg"),
    )
    complaint = ticket_create(
        actor=agent,
        data=TicketInput(kind="complaint", channel="complaint_hotline", subject="投诉态度", group=group),
    )
    after_sales = ticket_create(
        actor=agent,
        data=TicketInput(
            kind="after_sales", channel="wangwang", subject="退货", after_sales={"case_type": "return"}
        ),
    )
    by_mail = ticket_create(
        actor=agent,
        data=TicketInput(
            kind="inquiry", channel="email", subject="邮件咨询", contact_email="wang@example.com"
        ),
    )
    reply = ticket_reply(actor=agent, ticket=by_mail, body="您好")
    TicketMail.objects.filter(event=reply).update(status=MailStatus.FAILED, error="Connection refused")
    return [inquiry, complaint, after_sales, by_mail]


def _seed_cause_analysis(*, manager: User) -> ComplaintCauseAnalysis:
    return cause_analysis_save(
        actor=manager,
        month=dt.date.today().replace(day=1),
        department=None,
        causes="送货延误",
        proposals="约定发货时限",
    )


def _seed_messaging(*, manager: User, customer: Any) -> dict[str, list[int]]:
    """A template, a draft campaign, one sent message and an opt-out, for the messaging endpoints."""
    from kefu.messaging import services as messaging
    from kefu.messaging.models import MessageTemplate

    template = MessageTemplate.objects.get(name="会员服务通知")
    campaign = messaging.campaign_create(
        actor=manager, name="接口测试群发", template=template, params={"notice": "通知"}
    )
    messaging.message_send(
        actor=manager, customer=customer, channel="sms", template=template, params={"notice": "通知"}
    )
    opt_out = messaging.opt_out_create(actor=manager, customer=customer, channel="email")
    return {
        "template_id": list(MessageTemplate.objects.values_list("pk", flat=True)[:3]),
        "campaign_id": [campaign.pk],
        "opt_out_id": [opt_out.pk],
    }


def test_fuzzed_document_is_the_one_served(db: Any) -> None:
    response = Client().get(OPENAPI_PATH)
    assert response.status_code == 200
    assert response.json() == schema.raw_schema


@pytest.fixture
def keep_test_connection() -> Any:
    """The WSGI app closes the database connection after each request, as in production; inside
    a test's transaction that would end the transaction (PostgreSQL). Django's own test client
    switches this off the same way for the length of a request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, token_headers: dict[str, str], keep_test_connection: Any
) -> None:
    case.call_and_validate(headers=token_headers, checks=CHECKS)
