"""The time left beyond the stages' compute (each stage's saving, the run's finish) and a
stage's fraction read as the share of its time it usually means (issue 21)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from analysis import services, stagecosts
from analysis.models import Analysis
from analysis.pipeline.runner import analysis_execute
from analysis.stagecosts import (
    FINISH,
    KNOTS,
    SAVING,
    Going,
    TimeLeft,
    plan_run,
    profile_of,
    stage_costs,
    time_share,
)
from tests.analysis.test_progress_eta import finished

pytestmark = pytest.mark.django_db


@dataclass
class Planned:
    name: str
    needs: tuple[str, ...] = ()
    lane: str = "main"


PLAN = [Planned("shots"), Planned("ocr"), Planned("storylines")]


def ocr_reports(seconds: float, search: float) -> list[tuple[float, float]]:
    """An ocr stage of ``seconds`` reporting twice a second: its lines found (the fraction's
    first half) in the first ``search`` share of its time, read in the rest."""
    out, t = [], 0.0
    while t < seconds:
        t += 0.5
        found = min(1.0, t / (search * seconds))
        read = max(0.0, (t - search * seconds) / ((1 - search) * seconds))
        out.append((t, 0.5 * found + 0.5 * min(1.0, read)))
    return out


def test_a_stage_s_profile_is_when_its_fraction_reached_each_knot() -> None:
    profile = profile_of(ocr_reports(10.0, 0.8), 10.0)
    assert profile is not None and len(profile) == len(KNOTS)
    # Half its fraction at 8 s of 10: the search took four fifths of the time.
    assert profile[KNOTS.index(0.5)] == pytest.approx(0.8, abs=0.03)
    assert time_share(profile, 0.5) == pytest.approx(0.8, abs=0.03)
    assert time_share(profile, 0.75) == pytest.approx(0.9, abs=0.03)
    assert time_share(None, 0.5) == 0.5  # no profile: the fraction as it is
    assert profile_of(ocr_reports(1.0, 0.8), 1.0) is None  # too short to tell


def test_a_stage_s_usual_profile_is_learnt_from_its_warm_runs(user: Any) -> None:
    for search in (0.7, 0.8, 0.9):
        profile = profile_of(ocr_reports(10.0, search), 10.0)
        finished(user, 60.0, {"ocr": 10.0}, stage_profiles={"ocr": profile})
    cold = profile_of(ocr_reports(10.0, 0.2), 10.0)  # loading first: no measure of the work
    finished(user, 60.0, {"ocr": 10.0}, stage_profiles={"ocr": cold}, cold_stages=["ocr"])
    learnt = stage_costs(["ocr"])["ocr"].profile
    assert learnt is not None and time_share(learnt, 0.5) == pytest.approx(0.8, abs=0.03)


def left_in_ocr(profiles: dict[str, Any], at: float, fraction: float) -> float | None:
    """The time left with ocr (10 s expected) at ``fraction`` after ``at`` seconds; shots
    finished as expected, storylines (1 s) to come."""
    expected = {"shots": 10.0, "ocr": 10.0, "storylines": 1.0}
    plan = TimeLeft(PLAN, {}, expected, profiles=profiles)
    plan.finished("shots", 10.0, at=10.0)
    left, reached = None, 0.0
    for elapsed, reached in [r for r in ocr_reports(10.0, 0.8) if r[0] <= at]:
        left = plan.seconds([Going("ocr", reached, elapsed)], at=10.0 + elapsed)
    assert reached == pytest.approx(fraction, abs=0.05)
    return left


def test_a_stage_s_fraction_is_read_as_the_share_of_its_time_it_usually_means() -> None:
    """The ocr stage's fraction is half way once its lines are found, which takes four fifths
    of its time: read as it is, 8 s for half the work says 8 s more; by its profile, 2 s."""
    profile = profile_of(ocr_reports(10.0, 0.8), 10.0)
    truth = 2.0 + 1.0  # the rest of ocr, then storylines
    by_profile = left_in_ocr({"ocr": profile}, at=8.0, fraction=0.5)
    as_it_is = left_in_ocr({}, at=8.0, fraction=0.5)
    assert by_profile == pytest.approx(truth, rel=0.2)
    assert as_it_is is not None and as_it_is > 1.5 * truth


def test_a_stage_s_saving_is_left_after_its_compute_and_not_read_as_slowness() -> None:
    expected = {"shots": 10.0, "ocr": 10.0, "storylines": 1.0, "ocr" + SAVING: 2.0}
    plan = TimeLeft(PLAN, {}, expected)
    plan.finished("shots", 10.0, at=10.0)
    # Its compute done (fraction 1), its rows not yet saved: 2 s of saving, then storylines.
    plan.seconds([Going("ocr", 0.5, 5.0)], at=15.0)
    assert plan.seconds([Going("ocr", 1.0, 10.0)], at=20.0) == pytest.approx(3.0)
    # It took its compute and its saving: as expected, the pace stays the history's.
    plan.finished("ocr", 12.0, at=22.0)
    assert plan.pace() == pytest.approx(1.0)
    assert plan.seconds(at=22.0) == pytest.approx(1.0)


def test_the_run_s_finish_is_learnt_and_left_after_its_last_stage(user: Any) -> None:
    """The result file written and the page told after the last stage saved its rows: a
    time left that ends with the last stage's compute is short at every instant, and all of
    it at the end."""
    for seconds in (0.4, 0.5, 0.6):
        saves = {"storylines": 0.3, "shots": 0.1}
        finished(
            user,
            60.0,
            {"shots": 10.0, "storylines": 1.0},
            stage_save_seconds=saves,
            finish_seconds=seconds,
        )
    costs = stage_costs(["storylines" + SAVING])
    assert costs["storylines" + SAVING].seconds(60.0, cold=False) == pytest.approx(0.3)
    stages = [Stage("shots"), Stage("storylines", ("shots",))]
    plan = plan_run(stages, duration=60.0, has_audio=True, cold=(), done=(), together=True)
    assert plan.expected[FINISH] == pytest.approx(0.5)
    plan.finished("shots", 10.1, at=10.1)
    plan.seconds([Going("storylines", 0.5, 0.5)], at=10.6)
    left = plan.seconds([Going("storylines", 1.0, 1.0)], at=11.1)
    assert left == pytest.approx(0.3 + 0.5)  # its saving, then the finish


@dataclass
class Stage:
    name: str
    needs: tuple[str, ...] = ()
    lane: str = "main"
    cost_follows: str = ""


@pytest.mark.slow
def test_a_run_keeps_its_savings_its_finish_and_its_stages_profiles(
    user: Any, three_shot_clip: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(stagecosts, "PROFILE_SECONDS", 0.0)  # this clip's stages are quick
    stages = ["probe", "shots", "keyframes", "audio"]
    video_row = services.video_create_from_path(owner=user, path=three_shot_clip)
    analysis = services.analysis_start(video=video_row, parameters={}, enqueue=False)
    Analysis.objects.filter(pk=analysis.pk).update(parameters={"stages": stages})
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == "completed"
    metadata = done.metadata
    assert set(metadata["stage_save_seconds"]) == set(stages)
    assert all(s > 0 for s in metadata["stage_save_seconds"].values())
    assert 0 < metadata["finish_seconds"] < metadata["usage"]["wall_seconds"]
    assert set(metadata["stage_profiles"]) == set(stages)
    assert all(len(p) == len(KNOTS) for p in metadata["stage_profiles"].values())
