"""Where the shots stage's CPU seconds go (issue 23), on the 10-minute bench film by default.

    nice -n 5 python -m bench.shots_cost            # bench.pipeline_bench's 10-minute film
    nice -n 5 python -m bench.shots_cost FILE       # any video
    BENCH_SHOTS_COST=stage python -m bench.shots_cost   # the stage's pass only (step 3)

In one process, torch and TransNetV2 loaded first (as in a worker that has run before), three
passes over the whole video, each timed in CPU seconds of the process (all its threads):

1. PyAV decoding alone, threaded (the decode floor ``bench.pipeline_bench`` measures);
2. the shots stage's frame pass with the run's ``PassRecorder`` and the cut detector's
   per-frame signals but no network, with the CPU time the pass's thread spends inside each
   consumer (``time.thread_time``);
3. the shots stage's pass itself (``find_shots``, the default detector, the recorder), and the
   frames the network was given.

The network's share is step 3 less step 2 (its thread and torch's threads are not told apart);
the pass's own overhead (the decoder's thread handing frames over, the per-frame swscale
copies that consumers share) is step 2 less step 1 less the consumers. Prints the figures as
JSON and leaves them in ``var/bench/shots_cost.json``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import CACHE, load_average, setup_django
from mediakit.threads import prefer_passive_waits


def cpu_seconds() -> float:
    from analysis.pipeline.usage import cpu_seconds as process_cpu

    return float(process_cpu())


def decode_only(film: Path) -> float:
    import av

    cpu = cpu_seconds()
    with av.open(str(film)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return cpu_seconds() - cpu


def timed(fn: Callable[..., Any], ledger: dict[str, float], name: str) -> Callable[..., Any]:
    """``fn`` adding the calling thread's CPU time inside it to ``ledger[name]``."""

    def wrapper(*args: Any) -> Any:
        started = time.thread_time()
        try:
            return fn(*args)
        finally:
            ledger[name] += time.thread_time() - started

    return wrapper


def recorder_pass(film: Path, workdir: Path) -> dict[str, float]:
    """Step 2: the pass with the recorder and the detector's signals, each consumer timed."""
    from mediakit.decode import run_frame_pass
    from mediakit.framepass import PassRecorder, PicturePlan
    from mediakit.probe import probe
    from mediakit.shots.cuts import SignalRecorder

    info = probe(film)
    recorder = PassRecorder(workdir, PicturePlan.for_video(info.duration))
    consumers = [*recorder.consumers, SignalRecorder(workdir)]
    ledger: dict[str, float] = defaultdict(float)
    for consumer in consumers:
        name = type(consumer).__name__
        consumer.consume = timed(consumer.consume, ledger, name)  # type: ignore[method-assign]
        consumer.finish = timed(consumer.finish, ledger, name)  # type: ignore[method-assign]
    cpu = cpu_seconds()
    times = run_frame_pass(film, consumers, None, info.frame_count)
    recorder.save(times)
    ledger["pass"] = cpu_seconds() - cpu
    ledger["frames"] = len(times)
    return dict(ledger)


def stage_pass(film: Path, workdir: Path) -> dict[str, float]:
    """Step 3: the shots stage's pass as the stage runs it."""
    from analysis.pipeline.mediaconf import shots_config
    from mediakit.framepass import PassRecorder, PicturePlan
    from mediakit.probe import probe
    from mediakit.shots import find_shots

    info = probe(film)
    recorder = PassRecorder(workdir, PicturePlan.for_video(info.duration))
    cpu = cpu_seconds()
    found = find_shots(
        film,
        shots_config({}),
        recorder.consumers,
        fps=info.fps,
        expected_frames=info.frame_count,
        workdir=workdir,
    )
    recorder.save(found.frame_times)
    return {
        "stage": cpu_seconds() - cpu,
        "network_frames": float(found.network_frames or 0),
        "shots": float(len(found.shots)),
    }


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def main() -> None:
    prefer_passive_waits()  # as the worker does, before anything loads torch
    setup_django()
    from analysis.pipeline.mediaconf import transnet_config
    from bench.pipeline_bench import build_film
    from mediakit.transnet.infer import warm_up

    film = Path(sys.argv[1]) if len(sys.argv) > 1 else build_film(10.0)
    only_stage = os.environ.get("BENCH_SHOTS_COST") == "stage"
    result: dict[str, Any] = {"film": film.name, "load_start": load_average()}
    cpu = cpu_seconds()
    warm_up(transnet_config())
    result["load_network"] = cpu_seconds() - cpu
    if not only_stage:
        result["decode_only"] = decode_only(film)
        with tempfile.TemporaryDirectory() as tmp:
            result["recorder_pass"] = recorder_pass(film, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        result.update(stage_pass(film, Path(tmp)))
    result["load_end"] = load_average()
    text = json.dumps(rounded(result), indent=1)
    print(text)
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "shots_cost.json").write_text(text)


if __name__ == "__main__":
    main()
