from django.urls import path

from kefu.tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list_page, name="list"),
    path("queue-counts/", views.ticket_queue_counts_fragment, name="queue_counts"),
    path("export/", views.ticket_export, name="export"),
    path("bulk/", views.ticket_bulk, name="bulk"),
    path("filters/", views.saved_filter_create, name="filter_save"),
    path("filters/<int:pk>/delete/", views.saved_filter_remove, name="filter_delete"),
    path("intake/", views.intake_page, name="intake"),
    path("intake/lookup/", views.intake_lookup, name="intake_lookup"),
    path("intake/customer/", views.intake_customer, name="intake_customer"),
    path("new/", views.ticket_create_page, name="create"),
    path("settings/sla/", views.sla_policy_page, name="sla"),
    path("settings/canned/", views.canned_replies_page, name="canned"),
    path("settings/canned/new/", views.canned_reply_create, name="canned_create"),
    path("settings/canned/<int:pk>/edit/", views.canned_reply_edit, name="canned_edit"),
    path("settings/canned/<int:pk>/toggle/", views.canned_reply_toggle, name="canned_toggle"),
    path("settings/canned/<int:pk>/delete/", views.canned_reply_delete, name="canned_delete"),
    path("settings/groups/", views.groups_page, name="groups"),
    path("settings/groups/new/", views.group_create, name="group_create"),
    path("settings/groups/<int:pk>/edit/", views.group_edit, name="group_edit"),
    path("settings/categories/", views.categories_page, name="categories"),
    path("settings/categories/<int:pk>/edit/", views.category_edit, name="category_edit"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("<int:pk>/canned/", views.canned_insert, name="canned_insert"),
    path("<int:pk>/claim/", views.ticket_claim, name="claim"),
    path("<int:pk>/assign/", views.ticket_assign, name="assign"),
    path("<int:pk>/callback/", views.ticket_callback, name="callback"),
    path("<int:pk>/steps/", views.complaint_step, name="step"),
    path("<int:pk>/approval/", views.complaint_approval, name="approval"),
    path("<int:pk>/decision/", views.complaint_decision, name="decision"),
    path("<int:pk>/after-sales/", views.after_sales_edit, name="after_sales"),
    path("<int:pk>/after-sales/remarks/", views.after_sales_remark, name="after_sales_remark"),
    path("<int:pk>/events/<int:event_pk>/download/", views.attachment_download, name="attachment"),
    path("<int:pk>/<str:action>/", views.ticket_transition, name="transition"),
]
