from django.urls import path

from kefu.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.user_list_page, name="users"),
    path("export/", views.user_export, name="users_export"),
    path("bulk/", views.user_bulk, name="users_bulk"),
    path("new/", views.user_create_page, name="user_create"),
    path("<int:pk>/", views.user_edit_page, name="user_edit"),
    path("<int:pk>/password/", views.user_password_page, name="user_password"),
    path("<int:pk>/unlock/", views.user_unlock_page, name="user_unlock"),
    path("departments/", views.department_list_page, name="departments"),
    path("departments/new/", views.department_create_page, name="department_create"),
    path("departments/<int:pk>/", views.department_edit_page, name="department_edit"),
    path("departments/<int:pk>/delete/", views.department_delete_page, name="department_delete"),
    path("roles/", views.role_list_page, name="roles"),
    path("roles/<int:pk>/", views.role_edit_page, name="role_edit"),
    path("grades/", views.grade_list_page, name="grades"),
    path("grades/new/", views.grade_create_page, name="grade_create"),
    path("grades/<int:pk>/", views.grade_edit_page, name="grade_edit"),
    path("grades/<int:pk>/delete/", views.grade_delete_page, name="grade_delete"),
    path("tokens/", views.token_list_page, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke_page, name="token_revoke"),
    path("password/", views.PasswordChangePage.as_view(), name="password_change"),
]
