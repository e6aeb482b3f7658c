"""The public survey page, mounted at /survey/ (no sign-in)."""

from django.urls import path

from kefu.surveys import public_views

urlpatterns = [
    path("thanks/", public_views.thanks, name="survey_thanks"),
    path("<str:token>/", public_views.survey_page, name="survey_public"),
]
