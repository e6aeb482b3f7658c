from django.urls import path

from kefu.visits import views

app_name = "visits"

urlpatterns = [
    path("", views.visit_list_page, name="list"),
    path("export/", views.visit_export, name="export"),
    path("bulk/", views.visit_bulk, name="bulk"),
    path("bulk/create/", views.bulk_create_page, name="bulk_create"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("stats/", views.stats_page, name="stats"),
    path("new/", views.visit_create_page, name="create"),
    path("activities/new/", views.activity_create_page, name="activity_create"),
    path("settings/policies/", views.policies_page, name="policies"),
    path("settings/scripts/", views.scripts_page, name="scripts"),
    path("settings/scripts/<int:pk>/edit/", views.script_edit, name="script_edit"),
    path("<int:pk>/", views.visit_detail, name="detail"),
    path("<int:pk>/attempt/", views.visit_attempt, name="attempt"),
    path("<int:pk>/evaluation-form/", views.evaluation_form, name="evaluation_form"),
    path("<int:pk>/assign/", views.visit_assign, name="assign"),
    path("<int:pk>/<str:action>/", views.visit_transition, name="transition"),
]
