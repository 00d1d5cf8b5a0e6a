"""The export formats registry: one class per format, read by the service, the API and the menu."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from exports import formats, services
from exports.formats import STORYLINE, ExportFormat, all_formats, get_format, register
from exports.production import ExportContext
from story.models import Storyline

pytestmark = pytest.mark.django_db


def test_every_format_says_what_it_is() -> None:
    names = [f.name for f in all_formats()]
    assert sorted(names) == ["csv", "edl", "fcpxml", "json", "mp4", "otio", "srt", "vtt", "zip"]
    for fmt in all_formats():
        assert fmt.label and fmt.extension.startswith(".") and "/" in fmt.content_type
        assert fmt.scopes and set(fmt.scopes) <= {"storyline", "analysis"}
    assert [f.name for f in all_formats() if f.cut_mode] == ["zip", "mp4"]


def test_the_api_lists_the_registry(alice: Client) -> None:
    body = alice.get("/api/export-formats").json()
    assert [f["name"] for f in body["formats"]] == [f.name for f in all_formats()]
    mp4 = next(f for f in body["formats"] if f["name"] == "mp4")
    assert mp4["cut_mode"] is True and mp4["needs"] == ["scenes", "video"]
    assert [m["name"] for m in body["modes"]] == ["smart", "exact", "copy"]
    assert body["default_mode"] == "smart"
    assert "includes neighbouring frames" in body["modes"][2]["label"]


@pytest.fixture
def shout_format() -> Iterator[type[ExportFormat]]:
    """A new format, added the way the registry says: one class."""

    @register
    class Shout(ExportFormat):
        name = "shout"
        label = "Storyline name, loudly"
        extension = ".txt"
        content_type = "text/plain; charset=utf-8"
        scopes = (STORYLINE,)

        def produce_storyline(self, ctx: ExportContext) -> Path:
            return ctx.write("shout.txt", ctx.plan_or_fail().name.upper())

    yield Shout
    formats._REGISTRY.pop("shout")


def test_a_new_format_is_one_class(
    shout_format: type[ExportFormat], seeded_analysis: Any, alice: Client
) -> None:
    assert get_format("shout") is not None
    line = Storyline.objects.get(analysis=seeded_analysis, order=1)
    job, _ = services.export_request(
        analysis=seeded_analysis, kind="shout", storyline_id=line.pk, enqueue=False
    )
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "completed", job.error
    assert Path(job.file.path).read_text() == "HARBOUR"
    assert job.filename == "Фильм цвета - Harbour.txt" and job.mode == ""
    listed = alice.get("/api/export-formats").json()["formats"]
    assert any(f["name"] == "shout" for f in listed)


def test_the_zip_builds_the_analysis_result_once(
    seeded_analysis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from exports import production

    calls = []
    real = production.analysis_result

    def counted(analysis: Any) -> Any:
        calls.append(analysis.pk)
        return real(analysis)

    monkeypatch.setattr(production, "analysis_result", counted)
    job, _ = services.export_request(
        analysis=seeded_analysis, kind="zip", mode="exact", enqueue=False
    )
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "completed", job.error
    assert calls == [seeded_analysis.pk]
