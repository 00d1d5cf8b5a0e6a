"""The timeline page's JSON: storylines and scenes, one scene's details, waveform peaks."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from frontend import waveform
from frontend.seeding import interleaved, scene_bounds, seed_analysis
from story.models import SceneEdge
from tests.fixtures_timeline import ASSIGNMENT, NAMES, ColourClip

pytestmark = pytest.mark.django_db


def test_timeline_json_has_lanes_scenes_and_undo_state(
    alice: Client, seeded_analysis: Any, colour_clip: ColourClip
) -> None:
    body = alice.get(f"/api/analyses/{seeded_analysis.pk}/timeline").json()
    assert [s["name"] for s in body["storylines"]] == NAMES
    ids = {s["id"]: s["order"] for s in body["storylines"]}
    scenes = body["scenes"]
    assert [s["id"] for s in scenes] == [f"scene_{i + 1}" for i in range(len(ASSIGNMENT))]
    assert [ids[s["storyline_id"]] for s in scenes] == ASSIGNMENT
    assert scenes[1]["start"] == pytest.approx(colour_clip.cuts[0])
    assert all(s["thumb"] and 0 < s["relevance"] <= 1 for s in scenes)
    assert body["can_undo"] is False and body["excluded"] == []
    # A correction shows at once, with undo available.
    move = f"/api/analyses/{seeded_analysis.pk}/story/scenes/scene_2/move"
    assert (
        alice.post(move, {"storyline_id": None}, content_type="application/json").status_code == 200
    )
    body = alice.get(f"/api/analyses/{seeded_analysis.pk}/timeline").json()
    assert body["scenes"][1]["storyline_id"] is None
    assert body["excluded"] == ["scene_2"] and body["can_undo"] is True


def test_scene_details_carry_transcript_interest_relevance_and_neighbours(
    alice: Client, seeded_analysis: Any
) -> None:
    scenes = list(seeded_analysis.scenes.order_by("index"))
    why = {"colour": {"share": 1.0, "why": "similar colours"}}
    SceneEdge.objects.create(
        analysis=seeded_analysis, source=scenes[0], target=scenes[2], weight=0.8, components=why
    )
    url = f"/api/analyses/{seeded_analysis.pk}/timeline/scenes/scene_1"
    body = alice.get(url).json()
    assert body["id"] == "scene_1" and body["segments"][0]["words"]
    assert body["transcript"] == body["segments"][0]["text"]
    assert set(body["interest"]["parts"]) == {"motion", "audio_energy", "speech"}
    assert [r["name"] for r in body["relevance"]] == NAMES
    assert sum(r["relevance"] for r in body["relevance"]) == pytest.approx(1.0, abs=0.01)
    assert body["neighbours"] == [
        {
            "scene_id": "scene_3",
            "weight": 0.8,
            "kind": "similarity",
            "direction": "undirected",
            "why": ["similar colours"],
        }
    ]
    assert "interest" in body["extras"]  # what the apps register (story's keys at least)


def test_other_users_get_404(bob: Client, seeded_analysis: Any) -> None:
    for url in (
        f"/api/analyses/{seeded_analysis.pk}/timeline",
        f"/api/analyses/{seeded_analysis.pk}/timeline/scenes/scene_1",
        f"/api/analyses/{seeded_analysis.pk}/waveform",
        f"/analyses/{seeded_analysis.pk}/timeline/",
    ):
        assert bob.get(url).status_code == 404, url


def test_timeline_page_renders_with_its_urls(alice: Client, seeded_analysis: Any) -> None:
    page = alice.get(f"/analyses/{seeded_analysis.pk}/timeline/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="timeline-data"' in html and "js/timeline/main.js" in html
    assert f"/api/analyses/{seeded_analysis.pk}/story/scenes/{{scene}}/move" in html
    assert f"/api/analyses/{seeded_analysis.pk}/story/storylines/{{storyline}}/merge" in html
    analysis_page = alice.get(f"/analyses/{seeded_analysis.pk}/").content.decode()
    assert f'href="/analyses/{seeded_analysis.pk}/timeline/"' in analysis_page


def test_waveform_peaks_follow_the_sound(tmp_path: Path) -> None:
    clip = tmp_path / "half-loud.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=black:size=64x48:rate=10:duration=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:sample_rate=48000:duration=6,volume='if(lt(t,3),1,0)':eval=frame",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
            str(clip),
        ],
        check=True,
    )
    rate = waveform.peaks_per_second(6.0)
    assert rate == waveform.MAX_RATE
    peaks = waveform.compute_peaks(clip, rate)
    assert len(peaks) == pytest.approx(6 * rate, abs=rate * 0.2)
    loud, quiet = peaks[rate // 2 : int(2.5 * rate)], peaks[int(3.5 * rate) : int(5.5 * rate)]
    # ffmpeg's sine is 1/8 of full scale: 255 / 8 ~ 32.
    assert min(loud) >= 25 and max(loud) <= 40
    assert max(quiet) <= 2
    assert waveform.peaks_per_second(7200) == 5


def test_waveform_endpoint_caches_and_handles_silent_videos(
    alice: Client, seeded_analysis: Any, settings: Any
) -> None:
    url = f"/api/analyses/{seeded_analysis.pk}/waveform"
    body = alice.get(url).json()
    assert body["rate"] == waveform.MAX_RATE and len(body["peaks"]) > 800
    cache = Path(settings.VAR_DIR) / "waveforms" / f"{seeded_analysis.video_id}.json"
    assert cache.exists()
    video = seeded_analysis.video
    video.has_audio = False
    video.save()
    assert alice.get(url).json() == body  # cached: the video's sound never changes


def test_seeding_makes_interleaved_storylines_of_any_size() -> None:
    import random

    rng = random.Random(1)
    bounds = scene_bounds(7200.0, 1500, rng)
    assert len(bounds) == 1501 and bounds[0] == 0 and bounds[-1] == 7200.0
    assert all(b > a for a, b in itertools.pairwise(bounds))
    lanes = interleaved(1500, 5, rng)
    assert len(lanes) == 1500 and set(lanes) == set(range(5))
    switches = sum(1 for a, b in itertools.pairwise(lanes) if a != b)
    assert switches > 300  # threads alternate, as in a film


def test_seeded_analysis_without_cuts(user: Any, colour_clip: ColourClip) -> None:
    analysis = seed_analysis(
        owner=user, video_path=colour_clip.path, scenes=20, storylines=3, thumbnails=False
    )
    assert analysis.scenes.count() == 20 and analysis.storylines.count() == 3
    assert analysis.status == "completed"


def test_a_thumbnail_strip_comes_with_its_url(alice: Client, seeded_analysis: Any) -> None:
    path = f"analyses/{seeded_analysis.pk}/strip.jpg"
    strip = {"path": path, "interval": 2.0, "tile_width": 160, "tile_height": 90, "count": 5}
    seeded_analysis.metadata = {**seeded_analysis.metadata, "thumbnail_strip": strip}
    seeded_analysis.save()
    body = alice.get(f"/api/analyses/{seeded_analysis.pk}/timeline").json()
    assert body["thumbnail_strip"] == {**strip, "url": f"/media/{path}"}
