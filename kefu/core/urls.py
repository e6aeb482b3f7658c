from django.urls import path

from kefu.core import records

app_name = "core"

urlpatterns = [
    path("operations/", records.operation_log_page, name="operation_log"),
    path("sensitive-access/", records.sensitive_access_page, name="sensitive_access"),
]
