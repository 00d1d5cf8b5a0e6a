"""The deployment files, validated as text (no Docker engine here): compose, env example, README."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTING_VARS = re.compile(r'env(?:bool|int|float)?\("([A-Z0-9_]+)"')


def settings_variables() -> set[str]:
    names = set(SETTING_VARS.findall((ROOT / "videoanalyzer" / "settings.py").read_text()))
    assert len(names) > 20
    return names


def app_variables() -> set[str]:
    """Variables the apps read in their conf modules (DEFAULTS keys, ENV_VARS, literals)."""
    names: set[str] = set()
    for conf in ROOT.glob("*/conf.py"):
        names |= set(re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', conf.read_text()))
    return names


def test_every_setting_is_documented_in_env_example_and_readme() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in settings_variables() | app_variables():
        assert re.search(rf"^#?\s*{name}=", example, re.M), f"{name} missing from .env.example"
        assert name in readme, f"{name} missing from README"


def test_compose_describes_the_production_stack() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker-cpu", "worker-gpu"} <= set(services)
    for name in ("postgres", "redis", "web", "worker-cpu", "worker-gpu"):
        assert "healthcheck" in services[name], name
    gpu = services["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "--queues" in gpu["command"] and "gpu" in gpu["command"]
    assert "cpu" in services["worker-cpu"]["command"]
    for name in ("web", "worker-cpu", "worker-gpu"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith(
            "redis://"
        )
        assert any(v.startswith("media:") for v in services[name]["volumes"]), name


def test_readme_names_the_two_commands_and_ci_calls_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_web_code_does_not_import_torch_at_module_level() -> None:
    heavy = re.compile(
        r"^(import|from) (torch|transformers|faster_whisper|librosa|cv2|scenedetect)\b", re.M
    )
    for folder in ("videoanalyzer", "frontend", "analysis"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not heavy.search(path.read_text()), f"heavy import at module top in {path}"


def test_the_web_process_loads_no_ml_library() -> None:
    import os
    import subprocess
    import sys

    probe = (
        "import django, sys; django.setup();"
        "import videoanalyzer.urls, analysis.api, analysis.actors, analysis.pipeline as p;"
        "p.load_stages(); heavy = ('torch', 'faster_whisper', 'librosa', 'cv2', 'scenedetect',"
        " 'sklearn', 'ctranslate2'); print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "videoanalyzer.settings"}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
