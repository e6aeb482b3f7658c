"""The sidebar: each role sees only what it may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    icon: str
    permission: str | None = None
    match_prefix: str | None = None


@dataclass(frozen=True)
class NavSection:
    label: Any
    items: list[NavItem] = field(default_factory=list)


SECTIONS: list[NavSection] = [
    NavSection(
        _("Workbench"),
        [
            NavItem(_("Home"), "home", "speedometer2"),
            NavItem(_("Notifications"), "notifications", "bell"),
            NavItem(_("Caller lookup"), "customers:lookup", "telephone-inbound", "customers.view_customer"),
        ],
    ),
    NavSection(
        _("Tickets"),
        [
            NavItem(_("Ticket queues"), "tickets:list", "inboxes", "tickets.view_ticket", "/tickets/"),
            NavItem(_("Phone intake"), "tickets:intake", "telephone-plus", "tickets.add_ticket"),
            NavItem(_("New ticket"), "tickets:create", "plus-square", "tickets.add_ticket"),
            NavItem(
                _("Complaint reports"),
                "tickets:complaint_report",
                "bar-chart-line",
                "tickets.view_complaint_report",
                "/tickets/reports/",
            ),
            NavItem(_("Time limits (SLA)"), "tickets:sla", "stopwatch", "tickets.view_slapolicy"),
            NavItem(_("Canned replies"), "tickets:canned", "chat-quote", "tickets.change_cannedreply"),
            NavItem(_("Ticket groups"), "tickets:groups", "people-fill", "tickets.change_ticketgroup"),
            NavItem(
                _("Complaint categories"), "tickets:categories", "tags", "tickets.change_complaintcategory"
            ),
        ],
    ),
    NavSection(
        _("Return visits"),
        [
            NavItem(_("Visit lists"), "visits:list", "telephone-outbound", "visits.view_visit", "/visits/"),
            NavItem(_("Visit calendar"), "visits:calendar", "calendar-week", "visits.view_visit"),
            NavItem(_("Completion rates"), "visits:stats", "bar-chart", "visits.view_visit_stats"),
            NavItem(_("Visit scripts"), "visits:scripts", "card-text", "visits.view_visitscript"),
            NavItem(_("Cadence and retry"), "visits:policies", "arrow-repeat", "visits.view_cadencepolicy"),
        ],
    ),
    NavSection(
        _("Satisfaction surveys"),
        [
            NavItem(
                _("Surveys"), "surveys:list", "clipboard-check", "surveys.view_surveyinvitation", "/surveys/"
            ),
            NavItem(_("Send to a customer list"), "surveys:bulk_send", "send", "surveys.bulk_send_survey"),
            NavItem(
                _("Satisfaction statistics"),
                "surveys:statistics",
                "graph-up",
                "surveys.view_survey_statistics",
            ),
            NavItem(_("Excellent staff"), "surveys:nominations", "award", "surveys.view_survey_statistics"),
            NavItem(_("Survey templates"), "surveys:templates", "ui-checks", "surveys.view_surveytemplate"),
            NavItem(_("Survey policy"), "surveys:policy", "sliders2", "surveys.view_surveypolicy"),
        ],
    ),
    NavSection(
        _("Customer archive"),
        [
            NavItem(_("Customers"), "customers:list", "people", "customers.view_customer", "/customers/"),
            NavItem(_("Big customers"), "customers:big_customers", "gem", "customers.view_customer"),
            NavItem(
                _("At risk of loss"), "customers:at_risk", "exclamation-triangle", "customers.view_customer"
            ),
            NavItem(_("Birthdays"), "customers:birthdays", "gift", "customers.view_customer"),
            NavItem(
                _("Borrowing"), "customers:borrowings", "journal-arrow-up", "customers.view_borrowrequest"
            ),
            NavItem(
                _("Excel import"), "customers:imports", "file-earmark-arrow-up", "customers.import_customer"
            ),
            NavItem(
                _("Tier and churn policies"), "customers:policies", "sliders", "customers.view_tierpolicy"
            ),
        ],
    ),
    NavSection(
        _("Member care"),
        [
            NavItem(
                _("Campaigns"),
                "messaging:campaigns",
                "send",
                "messaging.view_campaign",
                "/messaging/campaigns/",
            ),
            NavItem(
                _("Message templates"), "messaging:templates", "card-text", "messaging.view_messagetemplate"
            ),
            NavItem(_("Send log"), "messaging:log", "list-ul", "messaging.view_message"),
            NavItem(_("Opt-outs"), "messaging:opt_outs", "slash-circle", "messaging.view_optout"),
            NavItem(_("Care policies"), "messaging:policies", "sliders2", "messaging.view_messagingpolicy"),
        ],
    ),
    NavSection(
        _("Organisation"),
        [
            NavItem(_("Staff"), "accounts:users", "person-badge", "accounts.view_user"),
            NavItem(_("Departments"), "accounts:departments", "diagram-3", "accounts.view_department"),
            NavItem(_("Roles"), "accounts:roles", "shield-lock", "accounts.view_role"),
            NavItem(_("Staff grades"), "accounts:grades", "ladder", "accounts.view_staffgrade"),
            NavItem(
                _("Holiday calendar"),
                "core:calendar",
                "calendar3",
                "core.view_calendaryear",
                "/records/calendar/",
            ),
        ],
    ),
    NavSection(
        _("Records"),
        [
            NavItem(_("Operation log"), "core:operation_log", "list-check", "core.view_operationlog"),
            NavItem(_("Sensitive data access"), "core:sensitive_access", "eye", "core.view_sensitiveaccess"),
            NavItem(_("My API tokens"), "accounts:tokens", "key"),
        ],
    ),
]


def menu_for(user: Any, path: str) -> list[dict[str, Any]]:
    """Sections with the items the user may open; the current page's item is marked active."""
    sections = []
    for section in SECTIONS:
        items = [
            {
                "label": item.label,
                "url": reverse(item.url_name),
                "icon": item.icon,
                "prefix": item.match_prefix,
            }
            for item in section.items
            if not item.permission or user.has_perm(item.permission)
        ]
        if items:
            sections.append({"label": section.label, "items": items})
    exact = any(item["url"] == path for section in sections for item in section["items"])
    for section in sections:
        for item in section["items"]:
            item["active"] = item["url"] == path or (
                not exact and bool(item["prefix"]) and path.startswith(item["prefix"])
            )
    return sections
