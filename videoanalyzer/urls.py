from django.contrib import admin
from django.urls import include, path

from analysis.views import media_file
from videoanalyzer.api import api
from videoanalyzer.views import root

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("media/<path:path>", media_file, name="media"),
    path("", root, name="root"),
    # The pages come before describe's root-level API, whose ninja root would shadow "/".
    path("", include("frontend.urls")),
    path("", include("describe.urls")),
]
