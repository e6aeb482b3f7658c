from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.i18n import set_language

from kefu.api import api, not_found
from kefu.core import notification_views
from kefu.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("health/live/", core_views.health_live, name="health_live"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<path>.*)$", not_found),
    path("records/", include("kefu.core.urls")),
    path("staff/", include("kefu.accounts.urls")),
    path("customers/", include("kefu.customers.urls")),
    path("service/", include("kefu.tickets.public_urls")),
    path("tickets/", include("kefu.tickets.urls")),
    path("visits/", include("kefu.visits.urls")),
    path("survey/", include("kefu.surveys.public_urls")),
    path("surveys/", include("kefu.surveys.urls")),
    path("messaging/", include("kefu.messaging.urls")),
    path("notifications/", notification_views.notifications_page, name="notifications"),
    path("notifications/read/", notification_views.notifications_read, name="notifications_read"),
]

handler403 = "kefu.core.views.permission_denied"
handler404 = "kefu.core.views.page_not_found"
