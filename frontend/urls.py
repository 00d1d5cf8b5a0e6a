from django.urls import URLPattern, path

from frontend import views

app_name = "frontend"

urlpatterns: list[URLPattern] = [
    path("", views.library, name="library"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("analyses/<uuid:analysis_id>/", views.analysis_detail, name="analysis"),
    path("analyses/<uuid:analysis_id>/timeline/", views.analysis_timeline, name="timeline"),
    path("videos/<uuid:video_id>/", views.video_detail, name="video"),
    path("settings/tokens/", views.api_tokens, name="tokens"),
    path(
        "settings/tokens/<int:token_id>/revoke/",
        views.api_token_revoke_view,
        name="token-revoke",
    ),
]
