"""``GET /api/changes/{month_a}/{month_b}``: where the two months differ most, as GeoJSON.

The analysis (:mod:`mosaic.changes`) runs once per pair of builds and kind, in the background,
and its answer is kept in the file cache (builds never change). A request waits a few seconds
for it; if it is not ready then, the answer is ``202`` with the progress and ``Retry-After``:
ask the same URL again.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response

from app.filecache import FileCache
from app.tasks import Task, Tasks
from mosaic.catalog import Catalog
from mosaic.changes import ANALYSIS_ZOOM, KINDS, MAX_FEATURES, VERSION, hotspots
from mosaic.store import BUILD_ID_PATTERN
from processing.naming import MONTH_PATTERN

ChangeKind = Literal[tuple(KINDS)]  # type: ignore[valid-type]
MonthId = Annotated[str, Path(pattern=MONTH_PATTERN, description="Month id, YYYY-MM.")]
BuildId = Annotated[str | None, Query(pattern=BUILD_ID_PATTERN, description="Build id (default: the latest).")]
WAIT_S = 4.0
"""How long a request waits for a computation before answering 202."""


def pinned_headers(pinned: bool, max_age: int) -> dict[str, str]:
    """Cache-Control of an answer: for good when every build it depends on is named in the URL."""
    return {"Cache-Control": "public, max-age=31536000, immutable" if pinned else f"public, max-age={max_age}"}


def changes_router(catalog: Catalog, cache: FileCache, retry_after: int, max_age: int, wait: float = WAIT_S,
                   zoom: int = ANALYSIS_ZOOM) -> APIRouter:
    """The change hotspots route."""
    router = APIRouter(tags=["Changes"])
    tasks = Tasks(1, "changes")  # one analysis at a time: each holds a few arrays of all France

    @router.get("/api/changes/{month_a}/{month_b}", summary="Largest connected areas of change between two months",
                responses={202: {"description": "computing: ask again after Retry-After seconds"}})
    def changes(
        month_a: MonthId,
        month_b: MonthId,
        kind: Annotated[ChangeKind, Query(description=" | ".join(f"{k.name}: {k.description}"
                                                                  for k in KINDS.values()))] = "ndvi_loss",
        limit: Annotated[int, Query(ge=1, le=MAX_FEATURES, description="Features returned, largest first.")] = 10,
        build_a: BuildId = None,
        build_b: BuildId = None,
    ) -> Response:
        """A GeoJSON FeatureCollection of the largest areas of change, largest first (see README)."""
        a, b = catalog.get(month_a, build_a), catalog.get(month_b, build_b)
        key = FileCache.key("changes", VERSION, zoom, a.month, a.build_id, b.month, b.build_id, kind)
        headers = pinned_headers(bool(build_a and build_b), max_age)
        if (path := cache.get(key, ".json")) is not None:
            return _answer(json.loads(path.read_bytes()), limit, headers)

        def work(task: Task) -> dict:
            result = hotspots(a, b, kind, zoom)
            cache.put(key, ".json", json.dumps(result, separators=(",", ":")).encode())
            task.advance()
            return result

        task = tasks.start(key, 1, work)
        if not Tasks.wait(task, wait):
            return JSONResponse({**task.describe(), "detail": "computing, ask again"}, status_code=202,
                                headers={"Retry-After": str(retry_after), "Cache-Control": "no-store"})
        return _answer(task.future.result(), limit, headers)  # type: ignore[union-attr]

    return router


def _answer(result: dict, limit: int, headers: dict[str, str]) -> JSONResponse:
    content = {**result, "features": result["features"][:limit]}
    return JSONResponse(content, media_type="application/geo+json", headers=headers)
