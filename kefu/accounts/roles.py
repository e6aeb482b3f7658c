"""The roles of SPEC §1 with sensible default rights and data scopes.

Role names are data (Chinese, as the department calls them) that a manager may rename.
Roles are ordinary permission groups that a manager can edit afterwards; the defaults below are
granted once per right, so a right a manager removed stays removed after an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.db import DEFAULT_DB_ALIAS, transaction

from kefu.accounts.models import DataScope

CUSTOMER_READ = [
    "customers.view_customer",
    "customers.view_contact",
    "customers.view_customerdocument",
    "customers.view_traderecord",
    "customers.view_contactrecord",
    "customers.add_borrowrequest",
    "customers.view_borrowrequest",
]
CUSTOMER_WRITE = [
    *CUSTOMER_READ,
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_contact",
    "customers.change_contact",
    "customers.delete_contact",
    "customers.add_customerdocument",
    "customers.add_traderecord",
    "customers.add_contactrecord",
]
ARCHIVE = [
    *CUSTOMER_WRITE,
    "customers.view_sensitive",
    "customers.import_customer",
    "customers.export_customer",
    "customers.set_tier",
    "customers.assign_customer",
    "customers.delete_customerdocument",
    "customers.check_borrowrequest",
    "customers.view_tierpolicy",
    "customers.view_churnpolicy",
]
STAFF_ADMIN = [
    "accounts.view_user",
    "accounts.add_user",
    "accounts.change_user",
    "accounts.view_department",
    "accounts.add_department",
    "accounts.change_department",
    "accounts.delete_department",
    "accounts.view_role",
    "accounts.add_role",
    "accounts.change_role",
    "accounts.view_staffgrade",
    "accounts.add_staffgrade",
    "accounts.change_staffgrade",
    "accounts.delete_staffgrade",
]
POLICIES = [
    "customers.view_tierpolicy",
    "customers.add_tierpolicy",
    "customers.change_tierpolicy",
    "customers.view_churnpolicy",
    "customers.add_churnpolicy",
    "customers.change_churnpolicy",
]
LOGS = ["core.view_operationlog", "core.view_all_operationlog", "core.view_sensitiveaccess"]
CALENDAR = [
    "core.view_calendaryear",
    "core.add_calendaryear",
    "core.change_calendaryear",
    "core.delete_calendaryear",
    "core.view_workinghours",
    "core.add_workinghours",
]
TICKET_READ = ["tickets.view_ticket", "tickets.view_cannedreply", "tickets.view_ticketgroup"]
TICKET_WORK = [*TICKET_READ, "tickets.add_ticket", "tickets.change_ticket"]
TICKET_LEAD = [
    *TICKET_WORK,
    "tickets.assign_ticket",
    "tickets.approve_complaint",
    "tickets.reopen_ticket",
    "tickets.export_ticket",
    "tickets.bulk_ticket",
    "tickets.view_slapolicy",
]
TICKET_ADMIN = [
    *TICKET_LEAD,
    "tickets.add_slapolicy",
    "tickets.add_cannedreply",
    "tickets.change_cannedreply",
    "tickets.delete_cannedreply",
    "tickets.add_ticketgroup",
    "tickets.change_ticketgroup",
    "tickets.add_complaintcategory",
    "tickets.change_complaintcategory",
]
VISIT_READ = ["visits.view_visit", "visits.view_visitscript"]
# Leader and president visit their own customers: they work the visits given to them only.
VISIT_OWN = [*VISIT_READ, "visits.change_visit"]
VISIT_WORK = [*VISIT_OWN, "visits.view_scope_visits"]
VISIT_LEAD = [
    *VISIT_WORK,
    "visits.add_visit",
    "visits.assign_visit",
    "visits.bulk_visit",
    "visits.export_visit",
    "visits.view_visit_stats",
    "visits.view_cadencepolicy",
    "visits.view_retrypolicy",
]
VISIT_ADMIN = [
    *VISIT_LEAD,
    "visits.add_cadencepolicy",
    "visits.add_retrypolicy",
    "visits.change_visitscript",
]
SURVEY_WORK = [
    "surveys.view_surveytemplate",
    "surveys.view_surveyinvitation",
    "surveys.add_surveyinvitation",
    "surveys.view_surveyresponse",
    "surveys.add_surveyresponse",
]
SURVEY_READ = ["surveys.view_surveytemplate", "surveys.view_surveyinvitation", "surveys.view_surveyresponse"]
SURVEY_STATISTICS = ["surveys.view_survey_statistics", "surveys.view_surveypolicy"]
SURVEY_LEAD = [*SURVEY_WORK, *SURVEY_STATISTICS, "surveys.bulk_send_survey", "surveys.view_surveysend"]
SURVEY_ADMIN = [
    *SURVEY_LEAD,
    "surveys.add_surveytemplate",
    "surveys.change_surveytemplate",
    "surveys.add_surveypolicy",
]
MESSAGING_SEND = ["messaging.send_message", "messaging.view_messagetemplate"]
MESSAGING_WORK = [
    *MESSAGING_SEND,
    "messaging.add_messagetemplate",
    "messaging.change_messagetemplate",
    "messaging.view_campaign",
    "messaging.add_campaign",
    "messaging.change_campaign",
    "messaging.view_message",
    "messaging.export_message",
    "messaging.view_optout",
    "messaging.add_optout",
    "messaging.change_optout",
    "messaging.view_messagingpolicy",
    "messaging.view_carepolicy",
    "messaging.view_holidaygreeting",
]
MESSAGING_ADMIN = [
    *MESSAGING_WORK,
    "messaging.approve_campaign",
    "messaging.add_messagingpolicy",
    "messaging.add_carepolicy",
    "messaging.change_holidaygreeting",
]
# Weekly and monthly complaint reports and the monthly cause analysis (SPEC §4, §9).
COMPLAINT_REPORT_READ = ["tickets.view_complaint_report", "tickets.view_complaintcauseanalysis"]
COMPLAINT_REPORT_WRITE = [
    *COMPLAINT_REPORT_READ,
    "tickets.add_complaintcauseanalysis",
    "tickets.change_complaintcauseanalysis",
]
COMPLAINT_REPORT_APPROVE = [*COMPLAINT_REPORT_WRITE, "tickets.approve_complaintcauseanalysis"]
MANAGER = sorted(
    set(
        ARCHIVE
        + STAFF_ADMIN
        + POLICIES
        + LOGS
        + CALENDAR
        + TICKET_ADMIN
        + VISIT_ADMIN
        + SURVEY_ADMIN
        + MESSAGING_ADMIN
        + COMPLAINT_REPORT_APPROVE
        + ["customers.approve_borrowrequest"]
    )
)
READ_ALL = [
    *CUSTOMER_READ,
    "messaging.view_campaign",
    "messaging.view_message",
    *TICKET_READ,
    *SURVEY_READ,
    *SURVEY_STATISTICS,
    *COMPLAINT_REPORT_READ,
    "tickets.export_ticket",
    "customers.view_sensitive",
    "customers.export_customer",
    "accounts.view_user",
    "accounts.view_department",
    "core.view_operationlog",
]


@dataclass(frozen=True)
class RoleDefinition:
    code: str
    name: str
    scope: str
    permissions: list[str]
    description: str = ""


ROLE_DEFINITIONS: list[RoleDefinition] = [
    RoleDefinition("admin", "系统管理员", DataScope.ALL, MANAGER, "维护人员、角色与规则"),
    RoleDefinition("manager", "客服部经理", DataScope.ALL, MANAGER, "管理客服部全部工作与人员"),
    RoleDefinition(
        "assistant",
        "经理助理",
        DataScope.OWN_DEPARTMENT_AND_BELOW,
        [
            *ARCHIVE,
            *TICKET_LEAD,
            *VISIT_LEAD,
            *SURVEY_LEAD,
            *MESSAGING_WORK,
            *COMPLAINT_REPORT_READ,
            "core.view_operationlog",
            "accounts.view_user",
            "accounts.view_department",
            "core.view_calendaryear",
        ],
        "协助经理处理客户与档案",
    ),
    RoleDefinition(
        "supervisor",
        "客服主管",
        DataScope.OWN_DEPARTMENT_AND_BELOW,
        [
            *CUSTOMER_WRITE,
            *TICKET_LEAD,
            *VISIT_LEAD,
            *SURVEY_LEAD,
            *MESSAGING_SEND,
            "messaging.view_message",
            "messaging.view_optout",
            "messaging.add_optout",
            *COMPLAINT_REPORT_WRITE,
            "customers.view_sensitive",
            "customers.export_customer",
            "customers.assign_customer",
            "core.view_operationlog",
            "core.view_calendaryear",
            "accounts.view_user",
            "accounts.view_department",
        ],
        "管理呼叫中心与客服专员",
    ),
    RoleDefinition(
        "agent",
        "客服专员",
        DataScope.OWN_DEPARTMENT,
        [*CUSTOMER_WRITE, *TICKET_WORK, *VISIT_WORK, *SURVEY_WORK, *MESSAGING_SEND],
        "400 热线接听、回访",
    ),
    RoleDefinition(
        "complaint_specialist",
        "客诉专员",
        DataScope.OWN_DEPARTMENT,
        [*CUSTOMER_WRITE, *TICKET_WORK, *VISIT_WORK, *SURVEY_WORK, *COMPLAINT_REPORT_WRITE],
        "客诉专线与客诉处理",
    ),
    RoleDefinition(
        "archive_specialist",
        "档案资料专员",
        DataScope.ALL,
        [*ARCHIVE, *MESSAGING_WORK],
        "客户档案、借阅与短信群发",
    ),
    RoleDefinition(
        "big_customer_specialist",
        "大客户专员",
        DataScope.ALL,
        [*CUSTOMER_WRITE, *TICKET_WORK, *VISIT_WORK, *SURVEY_WORK, "customers.export_customer"],
        "大客户服务",
    ),
    RoleDefinition(
        "coordinator",
        "协调员",
        DataScope.OWN_DEPARTMENT_AND_BELOW,
        [*CUSTOMER_READ, *TICKET_WORK, *SURVEY_WORK, "customers.add_contactrecord"],
        "派工与销售确认书登记",
    ),
    RoleDefinition(
        "technician",
        "技术员",
        DataScope.MINE,
        ["customers.view_customer", "customers.view_contact", *TICKET_READ],
        "上门与驻点技术服务",
    ),
    RoleDefinition(
        "team_leader",
        "组长",
        DataScope.OWN_DEPARTMENT_AND_BELOW,
        [*CUSTOMER_READ, *TICKET_WORK],
        "团队服务组长",
    ),
    RoleDefinition(
        "salesperson",
        "业务员",
        DataScope.MINE,
        [*CUSTOMER_WRITE, "tickets.view_ticket", "tickets.add_ticket"],
        "销售与回款跟进",
    ),
    RoleDefinition("leader", "分管领导", DataScope.ALL, [*READ_ALL, *VISIT_OWN], "分管客服工作的领导"),
    RoleDefinition("president", "总裁", DataScope.ALL, [*READ_ALL, *VISIT_OWN], "公司总裁"),
]
ROLE_CODES = [definition.code for definition in ROLE_DEFINITIONS]


def sync_roles(using: str = DEFAULT_DB_ALIAS) -> None:
    """Create missing roles and grant default rights not granted before. Idempotent."""
    from django.contrib.auth.models import Group, Permission

    from kefu.accounts.models import Role

    wanted = {p for d in ROLE_DEFINITIONS for p in d.permissions}
    perms: dict[str, Any] = {}
    for perm in Permission.objects.using(using).select_related("content_type"):
        key = f"{perm.content_type.app_label}.{perm.codename}"
        if key in wanted:
            perms[key] = perm
    with transaction.atomic(using=using):
        for order, definition in enumerate(ROLE_DEFINITIONS):
            role = Role.objects.using(using).filter(code=definition.code).first()
            if role is None:
                group, _ = Group.objects.using(using).get_or_create(name=definition.code)
                role = Role.objects.using(using).create(
                    group=group,
                    code=definition.code,
                    name=definition.name,
                    description=definition.description,
                    data_scope=definition.scope,
                    builtin=True,
                    sort_order=order,
                )
            new = [p for p in definition.permissions if p not in role.granted_defaults and p in perms]
            if new:
                role.group.permissions.add(*[perms[p] for p in new])
                role.granted_defaults = sorted(set(role.granted_defaults) | set(new))
                role.save(update_fields=["granted_defaults"])


def sync_roles_after_migrate(
    sender: Any, app_config: Any = None, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps, **kwargs: Any
) -> None:
    if getattr(sender, "label", None) != "accounts":
        return
    # Permissions of apps after this one in INSTALLED_APPS are not created yet at this point.
    for config in global_apps.get_app_configs():
        create_contenttypes(config, verbosity=0, using=using)
        create_permissions(config, verbosity=0, using=using)
    sync_roles(using=using)
