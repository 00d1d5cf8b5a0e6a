from django.urls import path

from frontend.consumers import AnalysisProgressConsumer

websocket_urlpatterns = [
    path("ws/analyses/<uuid:analysis_id>/", AnalysisProgressConsumer.as_asgi()),
]
