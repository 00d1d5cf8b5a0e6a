"""Schemathesis against our OpenAPI schema: no generated request may get a 5xx.

Every operation of ``/api/openapi.json`` is called in-process through Django's WSGI handler with
inputs Hypothesis generates from the schema (valid ones, and ones that break it on purpose),
authenticated with a Bearer token (the description service's with its client token). Each
example is sent twice: as generated (random ids: 404 paths), and with the ids of the user's own
completed analysis in its path, so bodies and query strings reach the code behind the ownership
check. Examples per operation and mode are bounded (``FUZZ_EXAMPLES``): about a minute in all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.fixtures_robustness import Owned

pytestmark = [pytest.mark.django_db]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))


def _operations() -> list[tuple[str, str]]:
    from videoanalyzer.api import api

    paths = api.get_openapi_schema()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


OPERATIONS = _operations()


def _headers(owned: Owned, path: str) -> dict[str, str]:
    token = owned.client_token if path.startswith("/api/process") else owned.token
    return {"Authorization": f"Bearer {token}"}


def _with_known_ids(case: Any, owned: Owned) -> bool:
    params = case.path_parameters or {}
    ids = owned.ids_for(case.operation.path)
    known = {name: ids[name] for name in params if name in ids}
    if not known or case.method.upper() == "DELETE":  # keep the objects for later examples
        return False
    case.path_parameters = {**params, **known}
    return True


def _server_errors(operation: Any, owned: Owned, mode: GenerationMode) -> list[str]:
    failures: list[str] = []
    headers = _headers(owned, operation.path)

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples on every run: a failure reproduces
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        for attempt in ("generated", "own ids"):
            if attempt == "own ids" and not _with_known_ids(case, owned):
                break
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{mode.value}/{attempt}: {case.method} {case.formatted_path} "
                    f"query={case.query} body={str(case.body)[:200]} -> "
                    f"{response.status_code} {response.text[:300]}"
                )

    try:
        run()
    except Unsatisfiable:  # nothing of this operation can be invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE
    return failures


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_never_get_a_server_error(
    api_schema: Any, owned: Owned, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    failures = [
        failure
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for failure in _server_errors(operation, owned, mode)
    ]
    assert not failures, "\n".join(failures[:5])


def test_no_two_schemas_share_a_name_with_different_shapes() -> None:
    """django-ninja names OpenAPI components by class name: two different ``MergeIn`` classes
    would document one endpoint with the other's body (found here: people vs story)."""
    import json
    from collections import defaultdict

    from ninja import Schema

    import describe.urls  # noqa: F401  (the root description API's schemas)

    def subclasses(cls: type) -> list[type]:
        return [s for sub in cls.__subclasses__() for s in (sub, *subclasses(sub))]

    root = Path(__file__).resolve().parents[2]
    shapes: dict[str, set[str]] = defaultdict(set)
    for cls in subclasses(Schema):
        if (root / cls.__module__.split(".")[0]).is_dir():  # our apps' schemas only
            shapes[cls.__name__].add(json.dumps(cls.model_json_schema(), sort_keys=True))
    assert {name for name, found in shapes.items() if len(found) > 1} == set()
