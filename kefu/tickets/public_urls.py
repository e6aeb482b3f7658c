"""The public service page, mounted at /service/ (no sign-in)."""

from django.urls import path

from kefu.tickets import public_views

app_name = "public"

urlpatterns = [
    path("", public_views.submit, name="submit"),
    path("submitted/", public_views.submitted, name="submitted"),
    path("status", public_views.status, name="status"),
    path("status/", public_views.status),
]
