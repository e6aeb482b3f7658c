from django.urls import path

from kefu.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list_page, name="list"),
    path("export/", views.customer_export, name="export"),
    path("bulk/", views.customer_bulk, name="bulk"),
    path("new/", views.customer_create_page, name="create"),
    path("validate/", views.customer_validate_field, name="validate"),
    path("lookup/", views.caller_lookup, name="lookup"),
    path("lists/big/", views.big_customers_page, name="big_customers"),
    path("lists/at-risk/", views.at_risk_page, name="at_risk"),
    path("lists/birthdays/", views.birthdays_page, name="birthdays"),
    path("borrowings/", views.borrowings_page, name="borrowings"),
    path("borrowings/<int:pk>/<str:action>/", views.borrowing_transition, name="borrowing_transition"),
    path("imports/", views.imports_page, name="imports"),
    path("imports/template.xlsx", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("policies/", views.policies_page, name="policies"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/tier/", views.customer_tier, name="tier"),
    path("<int:pk>/contacts/new/", views.contact_create_page, name="contact_create"),
    path("<int:pk>/contacts/<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:contact_pk>/delete/", views.contact_delete_page, name="contact_delete"),
    path("<int:pk>/documents/new/", views.document_upload_page, name="document_upload"),
    path("<int:pk>/documents/<int:doc_pk>/download/", views.document_download, name="document_download"),
    path("<int:pk>/documents/<int:doc_pk>/borrow/", views.borrow_request_page, name="borrow_request"),
    path("<int:pk>/trades/new/", views.trade_create_page, name="trade_create"),
    path("<int:pk>/contact-records/new/", views.contact_record_create_page, name="contact_record_create"),
]
