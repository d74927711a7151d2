"""The ``mosaique`` command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click


@click.group()
@click.version_option(package_name="mosaique")
def main() -> None:
    """Mosaïque: monthly France mosaics from Theia Sentinel-2 Level-3A products."""


def _csv(value: str | None) -> list[str] | None:
    """Split a comma-separated option; None or empty means the default."""
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


@main.command()
@click.option("--tiles", help="Comma-separated tile ids, e.g. T31TCJ,T31TDJ [default: all 95].")
@click.option("--months", default="2018-07,2018-08", show_default=True,
              help="Months: a comma list of YYYY-MM and/or ranges, e.g. 2018-01..2018-12,2019-07.")
@click.option("--pixel-size", type=float, default=200.0, show_default=True,
              help="R1 pixel size in metres (R2: twice as coarse); 10 gives real-size products.")
@click.option("--zip", "as_zip", is_flag=True,
              help="One zip per product, as Theia distributes them.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the landscape.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Processes [default: CPU count].")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory receiving the products.")
def sample(
    tiles: str | None,
    months: str,
    pixel_size: float,
    as_zip: bool,
    seed: int,
    workers: int | None,
    out: Path,
) -> None:
    """Write synthetic Theia L3A products (real layout) for France tiles and months."""
    from sample import generate_products
    from sample.months import expand_months

    counts = {True: 0, False: 0}

    def done(path: Path, written: bool) -> None:
        counts[written] += 1

    start = time.perf_counter()
    try:
        generate_products(
            out,
            tiles=_csv(tiles),
            months=expand_months(months),
            pixel_size=pixel_size,
            as_zip=as_zip,
            seed=seed,
            workers=workers,
            on_product=done,
        )
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    click.echo(
        f"sample: {counts[True]} products written, {counts[False]} already there, "
        f"in {time.perf_counter() - start:.1f} s -> {out}"
    )


def _data_dir_option(func):  # type: ignore[no-untyped-def]
    """``--data-dir``: the option, else MOSAIQUE_DATA_DIR, else ./data."""
    return click.option(
        "--data-dir",
        default=None,
        help="Data directory of published months [default: $MOSAIQUE_DATA_DIR, else ./data]; "
             "`serve` also takes an http(s):// or s3:// prefix.",
    )(func)


def _settings(data_dir: str | None, **overrides: object):  # type: ignore[no-untyped-def]
    from app.logs import setup_logging
    from app.settings import Settings

    values = {k: v for k, v in overrides.items() if v is not None}
    settings = Settings(**({"data_dir": str(data_dir)} if data_dir else {}), **values)
    setup_logging(settings.log_level, settings.log_json)
    return settings


@main.command()
@click.option("--month", required=True, help="Month to build, YYYY-MM.")
@click.option("--input", "inputs", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Products: folders of products, product folders or zips (repeat, or list after it).")
@click.argument("more_inputs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--zoom", type=click.IntRange(0, 18), default=None,
              help="Output WebMercatorQuad zoom [default: the coarsest keeping every source pixel, 14 for 10 m]; "
                   "a coarser zoom makes a lighter product (13 for 10 m: about 13 m, drops ~42 % of the pixels), "
                   "named as such in the manifest, /api/months and `mosaique months`.")
@click.option("--scheduler", default=None,
              help="Dask scheduler address (tcp://...), or 'sync' to run in this process "
                   "[default: $MOSAIQUE_DASK_SCHEDULER, else a LocalCluster sized to the machine].")
@click.option("--workers", type=click.IntRange(1), default=None, help="LocalCluster workers [default: cores].")
@click.option("--keep", type=click.IntRange(1), default=None, help="Builds kept per month [default: 3].")
@click.option("--progress/--no-progress", default=None, help="Progress bar [default: on a terminal].")
@click.option("--force", is_flag=True, help="Build even if the published build has the same inputs.")
@click.option("--verify-inputs", is_flag=True,
              help="Validate and checksum every input again (zip CRCs included), not only those whose size, "
                   "mtime, inode or device changed since the published build; implies a new build.")
@_data_dir_option
def build(
    month: str,
    inputs: tuple[Path, ...],
    more_inputs: tuple[Path, ...],
    zoom: int | None,
    scheduler: str | None,
    workers: int | None,
    keep: int | None,
    progress: bool | None,
    force: bool,
    verify_inputs: bool,
    data_dir: str | None,
) -> None:
    """Build a month's France mosaic from L3A products and publish it atomically.

    Exit codes: 0 published; 3 published, but bad products were skipped (listed); 1 nothing
    published (no valid product, another build of the month running, or an error).
    """
    from mosaic.build import BuildFailed, BuildOptions, build_month
    from mosaic.store import BuildAlreadyRunning
    from processing.naming import parse_month

    try:
        parse_month(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    settings = _settings(data_dir, dask_scheduler=scheduler, build_workers=workers, keep_builds=keep)
    options = BuildOptions(zoom=zoom, scheduler=settings.dask_scheduler, workers=settings.build_workers,
                           keep_builds=settings.keep_builds, progress=progress, force=force,
                           verify_inputs=verify_inputs)
    try:
        report = build_month(settings.local_data_dir(), month, [*inputs, *more_inputs], options)
    except (BuildFailed, BuildAlreadyRunning) as exc:
        click.echo(f"build failed: {exc}", err=True)
        sys.exit(1)
    for problem in report.skipped:
        click.echo(f"skipped {problem}", err=True)
    if report.other_months:
        click.echo(f"ignored {report.other_months} products of other months", err=True)
    if report.up_to_date:
        click.echo(f"{report.month} is up to date: build {report.build_id} has the same inputs (--force rebuilds)")
        sys.exit(report.exit_code)
    click.echo(
        f"published {report.month} build {report.build_id}: {report.built_regions} regions built, "
        f"{report.reused_regions} reused, {report.reused_parts} parts reused, "
        f"{len(report.skipped)} products skipped, {report.timings['total']:.1f} s"
    )
    sys.exit(report.exit_code)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalog entries as JSON.")
@_data_dir_option
def months(as_json: bool, data_dir: str | None) -> None:
    """List the published months."""
    from mosaic.documents import Coverage
    from mosaic.store import DataStore

    settings = _settings(data_dir)
    entries = DataStore(settings.local_data_dir()).read_catalog().months
    if as_json:
        click.echo(json.dumps([{"month": m, **e.to_json()} for m, e in entries.items()], indent=1))
        return
    if not entries:
        click.echo(f"no published month in {settings.data_dir}")
    for month, e in entries.items():
        cov = e.coverage or Coverage()
        label = e.resolution.label if e.resolution else f"zoom {e.zoom}"
        click.echo(
            f"{month}  build {e.build_id}  {e.products} products  {label}  "
            f"land {cov.land:.1f}% water {cov.water:.1f}% snow {cov.snow:.1f}% "
            f"cloud {cov.cloud:.1f}% no data {cov.nodata:.1f}%  missing tiles {len(e.missing_tiles or [])}"
        )


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--month", default=None, help="Refuse products of other months.")
def check(paths: tuple[Path, ...], month: str | None) -> None:
    """Validate L3A products (folders, zips, or folders of them) and report each one.

    Exit code 0 when every product is valid, 3 when some were refused.
    """
    from processing.scan import scan_products

    _settings(None)
    result = scan_products(paths, month=month)
    for p in result.products:
        click.echo(f"ok       {p.name}  {p.tile} {p.month} EPSG:{p.epsg} {p.grids['R1'].res:g} m")
        for w in p.warnings:
            click.echo(f"  warning: {w}")
    for problem in result.problems:
        click.echo(f"refused  {problem}")
    click.echo(f"{len(result.products)} valid, {len(result.problems)} refused")
    sys.exit(3 if result.problems else 0)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Server processes [default: $MOSAIQUE_WORKERS, else 1].")
@_data_dir_option
def serve(host: str, port: int, workers: int | None, data_dir: str | None) -> None:
    """Serve the published months (tiles, TileJSON, point queries) over HTTP."""
    import os

    import uvicorn

    from mosaic.malloc import limit_malloc_arenas

    settings = _settings(data_dir, workers=workers)
    limit_malloc_arenas(settings.malloc_arenas)  # before any reading thread starts
    # Worker processes build the app from the environment: hand them the resolved data directory.
    os.environ["MOSAIQUE_DATA_DIR"] = settings.data_dir if settings.remote else str(settings.local_data_dir())
    click.echo(f"serving {settings.data_dir} on http://{host}:{port}")
    uvicorn.run(
        "app.main:create_app", factory=True, host=host, port=port, workers=settings.workers,
        http="httptools", loop="uvloop", log_level=settings.log_level.lower(), access_log=False,
    )


if __name__ == "__main__":
    main()
