"""The admin API: trigger, follow, list and cancel month builds (bearer token).

Admin is off unless ``MOSAIQUE_ADMIN_TOKEN`` is set; the token is compared in constant time and
never logged. Inputs must lie under the configured input roots.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Security
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from app.jobs import JobStore
from app.ratelimit import RateLimiter
from app.settings import Settings
from processing.naming import MONTH_PATTERN

FAILED_AUTH_PER_MINUTE = 10
JOB_ID_PATTERN = r"^[0-9a-f]{12}$"
_bearer = HTTPBearer(auto_error=False, description="MOSAIQUE_ADMIN_TOKEN")


class BuildRequest(BaseModel):
    """A month to build and where its products are (paths under the input roots)."""

    month: str = Field(pattern=MONTH_PATTERN, examples=["2018-08"])
    inputs: list[str] = Field(min_length=1, max_length=100, examples=[["2018-08"]],
                              description="Folders or products, relative to an input root or absolute inside one.")
    force: bool = Field(False, description="Build even if the published build has the same inputs.")
    verify_inputs: bool = Field(False, description=(
        "Validate and checksum every input again (zip CRCs included), not only new or changed ones."))


def admin_router(settings: Settings, jobs: JobStore) -> APIRouter:
    """Routes under ``/api/admin``, all behind the bearer token."""

    failures = RateLimiter(per_minute=FAILED_AUTH_PER_MINUTE, burst=FAILED_AUTH_PER_MINUTE)
    writes = RateLimiter(per_minute=settings.admin_rate_limit, burst=min(settings.admin_rate_limit, 10))

    def require_admin(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> None:
        failures.ensure_available(request)  # a client that failed too often waits, even with the right token
        if settings.admin_token is None:
            raise HTTPException(403, "the admin API is disabled (no MOSAIQUE_ADMIN_TOKEN configured)")
        if credentials is None:
            raise HTTPException(401, "an admin bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        expected = settings.admin_token.get_secret_value().encode()
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            failures.take(request)
            raise HTTPException(403, "invalid admin token")
        if request.method == "POST":  # starting and cancelling builds; reading jobs is not limited
            writes.take(request)

    router = APIRouter(prefix="/api/admin", tags=["Admin"], dependencies=[Security(require_admin)])
    roots = [r.resolve() for r in settings.resolved_input_roots()]

    def resolve_input(raw: str) -> str:
        if "\x00" in raw:
            raise HTTPException(400, "an input path may not contain a NUL character")
        for root in roots:
            candidate = (root / raw).resolve()
            if candidate.is_relative_to(root) and candidate.exists():
                return str(candidate)
        raise HTTPException(400, f"input {raw!r} is not an existing path under the input roots")

    @router.post("/builds", status_code=202, summary="Start a build of a month")
    def start_build(request: BuildRequest) -> dict:
        """Queue a build; it runs in its own process. 409 if one of the month is active, 429 if
        ``MOSAIQUE_MAX_BUILDS`` builds already are."""
        inputs = [resolve_input(raw) for raw in request.inputs]
        return jobs.start(request.month, inputs, settings.local_data_dir(), force=request.force,
                          verify_inputs=request.verify_inputs, max_active=settings.max_builds)

    @router.get("/builds", summary="Build jobs, newest first")
    def list_builds() -> list[dict]:
        """Every recorded build job (history persists across restarts)."""
        return jobs.list()

    @router.get("/builds/{job_id}", summary="One build job: state, progress, log tail")
    def get_build(job_id: Annotated[str, PathParam(pattern=JOB_ID_PATTERN)]) -> dict:
        """State, progress and the last log lines of a job."""
        return jobs.get(job_id)

    @router.post("/builds/{job_id}/cancel", summary="Cancel a build job")
    def cancel_build(job_id: Annotated[str, PathParam(pattern=JOB_ID_PATTERN)]) -> dict:
        """Stop a queued or running job; the published month stays as it was."""
        return jobs.cancel(job_id)

    return router
