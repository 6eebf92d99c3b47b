from django.urls import path

from . import views

app_name = "support"

urlpatterns = [
    path("new/", views.support_request_new, name="new"),
    path("new/submitted/", views.support_request_submitted, name="submitted"),
]
