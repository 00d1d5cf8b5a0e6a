"""Nobody in: ownership on every endpoint, page, file and WebSocket; CSRF; session and token
auth; the upload size limit; rate limits; secrets only from the environment; a clean
``check --deploy`` for the production settings.

The endpoint lists come from the OpenAPI schema and the URL resolver, so endpoints and pages
added later are checked without touching this file.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from analysis.models import Analysis, ApiToken, Video
from tests.fixtures_robustness import Owned, make_owned
from videoanalyzer.credentials import token_new

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _operations() -> list[tuple[str, str]]:
    from videoanalyzer.api import api

    paths = api.get_openapi_schema()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


OPERATIONS = _operations()
WITH_IDS = [(m, p) for m, p in OPERATIONS if "{" in p]
PUBLIC = {("GET", "/api/health")}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token_for(owner: Owned, path: str) -> str:
    return owner.client_token if path.startswith("/api/process") else owner.token


# --- Ownership: every API operation ------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), WITH_IDS, ids=[f"{m} {p}" for m, p in WITH_IDS])
def test_another_users_ids_are_404_on_every_api_operation(
    api_schema: Any, owned: Owned, other_user: Any, method: str, path: str
) -> None:
    """Bob, with his own valid credentials and well-formed requests, gets 404 for Alice's ids."""
    stranger = make_owned(other_user)
    operation = api_schema[path][method]
    names = re.findall(r"{(\w+)}", path)
    ids = {name: owned.ids_for(path)[name] for name in names}
    answers: list[tuple[int, int | None]] = []

    @hypothesis_settings(
        max_examples=3,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(path_parameters=ids))
    def run(case: Any) -> None:
        theirs = case.call(headers=bearer(_token_for(stranger, path))).status_code
        mine = None
        if method == "GET":  # the owner reaches the same object: the ids are real
            mine = case.call(headers=bearer(_token_for(owned, path))).status_code
        answers.append((theirs, mine))

    run()
    assert answers and all(theirs == 404 for theirs, _ in answers), answers
    assert all(mine != 404 for _, mine in answers if mine is not None), answers


@pytest.mark.parametrize(
    ("method", "path"),
    [o for o in OPERATIONS if o not in PUBLIC],
    ids=[f"{m} {p}" for m, p in OPERATIONS if (m, p) not in PUBLIC],
)
def test_every_api_operation_needs_credentials(
    api_schema: Any, owned: Owned, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    names = re.findall(r"{(\w+)}", path)
    ids = {name: owned.ids_for(path)[name] for name in names}
    statuses: list[int] = []

    @hypothesis_settings(
        max_examples=2,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(path_parameters=ids))
    def run(case: Any) -> None:
        statuses.append(case.call().status_code)
        statuses.append(case.call(headers=bearer("not-a-token")).status_code)

    run()
    # Without a token the session check runs, which for unsafe methods checks CSRF first (403).
    assert set(statuses) == {401} if method == "GET" else set(statuses) <= {401, 403}, statuses


# --- Ownership: pages, files, WebSocket --------------------------------------------------------


def _page_routes() -> list[str]:
    """Every URL pattern outside /api/ and /admin/ that takes an id, as a route template."""
    routes: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and "<" in route:
                routes.append(route)

    walk(get_resolver().url_patterns, "")
    return [r for r in routes if not r.startswith(("api/", "admin/", "media/"))]


def _page_url(route: str, ids: dict[str, Any]) -> str | None:
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    if not names or any(name not in ids for name in names):
        return None
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), route)
    return "/" + url.lstrip("^").rstrip("$")


def test_every_page_with_an_id_is_404_for_another_user(
    owned: Owned, other_user: Any, user: Any
) -> None:
    bob, alice = Client(), Client()
    bob.force_login(other_user)
    alice.force_login(user)
    checked = []
    for route in _page_routes():
        url = _page_url(route, owned.ids_for("/" + route))
        if url is None or (url.startswith("/process/") and not url.endswith("/view")):
            continue  # the description API at the site root needs a client token (next test)
        assert bob.get(url).status_code == 404, url
        assert alice.get(url).status_code in (200, 302), url
        checked.append(url)
    assert any("/analyses/" in u for u in checked) and any("/videos/" in u for u in checked)
    assert any(u.startswith("/process/") for u in checked), checked


def test_the_description_api_at_the_site_root_is_404_for_another_client(
    owned: Owned, other_user: Any
) -> None:
    stranger = make_owned(other_user)
    job = owned.describe_job_id
    for url in (f"/process/{job}", f"/process/{job}.vtt", f"/process/{job}.srt"):
        assert Client().get(url, headers=bearer(stranger.client_token)).status_code == 404
        assert Client().get(url, headers=bearer(owned.client_token)).status_code == 200


def test_media_files_are_served_to_their_owner_only(
    owned: Owned, user: Any, other_user: Any
) -> None:
    bob, alice = Client(), Client()
    bob.force_login(other_user)
    alice.force_login(user)
    for url in owned.files:
        assert alice.get(url).status_code == 200, url
        assert bob.get(url).status_code == 404, url
        assert Client().get(url).status_code == 404, url
        # Tokens do not open media URLs to strangers either.
        stranger = make_owned(other_user) if url == owned.files[0] else None
        if stranger:
            assert Client().get(url, headers=bearer(stranger.token)).status_code == 404


def test_export_files_are_reachable_only_through_the_owners_download(
    owned: Owned, user: Any, other_user: Any
) -> None:
    from exports.models import ExportJob

    export = ExportJob.objects.get(pk=owned.ids["job_id"])
    url = f"/api/exports/{export.id}/download"
    stranger = make_owned(other_user)
    assert Client().get(url, headers=bearer(owned.token)).status_code == 200
    assert Client().get(url, headers=bearer(stranger.token)).status_code == 404
    alice = Client()
    alice.force_login(user)
    # The stored file is not served by the media view, even to its owner.
    assert alice.get(f"/media/{export.file.name}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_websocket_progress_is_404_for_another_user_and_anonymous(
    user: Any, other_user: Any
) -> None:
    from channels.testing import WebsocketCommunicator

    from videoanalyzer.asgi import application

    owned = make_owned(user)
    path = f"/ws/analyses/{owned.ids['analysis_id']}/"

    def cookie(who: Any) -> bytes:
        client = Client()
        client.force_login(who)
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    async def connect(session: bytes) -> tuple[bool, Any]:
        headers = [(b"cookie", session), (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect()
        if connected:
            await communicator.disconnect()
        return connected, code

    owner, stranger = cookie(user), cookie(other_user)

    async def scenario() -> None:
        assert (await connect(owner))[0]
        assert await connect(stranger) == (False, 4404)
        assert await connect(b"") == (False, 4404)

    asyncio.run(scenario())


# --- CSRF, sessions and tokens -----------------------------------------------------------------


@pytest.fixture
def csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_session_calls_that_change_things_need_the_csrf_token(
    csrf_client: Client, owned: Owned
) -> None:
    video, analysis = owned.ids["video_id"], owned.ids["analysis_id"]
    unsafe = [
        ("post", f"/api/videos/{video}/analyses", {}),
        ("post", f"/api/analyses/{analysis}/rerun", {}),
        ("post", f"/api/analyses/{analysis}/cancel", {}),
        ("post", f"/api/analyses/{analysis}/exports", {"kind": "json"}),
        ("delete", f"/api/videos/{video}", {}),
    ]
    for method, url, body in unsafe:
        response = getattr(csrf_client, method)(url, body, content_type="application/json")
        assert response.status_code == 403, (url, response.content)
    assert Analysis.objects.count() == 1 and Video.objects.count() == 1
    # With the token from the cookie the same call goes through.
    csrf_client.get("/")  # the page sets the CSRF cookie
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        f"/api/videos/{video}/analyses", {}, "application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 201


def test_uploads_by_session_need_the_csrf_token(csrf_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = csrf_client.post("/api/videos", {"file": SimpleUploadedFile("a.mp4", b"x")})
    assert response.status_code == 403
    assert Video.objects.count() == 0


def test_token_calls_need_no_csrf_token(user: Any, owned: Owned) -> None:
    client = Client(enforce_csrf_checks=True)
    url = f"/api/videos/{owned.ids['video_id']}/analyses"
    for headers in (bearer(owned.token), {"X-API-Key": owned.token}):
        assert client.post(url, {}, "application/json", headers=headers).status_code == 201


def test_forms_need_the_csrf_token(user: Any, csrf_client: Client) -> None:
    anonymous = Client(enforce_csrf_checks=True)
    login = {"username": "alice", "password": "alice-password"}
    assert anonymous.post("/login/", login).status_code == 403
    assert csrf_client.post("/logout/").status_code == 403
    assert csrf_client.get("/api/videos").status_code == 200  # still logged in


def test_tokens_of_inactive_users_and_of_the_wrong_kind_are_refused(
    owned: Owned, user: Any
) -> None:
    api, describe = "/api/videos", f"/api/process/{owned.describe_job_id}"
    assert Client().get(api, headers=bearer(owned.token)).status_code == 200
    assert Client().get(describe, headers=bearer(owned.client_token)).status_code == 200
    # A user's API token is not a description client's token, and the other way round.
    assert Client().get(api, headers=bearer(owned.client_token)).status_code == 401
    assert Client().get(describe, headers=bearer(owned.token)).status_code == 401
    user.is_active = False
    user.save()
    assert Client().get(api, headers=bearer(owned.token)).status_code == 401
    assert Client().get(describe, headers=bearer(owned.client_token)).status_code == 401


def test_a_logged_out_session_is_refused(user: Any) -> None:
    client = Client()
    client.force_login(user)
    assert client.get("/api/videos").status_code == 200
    client.logout()
    assert client.get("/api/videos").status_code == 401
    assert client.get("/").status_code == 302


# --- Upload size ------------------------------------------------------------------------------


def test_an_upload_over_the_limit_is_refused_before_its_body_is_read(
    alice: Client, settings: Any, tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    tmp_path = tmp_path / "upload-tmp"
    tmp_path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.MAX_UPLOAD_BYTES = 10_000
    response = alice.post("/api/videos", {"file": SimpleUploadedFile("a.mp4", b"\0" * 200_000)})
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    assert list(tmp_path.iterdir()) == [] and Video.objects.count() == 0
    # A client that only announces a huge body is stopped by the header alone.
    response = alice.generic("POST", "/api/videos", b"", CONTENT_LENGTH=str(50 * 1024**3))
    assert response.status_code == 413


# --- Rate limits ------------------------------------------------------------------------------


@pytest.fixture
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.bad_inputs import make_no_audio

    folder = tmp_path_factory.mktemp("ratelimit")
    return make_no_audio(folder / "tiny.mp4")


def _upload(client: Client, clip: Path, **extra: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        "/api/videos", {"file": SimpleUploadedFile("tiny.mp4", clip.read_bytes())}, **extra
    )


def test_uploads_are_limited_per_user_and_hour(
    alice: Client, bob: Client, tiny_clip: Path, settings: Any, tmp_path: Path
) -> None:
    settings.RATE_LIMIT_UPLOADS_PER_HOUR = 2
    tmp_path = tmp_path / "upload-tmp"
    tmp_path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    assert [_upload(alice, tiny_clip).status_code for _ in range(2)] == [201, 201]
    refused = _upload(alice, tiny_clip)
    assert refused.status_code == 429
    assert "2 per hour" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert list(tmp_path.iterdir()) == []
    assert _upload(bob, tiny_clip).status_code == 201  # counted per user


def test_process_requests_are_limited_per_client_on_both_paths(owned: Owned, settings: Any) -> None:
    settings.RATE_LIMIT_PROCESS_PER_HOUR = 2
    body = {"url": "https://example.com/film.mp4"}
    headers = bearer(owned.client_token)
    first = Client().post("/api/process", body, "application/json", headers=headers)
    second = Client().post("/process", body, "application/json", headers=headers)
    third = Client().post("/api/process", body, "application/json", headers=headers)
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert third.json()["detail"].startswith("Too many processing requests")
    assert third["Retry-After"].isdigit()


def test_the_window_resets_and_zero_means_no_limit() -> None:
    from videoanalyzer.ratelimit import WINDOW_SECONDS, hit

    start = 1_000 * WINDOW_SECONDS + 10.0
    verdicts = [hit("upload", "unit", 2, now=start + i) for i in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[2].retry_after == WINDOW_SECONDS - 12
    assert hit("upload", "unit", 2, now=start + WINDOW_SECONDS).allowed
    assert all(hit("upload", "off", 0, now=start).allowed for _ in range(5))


def test_the_limit_works_on_the_database_cache_of_the_embedded_mode(
    alice: Client, tiny_clip: Path, settings: Any
) -> None:
    from videoanalyzer.apps import create_cache_table

    database_cache = "django.core.cache.backends.db.DatabaseCache"
    settings.CACHES = {"default": {"BACKEND": database_cache, "LOCATION": "va_cache"}}
    create_cache_table()  # what `migrate` does (post_migrate)
    settings.RATE_LIMIT_UPLOADS_PER_HOUR = 1
    assert _upload(alice, tiny_clip).status_code == 201
    assert _upload(alice, tiny_clip).status_code == 429


def test_an_unreachable_cache_lets_uploads_through(
    alice: Client, tiny_clip: Path, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.RATE_LIMIT_UPLOADS_PER_HOUR = 1
    assert [_upload(alice, tiny_clip).status_code for _ in range(2)] == [201, 201]
    assert "rate limit not checked" in caplog.text


# --- Secrets and the production settings -------------------------------------------------------


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    base.update(
        DJANGO_SETTINGS_MODULE="videoanalyzer.settings",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "SECRET_KEY": "k9$Lq2vX!rT7pW0zYb4nM8sD1fH6jG3cV5xA-uE_oI*yR%tZ&eQ",
    "ALLOWED_HOSTS": "videos.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://videos.example.com",
    "SECURE_COOKIES": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "BEHIND_PROXY": "true",
    "DEBUG": "false",
}


def test_production_settings_pass_check_deploy() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_public_server_refuses_to_start_with_the_development_key() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_names_the_development_key_on_loopback_too() -> None:
    result = _manage("check", "--deploy", ALLOWED_HOSTS="127.0.0.1,localhost")
    assert result.returncode != 0
    assert "videoanalyzer.E001" in result.stderr


def test_no_secret_is_written_in_the_code() -> None:
    """Passwords and keys come from the environment: none is assigned literally in settings."""
    text = (ROOT / "videoanalyzer" / "settings.py").read_text()
    literal = re.compile(r"^(\w*(PASSWORD|SECRET|API_KEY|TOKEN)\w*)\s*=\s*['\"]", re.M)
    assert [name for name, _ in literal.findall(text) if name != "DEV_SECRET_KEY"] == []
    assert re.search(r'^SECRET_KEY = env\("SECRET_KEY"\) or DEV_SECRET_KEY$', text, re.M)
    fields = {field.name for field in ApiToken._meta.get_fields()}
    assert "key" not in fields and "key_hash" in fields  # only a digest of each key is kept
    assert token_new("va_") != token_new("va_")  # random per token, not shared
