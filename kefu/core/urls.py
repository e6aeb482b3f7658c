from django.urls import path

from kefu.core import calendar_views, records

app_name = "core"

urlpatterns = [
    path("operations/", records.operation_log_page, name="operation_log"),
    path("sensitive-access/", records.sensitive_access_page, name="sensitive_access"),
    path("calendar/", calendar_views.calendar_page, name="calendar"),
    path("calendar/<int:year>/", calendar_views.calendar_year_page, name="calendar_year"),
]
