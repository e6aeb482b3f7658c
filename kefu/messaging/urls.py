from django.urls import path

from kefu.messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.campaign_list_page, name="campaigns"),
    path("campaigns/new/", views.campaign_create_page, name="campaign_create"),
    path("campaigns/preview/", views.campaign_preview_partial, name="campaign_preview"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/progress/", views.campaign_progress, name="campaign_progress"),
    path("campaigns/<int:pk>/<str:action>/", views.campaign_action, name="campaign_action"),
    path("templates/", views.template_list_page, name="templates"),
    path("templates/new/", views.template_create, name="template_create"),
    path("templates/<int:pk>/edit/", views.template_edit, name="template_edit"),
    path("opt-outs/", views.opt_out_list_page, name="opt_outs"),
    path("opt-outs/<int:pk>/withdraw/", views.opt_out_withdraw, name="opt_out_withdraw"),
    path("log/", views.message_log_page, name="log"),
    path("log/export/", views.message_log_export, name="log_export"),
    path("policies/", views.policies_page, name="policies"),
]
