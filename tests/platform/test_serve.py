"""`manage.py serve` (several Daphne processes on one socket) and the workers' lower priority.

Real processes against the test database and Redis: the site keeps answering while one of its
web processes is killed, the dead one is replaced, and SIGTERM stops them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fixtures_processes import ROOT, free_port, process_env, wait_until
from videoanalyzer.serving import ServeError, check_processes, default_processes

pytestmark = pytest.mark.django_db(transaction=True)


def children_of(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def descendants_of(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def niceness(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[16])


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[int], tuple[subprocess.Popen[bytes], int]]]:
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    started: list[subprocess.Popen[bytes]] = []

    def start(processes: int) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        log = (tmp_path / f"serve{len(started)}.log").open("ab")
        command = [sys.executable, "manage.py", "serve", "--port", str(port)]
        proc = subprocess.Popen(
            [*command, "--processes", str(processes)],
            cwd=ROOT,
            env=process_env(ALLOWED_HOSTS="127.0.0.1"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(proc)
        wait_until(lambda: health(port) == 200, 60, "the site to answer")
        return proc, port

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_serve_shares_one_port_between_processes_and_replaces_a_dead_one(serve) -> None:  # type: ignore[no-untyped-def]
    proc, port = serve(2)
    wait_until(lambda: len(children_of(proc.pid)) == 2, 30, "two web processes")
    first, second = children_of(proc.pid)

    os.kill(first, signal.SIGKILL)
    # The other process keeps the site up while the supervisor starts a replacement.
    assert [health(port) for _ in range(10)] == [200] * 10
    wait_until(
        lambda: len(kids := children_of(proc.pid)) == 2 and first not in kids,
        30,
        "a replacement web process",
    )
    replacement = next(pid for pid in children_of(proc.pid) if pid != second)
    # Both processes answer: with the old one stopped, only the replacement can.
    os.kill(second, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 30
        while health(port) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert health(port) == 200, f"replacement {replacement} does not answer"
    finally:
        os.kill(second, signal.SIGCONT)

    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert children_of(proc.pid) == []


def test_serve_refuses_several_processes_without_redis() -> None:
    with pytest.raises(ServeError, match="REDIS_URL"):
        check_processes(2, embedded=True)
    with pytest.raises(ServeError, match="at least 1"):
        check_processes(0, embedded=False)
    assert check_processes(1, embedded=True) == 1
    assert default_processes(embedded=True, cpu_count=8) == 1
    assert default_processes(embedded=False, cpu_count=2) == 2
    assert default_processes(embedded=False, cpu_count=64) == 4


def test_serve_command_reports_a_bad_process_count() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("serve", "--processes", "0", "--port", str(free_port()))


def test_serve_command_reports_a_port_in_use(serve) -> None:  # type: ignore[no-untyped-def]
    _proc, port = serve(1)
    with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}"):
        call_command("serve", "--processes", "1", "--port", str(port))


def scheduling_policy(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[38])


def test_workers_run_below_the_web_processes_priority(workers) -> None:  # type: ignore[no-untyped-def]
    worker = workers(WORKER_NICE="7")
    base = niceness(os.getpid())

    def booted() -> list[int]:
        return [pid for pid in descendants_of(worker.proc.pid) if niceness(pid) == base + 7]

    wait_until(lambda: bool(booted()), 60, "a worker process at nice +7")
    # SCHED_IDLE (5 on Linux): any web request preempts the worker at once.
    assert {scheduling_policy(pid) for pid in booted()} == {os.SCHED_IDLE}
    # The supervising process itself keeps its priority: only the processes doing the work drop.
    assert niceness(worker.proc.pid) == base
    assert scheduling_policy(worker.proc.pid) == os.SCHED_OTHER


def test_the_idle_policy_can_be_switched_off(workers) -> None:  # type: ignore[no-untyped-def]
    worker = workers(WORKER_NICE="3", WORKER_IDLE_POLICY="false")
    base = niceness(os.getpid())

    def booted() -> list[int]:
        return [pid for pid in descendants_of(worker.proc.pid) if niceness(pid) == base + 3]

    wait_until(lambda: bool(booted()), 60, "a worker process at nice +3")
    assert {scheduling_policy(pid) for pid in booted()} == {os.SCHED_OTHER}
