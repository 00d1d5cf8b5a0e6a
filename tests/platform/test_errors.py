"""One way for each thing: domain errors as HTTP answers, one Detail, one progress throttle."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path
from typing import Any

import pytest
from ninja import NinjaAPI
from ninja.testing import TestClient

from videoanalyzer import progress
from videoanalyzer.errors import Conflict, DomainError, InvalidParameter, NotFound, Refused
from videoanalyzer.http import Detail, install_error_handlers
from videoanalyzer.progress import ProgressThrottle

ROOT = Path(__file__).resolve().parents[2]
APPS = ("analysis", "describe", "exports", "frontend", "people", "story", "vision", "videoanalyzer")


class BlockedByTest(Conflict):
    """An app's own error: subclassing is all it takes to get its HTTP answer."""


def raiser(error: DomainError) -> Any:
    def raise_it(request: Any) -> None:
        raise error

    return raise_it


def test_every_kind_of_domain_error_has_its_status_and_message() -> None:
    api = NinjaAPI(urls_namespace="errors_test")
    install_error_handlers(api)
    raised: dict[str, DomainError] = {
        "refused": Refused("Cannot merge a storyline into itself."),
        "param": InvalidParameter("num_storylines must be between 1 and 50."),
        "missing": NotFound("No storyline 7 in this analysis."),
        "busy": BlockedByTest("The analysis is still running."),
        "teapot": DomainError("Short and stout.", status=418),
    }
    for name, error in raised.items():
        api.get(f"/{name}", response={error.status: Detail})(raiser(error))
    client = TestClient(api)
    expected = {"refused": 400, "param": 422, "missing": 404, "busy": 409, "teapot": 418}
    for name, status in expected.items():
        response = client.get(f"/{name}")
        assert response.status_code == status, name
        assert response.json() == {"detail": raised[name].message}


def test_older_catchers_still_catch_value_errors() -> None:
    with pytest.raises(ValueError):
        raise InvalidParameter("x")
    with pytest.raises(ValueError):
        raise Refused("x")


@pytest.mark.django_db
def test_app_errors_are_mapped_on_both_apis(alice: Any, describe_client: Any) -> None:
    """People and search refusals (once caught by hand) and /process at both of its paths."""
    from django.test import Client

    assert alice.patch("/api/characters/999999", {"name": "A"}, "application/json").json() == {
        "detail": "No such character."
    }
    empty = alice.get("/api/search", {"q": "  "})
    assert empty.status_code == 400 and empty.json()["detail"]
    _client, token = describe_client
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for path in ("/process", "/api/process"):
        bad = Client().post(path, {"url": "ftp://x/y"}, content_type="application/json", **auth)
        assert bad.status_code == 422 and "http and https" in bad.json()["detail"], path
    body = {"url": "https://example.org/film.mp4"}
    job = Client().post("/process", body, content_type="application/json", **auth).json()
    for path in (f"/process/{job['id']}", f"/api/process/{job['id']}"):
        wrong = Client().get(path, {"format": "xml"}, **auth)
        assert wrong.status_code == 422, path
        assert wrong.json() == {"detail": "format must be json, vtt or srt."}
    transcript = alice.get(f"/api/analyses/{uuid.uuid4()}/transcript.txt")
    assert transcript.status_code == 404
    assert transcript.json() == {"detail": "Use transcript.srt or transcript.vtt."}


def test_detail_is_defined_once() -> None:
    definitions = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text())
            definitions += [
                f"{path.relative_to(ROOT)}"
                for node in ast.walk(tree)
                if isinstance(node, ast.ClassDef) and node.name == "Detail"
            ]
    assert definitions == ["videoanalyzer/http.py"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_throttle_passes_the_first_then_one_per_interval(monkeypatch: Any) -> None:
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    seen: list[tuple[float, str]] = []
    throttle = ProgressThrottle(lambda f, m: seen.append((f, m)), interval=0.5)
    throttle(-0.2, "first")  # clamped
    clock.now += 0.2
    throttle(0.3, "too soon")
    throttle(0.4, "forced", force=True)
    clock.now += 0.5
    throttle(1.7, "later")  # clamped
    assert seen == [(0.0, "first"), (0.4, "forced"), (1.0, "later")]
    bare = ProgressThrottle(interval=0.5)
    assert bare.due() and not bare.due() and bare.due(force=True)
    with pytest.raises(TypeError):
        bare(0.5, "no report function")
