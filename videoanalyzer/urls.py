from django.contrib import admin
from django.urls import include, path

from analysis.views import media_file
from videoanalyzer.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("media/<path:path>", media_file, name="media"),
    path("", include("frontend.urls")),
]
