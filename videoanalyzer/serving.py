"""Several Daphne processes behind one listening socket (``manage.py serve``).

A Daphne process runs its Python on one core at a time (the GIL), so under many pollers the
requests of one process queue behind each other, and the queue, not the work, sets the p99
latency. ``serve`` binds the socket once and starts
``processes`` Daphne children that all ``accept()`` on it (``daphne --fd``): the kernel hands
each new connection to an idle child, and requests run in parallel across the cores.

The children are supervised: one that dies is started again (a crash of one never takes the
site down), and SIGTERM/SIGINT stops them all gracefully. Several processes need state shared
through Redis (channel layer, broker, cache), so the embedded mode, whose channel layer and
worker live inside the one process, always runs a single process.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

ASGI_APP = "videoanalyzer.asgi:application"
RESTART_DELAY_SECONDS = 1.0
STOP_TIMEOUT_SECONDS = 20.0


class ServeError(ValueError):
    """The requested serving setup cannot work."""


def default_processes(embedded: bool, cpu_count: int | None = None) -> int:
    """One per core (at most 4) with Redis; one in the embedded mode."""
    if embedded:
        return 1
    return max(1, min(4, cpu_count or os.cpu_count() or 1))


def check_processes(processes: int, embedded: bool) -> int:
    """``processes`` if it can work in this mode.

    Raises:
        ServeError: fewer than one, or more than one without Redis.
    """
    if processes < 1:
        raise ServeError("--processes must be at least 1.")
    if processes > 1 and embedded:
        raise ServeError(
            "Several web processes need REDIS_URL: without it the channel layer and the worker "
            "live inside one process. Set REDIS_URL or use --processes 1."
        )
    return processes


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket on ``host:port`` that children can inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


@dataclass
class Supervisor:
    """Starts ``processes`` Daphne children on ``sock`` and keeps them running."""

    sock: socket.socket
    processes: int
    extra_args: list[str] = field(default_factory=list)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    stopping: bool = False

    def command(self) -> list[str]:
        fd = str(self.sock.fileno())
        return [sys.executable, "-m", "daphne", "--fd", fd, *self.extra_args, ASGI_APP]

    def spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command(), pass_fds=(self.sock.fileno(),))

    def start(self) -> None:
        self.children = [self.spawn() for _ in range(self.processes)]
        logger.info("serving with %d Daphne processes", self.processes)

    def stop(self, *_: Any) -> None:
        self.stopping = True
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def restart_dead(self) -> int:
        """Start a new child for every one that exited; returns how many were replaced."""
        replaced = 0
        for i, child in enumerate(self.children):
            code = child.poll()
            if code is not None and not self.stopping:
                logger.warning("web process %d exited with %s; starting a new one", child.pid, code)
                self.children[i] = self.spawn()
                replaced += 1
        return replaced

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.start()
        while not self.stopping:
            time.sleep(RESTART_DELAY_SECONDS)
            self.restart_dead()
        self.sock.close()
