"""The math libraries' idle threads sleep instead of spinning on the worker's shared cores,
unless the environment chose their wait policy itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediakit.threads import POLICY_VARIABLE, prefer_passive_waits

ROOT = Path(__file__).resolve().parents[2]


def test_an_unset_policy_becomes_passive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_VARIABLE, raising=False)
    assert prefer_passive_waits() is True
    assert os.environ[POLICY_VARIABLE] == "PASSIVE"


def test_the_environment_keeps_its_own_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POLICY_VARIABLE, "active")
    assert prefer_passive_waits() is False
    assert os.environ[POLICY_VARIABLE] == "active"


def fresh_process(code: str) -> str:
    """Run ``code`` in a new interpreter without a wait policy in its environment."""
    env = {k: v for k, v in os.environ.items() if k != POLICY_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_loading_transnet_sets_the_policy_before_torch_loads() -> None:
    code = (
        "import os, sys\n"
        "from mediakit.transnet.weights import TransNetConfig, load_transnet\n"
        "assert 'torch' not in sys.modules\n"
        "load_transnet(TransNetConfig(device='cpu'))\n"
        "print('torch' in sys.modules, os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    assert fresh_process(code) == "True PASSIVE"
