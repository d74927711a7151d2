"""API fuzzing: Schemathesis drives every operation of the server's own OpenAPI schema.

A real server on 127.0.0.1 serves two small published months, with the admin API on. No answer
may be a 5xx, and no answer may reveal a filesystem path or a stack trace. 100 examples per
operation (``MOSAIQUE_FUZZ_EXAMPLES`` to change): about 2000 requests, a minute or two.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.helpers import copy_published, serving

TOKEN = "fuzz-admin-token-7c1e"
EXAMPLES = int(os.environ.get("MOSAIQUE_FUZZ_EXAMPLES", "100"))
REAL_PATH = {"month": "2018-07", "month_a": "2018-07", "month_b": "2018-08", "tileMatrixSetId": "WebMercatorQuad"}
LEAKS = re.compile(r"Traceback \(most recent call last\)|File \"/|/(?:tmp|work|root|home|usr|opt)/|\.py\", line")


@pytest.fixture(scope="module")
def api_schema(france: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[schemathesis.BaseSchema, Path]]:
    root = tmp_path_factory.mktemp("fuzz")
    data = copy_published(france, root)  # the admin API may rebuild it: a copy of the shared sample
    (data / "inputs").symlink_to(root / "in")
    env = {"MOSAIQUE_ADMIN_TOKEN": TOKEN, "MOSAIQUE_LOG_JSON": "true", "PATH": "/usr/bin:/bin"}
    log = root / "server.log"
    with log.open("wb") as out, serving(data, env=env, stdout=out, stderr=out) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        schema.config.update(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
        yield schema, log
    assert TOKEN not in log.read_text(), "the admin token appeared in the server log"


def test_no_operation_answers_5xx_or_leaks(api_schema: tuple[schemathesis.BaseSchema, Path]) -> None:
    """Every operation, generated cases: collect every failure, then report them all at once."""
    api_schema, log = api_schema
    failures: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=_cases(operation))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                  derandomize="MOSAIQUE_FUZZ_SEED" not in os.environ, database=None,
                  phases=[Phase.explicit, Phase.generate])
        def fuzz(case: schemathesis.Case) -> None:
            response = case.call(timeout=30)
            statuses[response.status_code] += 1
            body = str(case.body)[:200] if isinstance(case.body, dict | list | str) else ""
            where = f"{case.method} {case.formatted_path} {case.query or ''} {body}"
            assert response.status_code < 500, f"{where} -> {response.status_code}"
            body = response.content.decode("utf-8", "replace") if _is_text(response.headers) else ""
            assert not LEAKS.search(body), f"{where} leaks: {body[:300]}"

        try:
            fuzz()
        except AssertionError as exc:
            failures[operation.label] = str(exc).splitlines()[0]
    print(f"{sum(statuses.values())} requests over {len(operations)} operations: {dict(sorted(statuses.items()))}")
    assert statuses[200] > len(operations), "the fuzzer barely reached the server: check the schema and server"
    assert not failures, "\n".join([f"{label}: {why}" for label, why in failures.items()] + _server_errors(log))


def _server_errors(log: Path) -> list[str]:
    """The last line of each exception the server logged (why it answered 500)."""
    errors = []
    for line in log.read_text().splitlines():
        entry = json.loads(line) if line.startswith("{") else {}
        if "exception" in entry:
            errors.append(f"server: {entry['message']}: {entry['exception'].splitlines()[-1]}")
    return errors


def _cases(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    """Valid and invalid requests; half of the valid ones on the published months, to reach the readers."""
    names = {p.name for p in operation.path_parameters}
    real = {k: v for k, v in REAL_PATH.items() if k in names}
    strategies = [operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)]
    if real:
        strategies.append(operation.as_strategy(path_parameters=real))
    return st.one_of(strategies)


def _is_text(headers: dict[str, list[str]]) -> bool:
    kind = (headers.get("content-type") or [""])[0]
    return kind.startswith(("application/json", "text/", "application/xml", "application/geo+json"))
