"""``manage.py analyze ... --export DIR`` and ``manage.py export ANALYSIS_ID --export DIR``:
every storyline's files and a manifest that says what each file holds."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.fixtures_exports import FPS, LongGopClip, frame_numbers
from tests.fixtures_exports import NAMES as LONG_NAMES

pytestmark = pytest.mark.django_db


def test_export_command_writes_the_files_and_the_manifest(
    long_gop_analysis: Any,
    long_gop_clip: LongGopClip,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    call_command(
        "export", str(long_gop_analysis.pk), "--export", str(out), "--formats", "mp4,edl,srt"
    )
    terminal = capsys.readouterr().err  # the progress bar, file by file, to the end
    assert "1/6 Chase" in terminal and "6/6" in terminal and "100%" in terminal
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["video"] == "Numbered film.mp4"
    files = manifest["files"]
    assert [(f["format"], f["storyline"]) for f in files] == [
        (kind, f"storyline_{n}") for kind in ("mp4", "edl", "srt") for n in (1, 2)
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f["path"] for f in files] + ["manifest.json"]
    )  # nothing else: no staging folder left behind
    for entry in files:
        assert entry["mode"] == ("smart" if entry["format"] == "mp4" else None)
        number = int(entry["storyline"].split("_")[1])
        # The spans are the storyline's frames, as the video shows them.
        frames = [f for a, b in entry["spans"] for f in range(round(a * FPS), round(b * FPS))]
        assert frames == long_gop_clip.storyline_frames(number)
        if entry["format"] == "mp4":
            assert frame_numbers(out / entry["path"]) == frames
    assert files[0]["path"] == f"Numbered film - {LONG_NAMES[0]}.mp4"


def test_bad_export_options_fail_clearly_and_leave_nothing(
    long_gop_analysis: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="Unknown format"):
        call_command("export", str(long_gop_analysis.pk), "--export", str(out), "--formats", "gif")
    with pytest.raises(CommandError, match="No analysis"):
        call_command("export", "not-an-id", "--export", str(out))
    Path(long_gop_analysis.video.file.path).unlink()  # the source is gone from storage
    with pytest.raises(CommandError, match="missing from storage"):
        call_command("export", str(long_gop_analysis.pk), "--export", str(out))
    assert not out.exists() or list(out.iterdir()) == []


def test_analyze_with_export_writes_the_cut_after_the_analysis(
    user: Any, three_shot_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = tmp_path / "result.json"
    call_command(
        "analyze",
        str(three_shot_clip),
        "--storylines",
        "2",
        "--json",
        str(result),
        "--export",
        str(out),
        "--formats",
        "mp4,otio",
        "--mode",
        "exact",
    )
    body = json.loads(result.read_text())
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    ids = {s["id"]: s for s in body["result"]["storylines"]}
    for entry in manifest["files"]:
        assert (out / entry["path"]).is_file()
        storyline = ids[entry["storyline"]]  # the same ids as the result JSON
        scenes = [[s["start_time"], s["end_time"]] for s in storyline["scenes"]]
        assert sum(b - a for a, b in entry["spans"]) == pytest.approx(
            sum(b - a for a, b in scenes), abs=0.05
        )
    assert {e["mode"] for e in manifest["files"] if e["format"] == "mp4"} == {"exact"}


def test_analyze_refuses_bad_formats_before_analysing(
    tmp_path: Path, three_shot_clip: Path
) -> None:
    with pytest.raises(CommandError, match="Unknown format"):
        call_command("analyze", str(three_shot_clip), "--export", str(tmp_path), "--formats", "mp5")


def test_an_ffmpeg_that_dies_half_way_leaves_nothing_in_dir(
    long_gop_analysis: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The EDLs are made first; then the MP4's ffmpeg writes half a file and is killed.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ffmpeg").write_text(
        '#!/bin/sh\nfor last; do :; done\nhead -c 5000 /dev/urandom > "$last"\nkill -9 $$\n'
    )
    (fake / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"ffmpeg was stopped \(signal 9\)"):
        call_command(
            "export", str(long_gop_analysis.pk), "--export", str(out), "--formats", "edl,mp4"
        )
    assert not out.exists() or list(out.iterdir()) == []  # no EDL, no half MP4, no staging
