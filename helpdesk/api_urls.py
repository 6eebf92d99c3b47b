"""The REST API under /api/v1/: one router; each app registers its resources in `<app>/api/urls.py`."""

from django.urls import path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from helpdesk.api_schema import SchemaView
from sla.api import urls as sla_api
from surveys.api import urls as surveys_api
from tickets.api import urls as tickets_api
from tickets.api.views import CustomerHealthView, MetricsView, TokenView

app_name = "api"

router = SimpleRouter(trailing_slash=True)
tickets_api.register(router)
surveys_api.register(router)
sla_api.register(router)

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("metrics/", MetricsView.as_view(), name="metrics"),
    path("customer-health/", CustomerHealthView.as_view(), name="customer-health"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    *surveys_api.urlpatterns,
    *router.urls,
]
