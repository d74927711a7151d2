"""Timelapse export: ``GET /api/timelapse`` renders a view over several months as an animation.

One export runs at a time per server process (another one asked meanwhile: 429 with
``Retry-After``). The answer is kept in the file cache under what it was made from (each
month's build, the view, size, preset, format and speed), so asking again is a file read.
A request waits a few seconds for its export; a longer one answers 202 with its progress, and
the page follows it at ``/api/timelapse/jobs/{id}`` until ``state`` is ``done``, then fetches
``/api/timelapse/jobs/{id}/result`` (or asks the first URL again). See README, "Timelapse".
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from rasterio.warp import transform as warp_transform

from app.animation import MEDIA_TYPES, encode
from app.filecache import FileCache
from app.frames import decorate, legend_of, metres_per_pixel, render
from app.presets import PRESETS
from app.settings import Settings
from app.tasks import Task, Tasks
from app.validity import parse_bbox
from mosaic.analysis import TMS, View
from mosaic.catalog import Catalog, Month, MonthNotFound
from mosaic.grid import MAX_LAT, MAX_ZOOM, MIN_ZOOM
from processing.naming import MONTH_PATTERN

MAX_SIDE = 1280
"""Largest width or height (px)."""
MIN_SIDE = 64
MAX_FRAMES = 48
FPS_RANGE = (0.25, 10.0)
VERSION = 1
"""Bumped when frames are drawn differently, so older cached exports are not served."""
PresetName = Literal[tuple(p for p in PRESETS)]  # type: ignore[valid-type]
JOB_ID = r"^[0-9a-f]{32}$"


def parse_view(bbox: str | None, center: str | None, zoom: float | None, width: int,
               height: int | None, even: bool = False) -> View:
    """The view in EPSG:3857 from a bbox (fitted inside, centred) or a centre and zoom; 400s name the parameter."""
    if (bbox is None) == (center is None):
        raise HTTPException(400, "give either bbox=west,south,east,north or center=lon,lat with zoom")
    for name, value in (("width", width), ("height", height)):
        if value is not None and not MIN_SIDE <= value <= MAX_SIDE:
            raise HTTPException(400, f"{name} must be from {MIN_SIDE} to {MAX_SIDE} pixels")
    if bbox is not None:
        west, south, east, north = parse_bbox(bbox)
        (left, right), (bottom, top) = warp_transform("EPSG:4326", "EPSG:3857", [west, east], [south, north])
        res = (right - left) / width
        if height is None:
            height = round((top - bottom) / res / (2 if even else 1)) * (2 if even else 1)
            if not MIN_SIDE <= height <= MAX_SIDE:
                raise HTTPException(400, f"height (from the bbox's shape: {height}) must be from {MIN_SIDE} to "
                                         f"{MAX_SIDE} pixels: give height, or a wider or taller bbox")
        res = max(res, (top - bottom) / height)
        cx, cy = (left + right) / 2, (bottom + top) / 2
    else:
        if zoom is None or not MIN_ZOOM <= zoom <= MAX_ZOOM:
            raise HTTPException(400, f"zoom ({MIN_ZOOM} to {MAX_ZOOM}) must come with center")
        try:
            lon, lat = (float(v) for v in center.split(","))  # type: ignore[union-attr]
        except ValueError:
            raise HTTPException(400, "center must be two numbers: lon,lat (degrees)") from None
        if not (-180 <= lon <= 180 and -MAX_LAT <= lat <= MAX_LAT):
            raise HTTPException(400, f"center must have -180 <= lon <= 180 and -{MAX_LAT} <= lat <= {MAX_LAT}")
        (cx,), (cy,) = warp_transform("EPSG:4326", "EPSG:3857", [lon], [lat])
        res = TMS.matrix(0).cellSize / 2**zoom
        height = height or round(width * 3 / 8) * 2
    return View((cx - width * res / 2, cy - height * res / 2, cx + width * res / 2, cy + height * res / 2),
                width, height)


def parse_months(raw: str | None, catalog: Catalog) -> list[Month]:
    """``2018-01..2018-12`` (the published months in that range), ``2018-01,2018-03`` (each must be
    published), or every published month; at most MAX_FRAMES."""
    published = catalog.months()
    if raw is None:
        chosen = published
    elif ".." in raw:
        first, _, last = raw.partition("..")
        if not (re.fullmatch(MONTH_PATTERN, first) and re.fullmatch(MONTH_PATTERN, last) and first <= last):
            raise HTTPException(400, "months must be a range FIRST..LAST of YYYY-MM months, or a list")
        chosen = [m for m in published if first <= m.month <= last]
    else:
        names = raw.split(",")
        if not all(re.fullmatch(MONTH_PATTERN, n) for n in names):
            raise HTTPException(400, "months must be YYYY-MM months separated by commas, or a range FIRST..LAST")
        if len(names) > MAX_FRAMES:
            raise HTTPException(400, f"months lists {len(names)} frames: at most {MAX_FRAMES}")
        chosen = [catalog.get(n) for n in names]  # unpublished: 404
    if not chosen:
        raise MonthNotFound(f"no published month in months={raw}")
    if len(chosen) > MAX_FRAMES:
        raise HTTPException(400, f"months gives {len(chosen)} frames: at most {MAX_FRAMES}")
    return chosen


def timelapse_router(catalog: Catalog, cache: FileCache, settings: Settings) -> APIRouter:
    """``/api/timelapse`` and its job routes."""
    router = APIRouter(tags=["Timelapse"])
    tasks = Tasks(1, "timelapse")
    wait = min(settings.compute_wait, settings.request_timeout / 2)

    @router.get("/api/timelapse", summary="Animated view over several months",
                responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}},
                           202: {"description": "rendering: progress, and where to follow it"},
                           429: {"description": "another export is running in this process"}})
    def timelapse(
        request: Request,
        bbox: Annotated[str | None, Query(description="west,south,east,north (degrees); or center and zoom")] = None,
        center: Annotated[str | None, Query(description="lon,lat of the view's centre (with zoom)")] = None,
        zoom: Annotated[float | None, Query(description="Web map zoom of the view (with center)")] = None,
        months: Annotated[str | None, Query(description="FIRST..LAST, or a list M1,M2,...; default: all")] = None,
        preset: Annotated[PresetName, Query(description="Rendering preset (see /api/presets)")] = "truecolor",
        width: Annotated[int, Query(description=f"Frame width, {MIN_SIDE}-{MAX_SIDE} px")] = 640,
        height: Annotated[int | None, Query(description="Frame height (default: from the bbox, or 3/4 width)")] = None,
        format: Annotated[Literal["webp", "gif", "mp4"], Query(description="Animated WebP, GIF or H.264 MP4")] = "webp",
        fps: Annotated[float, Query(description=f"Frames a second, {FPS_RANGE[0]}-{FPS_RANGE[1]}")] = 1.0,
    ) -> Response:
        """The animation (200), or the export's progress (202) while it renders (see the module docs)."""
        view = parse_view(bbox, center, zoom, width, height, even=format == "mp4")
        if format == "mp4" and (view.width % 2 or view.height % 2):
            raise HTTPException(400, f"width and height must be even for mp4 (here {view.width} x {view.height})")
        if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
            raise HTTPException(400, f"fps must be from {FPS_RANGE[0]} to {FPS_RANGE[1]}")
        chosen = parse_months(months, catalog)
        key = FileCache.key("timelapse", VERSION, [(m.month, m.build_id) for m in chosen],
                            [round(v, 2) for v in view.bounds], view.width, view.height, preset, format, fps)
        if (path := cache.get(key, f".{format}")) is not None:
            return _file(path.read_bytes(), format, chosen, preset, key, settings.cache_max_age)

        def work(task: Task) -> bytes:
            legend, mpp = legend_of(PRESETS[preset]), metres_per_pixel(view)
            frames = []
            for month in chosen:
                frames.append(decorate(render(month, PRESETS[preset], view), month.month, legend, mpp))
                task.advance()
            content = encode(frames, format, fps, scratch=str(cache.root))
            cache.put(key, f".{format}", content)
            task.advance()
            return content

        cache.root.mkdir(parents=True, exist_ok=True)
        task = tasks.start(key, len(chosen) + 1, work)  # TooManyTasks: 429 (app.errors)
        if Tasks.wait(task, wait):
            return _file(task.future.result(), format, chosen, preset, key, settings.cache_max_age)  # type: ignore[union-attr]
        return _progress(task, request, status_code=202)

    @router.get("/api/timelapse/jobs/{job_id}", summary="Progress of a timelapse export")
    def job(request: Request, job_id: Annotated[str, Path(pattern=JOB_ID)]) -> JSONResponse:
        """``state`` (running, done, failed), ``done`` of ``total`` steps (one per frame, one to encode)."""
        task = tasks.get(job_id)
        if task is not None:
            if task.state == "failed":
                task.future.result()  # type: ignore[union-attr]  # its error, through the app's error mapping
            return _progress(task, request)
        if _cached(cache, job_id) is None:
            raise HTTPException(404, f"no timelapse job {job_id} (finished ones live as long as the cache keeps them)")
        return JSONResponse({"id": job_id, "state": "done", "result": _result_url(request, job_id)})

    @router.get("/api/timelapse/jobs/{job_id}/result", summary="The finished timelapse",
                responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}})
    def result(request: Request, job_id: Annotated[str, Path(pattern=JOB_ID)]) -> Response:
        """The animation once the job is done (202 with its progress before)."""
        found = _cached(cache, job_id)
        if found is not None:
            return _file(found[1].read_bytes(), found[0], [], "", job_id, settings.cache_max_age)
        task = tasks.get(job_id)
        if task is None:
            raise HTTPException(404, f"no timelapse job {job_id}")
        if task.state == "failed":
            task.future.result()  # type: ignore[union-attr]
        return _progress(task, request, status_code=202)

    return router


def _cached(cache: FileCache, key: str) -> tuple[str, object] | None:
    for fmt in MEDIA_TYPES:
        if (path := cache.get(key, f".{fmt}")) is not None:
            return fmt, path
    return None


def _result_url(request: Request, job_id: str) -> str:
    return str(request.url_for("result", job_id=job_id))


def _progress(task: Task, request: Request, status_code: int = 200) -> JSONResponse:
    status = str(request.url_for("job", job_id=task.key))
    body = {**task.describe(), "status": status, "result": _result_url(request, task.key)}
    return JSONResponse(body, status_code=status_code,
                        headers={"Retry-After": "1", "Location": status, "Cache-Control": "no-store"})


def _file(content: bytes, fmt: str, months: list[Month], preset: str, key: str, max_age: int) -> Response:
    name = f"mosaique-{months[0].month}-{months[-1].month}-{preset}.{fmt}" if months else f"mosaique-{key}.{fmt}"
    return Response(content, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": f"public, max-age={max_age}",
        "X-Timelapse-Id": key})
