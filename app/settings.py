"""Mosaïque settings, read once from ``MOSAIQUE_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting; keyword arguments override the environment (handy in tests)."""

    model_config = SettingsConfigDict(env_prefix="MOSAIQUE_", env_file=".env", extra="ignore")

    data_dir: str = Field("data", description=(
        "Where published months live: a local folder, or (read-only, for serving) an http(s):// or s3:// prefix."))
    log_level: str = Field("INFO", description="Logging level.")
    log_json: bool | None = Field(None, description="JSON log lines (default: when not on a terminal).")
    keep_builds: int = Field(3, ge=1, description="Builds kept per month (the published one always is).")
    dask_scheduler: str | None = Field(
        None, description="Dask scheduler address for builds; unset starts a LocalCluster."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list); empty: no CORS headers.")
    gdal_cachemax: int = Field(192, ge=16, description=(
        "GDAL block cache of each server process, in MB. Once it has been full, malloc keeps the memory it took "
        "for the process's life: the RSS plateau grows with this setting (docs/benchmarks.md, \"Serving: memory\")."))
    workers: int = Field(1, ge=1, description="Server processes started by `mosaique serve`.")
    frontend_dir: Path = Field(Path(__file__).resolve().parent.parent / "frontend",
                               description="The page's files (with node_modules installed).")
    cache_max_age: int = Field(60, ge=0, description="max-age (s) of tile URLs without a build id.")
    request_timeout: float = Field(10.0, gt=0, description=(
        "Seconds a tile, point, difference or API request may take before it is answered 503."))
    http_timeout: float = Field(5.0, ge=1, description="Seconds per HTTP request GDAL makes to a remote data store.")
    http_retries: int = Field(1, ge=0, description="Retries of a remote read after a transient HTTP error.")
    catalog_ttl: float = Field(10.0, ge=0, description=(
        "Seconds between two looks at a remote data store's catalog (a local one is checked on every request)."))
    threads: int = Field(8, ge=1, description=(
        "Requests of each server process reading pixels at once (the others wait their turn, bounded by "
        "request_timeout); few keep /healthz and the event loop responsive, since reads hold the GIL in turns."))
    malloc_arenas: int = Field(1, ge=0, description=(
        "glibc malloc arenas per server process (0: glibc's default, 8 per core); more only let the RSS creep up "
        "(each arena keeps the memory freed in it)."))
    retry_after: int = Field(5, ge=1, description="Retry-After (s) of 429 and 503 answers (busy, unavailable).")
    build_workers: int | None = Field(None, ge=1, description="LocalCluster workers (default: cores).")
    admin_token: SecretStr | None = Field(None, description="Bearer token of the admin API; unset disables it.")
    admin_rate_limit: int = Field(
        30, ge=1, description="Admin build starts and cancels per minute per client (per process).")
    max_builds: int = Field(1, ge=1, description="Builds (of any months) the admin API runs at once.")
    cache_dir: Path = Field(Path.home() / ".cache" / "mosaique", description=(
        "Local folder of computed answers (change hotspots, timelapses), shared by the server's processes."))
    compute_wait: float = Field(4.0, ge=0, description=(
        "Seconds a change-hotspot or timelapse request waits for its computation before answering 202 with its "
        "progress (at most half of request_timeout)."))
    cache_max_mb: int = Field(1024, ge=1, description="Size bound of cache_dir (MB); least recently used go first.")
    input_roots: list[Path] | None = Field(
        None, description="Folders admin builds may read products from (JSON list); default: DATA_DIR/inputs."
    )

    @field_validator("data_dir", mode="before")
    @classmethod
    def _path_to_str(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @property
    def remote(self) -> bool:
        """Whether the data directory is an HTTP(S) or S3 prefix (served read-only)."""
        return self.data_dir.startswith(("http://", "https://", "s3://"))

    def local_data_dir(self) -> Path:
        """The data directory as a local path (builds and admin need one)."""
        if self.remote:
            raise ValueError(f"{self.data_dir} is remote: builds and the admin API need a local data directory")
        return Path(self.data_dir).absolute()

    def resolved_input_roots(self) -> list[Path]:
        """The input roots (default: the data directory's ``inputs`` folder)."""
        return self.input_roots or [self.local_data_dir() / "inputs"]

    def input_placeholders(self) -> dict[Path, str]:
        """How job views name the input roots instead of showing their paths."""
        roots = self.resolved_input_roots()
        names = ["$INPUT"] if len(roots) == 1 else [f"$INPUT{i}" for i in range(1, len(roots) + 1)]
        return {path: name for root, name in zip(roots, names, strict=True)
                for path in {root.absolute(), root.resolve()}}

    def jobs_db(self) -> Path:
        """The SQLite file of build jobs."""
        return self.local_data_dir() / "jobs" / "jobs.sqlite"
