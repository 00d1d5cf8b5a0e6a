"""Site-root URLs of the description service: the original ``/process`` paths and job pages."""

from django.urls import include, path

from describe import views
from describe.api import root_api

app_name = "describe"

# Only the operations: Ninja also adds an "api-root" view at "", which would answer 404 for
# the site's home page.
_patterns, _app, _namespace = root_api.urls
_operations = [p for p in _patterns if getattr(p, "name", None) != "api-root"]

urlpatterns = [
    path("process/<uuid:job_id>/view", views.job_page, name="job"),
    path("staff/describe-clients/", views.clients_page, name="clients"),
    path(
        "staff/describe-clients/<int:client_id>/<slug:action>/",
        views.client_action,
        name="client-action",
    ),
    path("", include((_operations, _app), namespace=_namespace)),
]
