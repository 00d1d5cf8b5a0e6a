"""The time-left estimator replayed on runs recorded by ``bench/progress_eta.py``.

``eta_traces.json`` holds 19 real analyses on 2 loaded cores (the shared story videos, the
sonnet clip and two built story videos of 158 and 207 s; cold, warm, and warm with CPU hogs
started half way), as ``python -m bench.progress_eta --replay ... --export=...`` writes them:
the costs the estimator was given, each stage's end, and the stages in progress at every saved
report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from analysis.stagecosts import Going, TimeLeft

TRACES = json.loads((Path(__file__).parent / "eta_traces.json").read_text())


@dataclass
class Planned:
    name: str
    needs: tuple[str, ...]
    lane: str


def replay(trace: dict[str, Any]) -> list[tuple[float, float | None, float, float]]:
    """(seconds in, estimate, pace, measured seconds) at every report of ``trace``."""
    stages = [Planned(name, tuple(needs), lane) for name, needs, lane in trace["stages"]]
    lanes = {s.name: s.lane for s in stages}
    plan = TimeLeft(stages, lanes, dict(trace["expected"]), load=dict(trace["loading"]))
    out = []
    for kind, at, *rest in trace["events"]:
        if kind == "finished":
            plan.finished(rest[0], rest[1], at=at)
        elif kind == "priced":  # the scenes or the speech were found
            plan.expected.update({k: v for k, v in rest[0].items() if k not in plan.done})
        else:
            left = plan.seconds([Going(*going) for going in rest[1]], at=at)
            out.append((at, left, plan.pace(), plan.measured()))
    return out


HOGGED = [t for t in TRACES if t["hog_at"] is not None and t["total"] > t["hog_at"] + 60]


@pytest.mark.parametrize("trace", HOGGED, ids=[t["video"] for t in HOGGED])
def test_the_pace_follows_the_machine_slowed_mid_run(trace: dict[str, Any]) -> None:
    """Two processes kept both cores busy from half the work on: a minute later the pace
    the estimate uses shows the machine slower (1.1-1.8x on these runs)."""
    seen = replay(trace)
    at_hogs = [pace for at, _left, pace, _m in seen if at <= trace["hog_at"]][-1]
    later = [pace for at, _left, pace, _m in seen if at <= trace["hog_at"] + 60][-1]
    assert later >= 1.1 * at_hogs


@pytest.mark.parametrize("trace", TRACES, ids=[f"{t['video']}-{t['run']}" for t in TRACES])
def test_no_estimate_before_the_run_measured_work_and_none_negative(trace: dict[str, Any]) -> None:
    seen = replay(trace)
    assert all(left is None for _at, left, _p, measured in seen if measured == 0)
    shown = [left for _at, left, _p, _m in seen if left is not None]
    assert shown and min(shown) >= 0.0
