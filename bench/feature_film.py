"""A feature-length film end to end on the embedded default: ``python -m bench.feature_film``.

The benchmark film of ``bench.pipeline_bench`` (10 minutes, shared clips and speech) is scaled
to ``BENCH_FILM_HEIGHT`` (default 360) lines and concatenated ``BENCH_FILM_COPIES`` times
(default 12: two hours). With neither ``DATABASE_URL`` nor ``REDIS_URL`` set, the analysis runs
on the embedded Postgres in ``VAR_DIR`` (use a fresh one) in this process, like the embedded
worker would. Measured in one run: the decode-only time of the film, the whole default
analysis (wall, CPU, ratio to decode), peak memory, how honest the time-left estimate was along
the way, the timeline page's server time and one export of every storyline.

A crash half way is part of the run (``BENCH_CRASH_AT``, default 0.5; 0 runs it in one go):
the analysis runs in a child process, which is SIGKILLed with its ffmpeg children once the bar
passes that fraction; then this process frees the dead worker's lease, as recovery does once it
expires, and another child resumes the same analysis, keeping the stages the first finished.
Before the film, a short cut of it (``BENCH_WARMUP_MINUTES``, default 2) is analysed in a
child too, so that this fresh installation has timed every stage once and can estimate the
time left at all. Memory is sampled every second over the analysing process and its children
(the embedded Postgres left out).

Prints the figures and writes them as JSON to ``var/bench/feature_film.json``; the summary in
``bench/RESULTS.md`` (section ``pipeline-feature``) is written by hand from that file.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, ffmpeg, load_average, setup_django
from bench.pipeline_bench import build_film, decode_only, machine_idle_seconds

OUT = CACHE / "feature_film.json"
MAX_ATTEMPTS = 4


def build_feature(copies: int, height: int) -> Path:
    """The 10-minute benchmark film scaled to ``height`` lines, concatenated ``copies`` times."""
    target = CACHE / f"film_{copies * 10}min_{height}p.mp4"
    if target.exists():
        return target
    short = build_film(10.0)
    scaled = CACHE / f"film_10min_{height}p.mp4"
    if not scaled.exists():
        ffmpeg(
            "-i",
            str(short),
            "-vf",
            f"scale=-2:{height}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-g",
            "50",
            "-c:a",
            "copy",
            str(scaled),
        )
    listing = CACHE / "feature_list.txt"
    listing.write_text(f"file '{scaled}'\n" * copies)
    partial = target.with_suffix(".part.mp4")
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(partial))
    partial.rename(target)
    return target


def build_warmup(film: Path, minutes: float) -> Path:
    """The film's first ``minutes``, cut without re-encoding."""
    target = CACHE / f"warmup_{minutes:g}min.mp4"
    if not target.exists():
        ffmpeg("-i", str(film), "-t", str(minutes * 60), "-c", "copy", str(target))
    return target


Sample = tuple[float, float, float | None, str]


class Watch:
    """Records (elapsed seconds, progress, estimated seconds left, stage) along the run, the
    seconds counted from ``started`` (epoch), and appends each to ``sink`` if given."""

    def __init__(self, started: float | None = None, sink: Path | None = None) -> None:
        self.started = time.time() if started is None else started
        self.sink = sink
        self.samples: list[Sample] = []
        self.last = -1.0

    def __call__(self, analysis: Any) -> None:
        from analysis.progress import eta_seconds

        elapsed = time.time() - self.started
        if elapsed - self.last < 15.0:
            return
        self.last = elapsed
        eta = eta_seconds(analysis)
        sample = (round(elapsed, 1), analysis.progress, eta, analysis.current_stage)
        self.samples.append(sample)
        if self.sink is not None:
            with self.sink.open("a") as out:
                out.write(json.dumps(sample) + "\n")
        print(f"{elapsed:7.0f}s {analysis.progress:6.1%} eta {eta} {analysis.message[:70]}")
        sys.stdout.flush()


class Memory:
    """Samples, every second from a thread, the resident memory of process ``pid`` and its
    children (ffmpeg), the embedded Postgres left out; and the process's own VmHWM."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tree_peak_mb = 0.0
        self.hwm_mb = 0.0
        self.cpu = 0.0  # CPU seconds of the process and its waited-for children, last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def sample(self) -> None:
        import psutil

        try:
            process = psutil.Process(self.pid)
            tree = [process, *process.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree if not p.name().startswith("postgres"))
            self.hwm_mb = max(self.hwm_mb, vm_hwm_mb(self.pid))
            times = process.cpu_times()
            self.cpu = times.user + times.system + times.children_user + times.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied, FileNotFoundError):
            return
        self.tree_peak_mb = max(self.tree_peak_mb, rss / 1024**2)

    def figures(self) -> dict[str, float]:
        return {
            "tree_peak_rss_mb": round(self.tree_peak_mb, 1),
            "vm_hwm_mb": round(self.hwm_mb, 1),
            "cpu": round(self.cpu, 1),
        }


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def new_analysis(film: Path) -> Any:
    from django.contrib.auth import get_user_model

    from analysis import services

    user, _ = get_user_model().objects.get_or_create(username="bench")
    video = services.video_create_from_path(owner=user, path=film)
    return services.analysis_start(video=video, parameters={}, enqueue=False)


def run_child(analysis_id: Any, started: float, crash_at: float = 0.0) -> dict[str, Any]:
    """Analyse in a child process (its own process group, so a SIGKILL takes its ffmpeg too,
    in this session, so it shares this process's scheduling priority); kill
    it once the bar passes ``crash_at`` (0: let it finish)."""
    from analysis.models import Analysis

    sink = CACHE / f"samples_{analysis_id}.jsonl"
    sink.unlink(missing_ok=True)
    command = [sys.executable, "-m", "bench.feature_film", "--child", str(analysis_id)]
    command.append(str(started))
    child = subprocess.Popen(command, process_group=0)
    out: dict[str, Any] = {"began": round(time.time() - started, 1)}
    with Memory(child.pid) as memory:
        while child.poll() is None:
            time.sleep(2.0)
            row = Analysis.objects.get(pk=analysis_id)
            if crash_at and row.progress >= crash_at:
                memory.sample()
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                out["killed"] = kill_figures(row, started)
    out.update(memory.figures(), returncode=child.returncode, wall=round(time.time() - started, 1))
    lines = sink.read_text().splitlines() if sink.exists() else []
    out["samples"] = [json.loads(line) for line in lines]
    return out


def kill_figures(row: Any, started: float) -> dict[str, Any]:
    return {
        "elapsed": round(time.time() - started, 1),
        "progress": row.progress,
        "work_done": row.work_done,
        "completed_stages": list(row.completed_stages),
        "current_stage": row.current_stage,
        "message": row.message,
    }


def free_lease(analysis_id: Any) -> None:
    """What recovery does once a dead worker's lease expires (without waiting for it)."""
    from analysis.models import Analysis

    Analysis.objects.filter(pk=analysis_id).update(
        lease_owner="", lease_expires_at=None, message="Resuming on another worker"
    )


def child_main(analysis_id: str, started: float) -> None:
    setup_django()
    from analysis.pipeline.runner import analysis_execute

    sink = CACHE / f"samples_{analysis_id}.jsonl"
    done = analysis_execute(analysis_id=analysis_id, listener=Watch(started, sink))
    assert done is not None and done.status == "completed", done and done.error


def analyse(film: Path, crash_at: float) -> tuple[Any, dict[str, Any]]:
    """The whole analysis of ``film``, each attempt in a child process like a worker: the
    first SIGKILLed once the bar passes ``crash_at`` (0: never), the next ones resuming the
    same analysis (a child that dies on its own is followed by another, as recovery would)."""
    from analysis.models import Analysis, AnalysisStatus

    analysis = new_analysis(film)
    started, idle, load = time.time(), machine_idle_seconds(), load_average()
    parts: list[dict[str, Any]] = []
    row = analysis
    while row.status != AnalysisStatus.COMPLETED and len(parts) < MAX_ATTEMPTS:
        part = run_child(analysis.pk, started, crash_at if not parts else 0.0)
        part["completed_stages_before"] = list(row.completed_stages)
        parts.append(part)
        print("part:", {k: v for k, v in part.items() if k != "samples"}, flush=True)
        row = Analysis.objects.select_related("video").get(pk=analysis.pk)
        if row.status == AnalysisStatus.FAILED:
            break
        free_lease(analysis.pk)
    end = time.time() - started
    assert row.status == AnalysisStatus.COMPLETED, row.error
    samples = [sample for part in parts for sample in part["samples"]]
    for part in parts:
        part["eta_error"] = eta_errors(part.pop("samples"), part["began"], part["wall"])
    return row, {
        "load_start": load,
        "wall": round(end, 1),
        "parts": parts,
        "machine_idle": round(machine_idle_seconds() - idle, 1),
        "stages": row.metadata.get("stage_seconds", {}),
        "cpu": row.metadata.get("stage_cpu_seconds", {}),
        "usage": row.metadata.get("usage", {}),
        "attempts": row.attempts,
        "scenes": row.scenes.count(),
        "storylines": row.storylines.count(),
        "duration": row.video.duration,
        "eta_samples": samples,
        "eta_error": eta_errors(samples, 0.0, end),
    }


def eta_errors(samples: list[Sample], begin: float, end: float) -> list[Any]:
    """At each tenth of the part from ``begin`` to ``end`` (seconds): (elapsed, estimated
    left, actually left until ``end``)."""
    out, mark = [], 0.1
    for elapsed, _progress, eta, _stage in samples:
        if eta is not None and elapsed >= begin + mark * (end - begin):
            out.append((elapsed, eta, round(end - elapsed, 1)))
            mark += 0.1
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timeline_seconds(analysis: Any) -> dict[str, float]:
    """Server time of the timeline page and of the analysis's result JSON, as its owner."""
    from django.test import Client

    client = Client()
    client.force_login(analysis.video.owner)
    timings = {}
    for name, url in (
        ("timeline_page", f"/analyses/{analysis.pk}/timeline/"),
        ("result_json", f"/api/analyses/{analysis.pk}"),
    ):
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="127.0.0.1")
        timings[name] = round(time.perf_counter() - started, 3)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def export(analysis: Any) -> dict[str, Any]:
    """Every storyline exported (MP4 smart cut, EDL, OTIO, subtitles)."""
    from exports.services.directory import export_to_directory, parse_formats

    directory = CACHE / "feature_export"
    started = time.perf_counter()
    manifest = export_to_directory(
        analysis=analysis, directory=directory, formats=parse_formats("mp4,edl,otio,srt")
    )
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "files": len(manifest.get("files", [])),
        "bytes": sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()),
    }


def share_niceness() -> None:
    """Give this session's autogroup this process's nice value: where the kernel groups the
    processes by session, ``nice`` alone only counts inside the session, and the run would get
    no more of the cores than any other session (a negative value needs root)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(os.nice(0)))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child_main(sys.argv[2], float(sys.argv[3]))
        return
    # librosa's numba kernels cached beside the package, shared by every process of the
    # environment, were found mixed up (an index naming the wrong .nbc: SIGSEGV in the audio
    # stage) after several processes compiled them at once: this run keeps its own.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(CACHE / "numba"))
    share_niceness()
    copies = int(os.environ.get("BENCH_FILM_COPIES", "12"))
    height = int(os.environ.get("BENCH_FILM_HEIGHT", "360"))
    crash_at = float(os.environ.get("BENCH_CRASH_AT", "0.5"))
    film = build_feature(copies, height)
    warmup = build_warmup(film, float(os.environ.get("BENCH_WARMUP_MINUTES", "2")))
    setup_django()
    from videoanalyzer.database import database_prepare

    database_prepare()
    figures: dict[str, Any] = {"film": film.name, "decode": decode_only(film)}
    print("decode only:", figures["decode"], flush=True)
    figures["warmup"] = run_child(new_analysis(warmup).pk, time.time())
    figures["warmup"].pop("samples")
    print("warm-up:", figures["warmup"], flush=True)
    done, figures["analysis"] = analyse(film, crash_at)
    figures["ratio"] = round(figures["analysis"]["wall"] / figures["decode"]["wall"], 2)
    OUT.write_text(json.dumps(figures, indent=1))
    figures["timeline"] = timeline_seconds(done)
    OUT.write_text(json.dumps(figures, indent=1))
    figures["export"] = export(done)
    figures["peak_mb"] = round(peak_mb(), 1)
    figures["children_peak_mb"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
    )
    figures["load_average"] = load_average()
    OUT.write_text(json.dumps(figures, indent=1))
    print(json.dumps({k: v for k, v in figures.items() if k != "analysis"}, indent=1))


if __name__ == "__main__":
    main()
