from django.urls import path

from kefu.surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.invitation_list, name="list"),
    path("export/", views.invitation_export, name="export"),
    path("send/", views.bulk_send, name="bulk_send"),
    path("send/<int:pk>/", views.sending_progress, name="sending"),
    path("customers/<int:customer_id>/invite/", views.invite_page, name="invite"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/", views.template_detail, name="template"),
    path("templates/<int:pk>/edit/", views.template_edit, name="template_edit"),
    path("policy/", views.policy_page, name="policy"),
    path("statistics/", views.statistics_page, name="statistics"),
    path("statistics/export/", views.statistics_export, name="statistics_export"),
    path("nominations/", views.nominations_page, name="nominations"),
    path("<int:pk>/", views.invitation_detail, name="detail"),
    path("<int:pk>/answer/", views.invitation_answer, name="answer"),
    path("<int:pk>/cancel/", views.invitation_cancel, name="cancel"),
    path("<int:pk>/print/", views.invitation_print, name="print"),
]
