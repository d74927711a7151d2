"""Publishing a finished build: from its temporary folder to the catalog, then pruning.

The order is what keeps a month whole whatever stops the build (a kill, a full disk): the
build folder is complete (manifest and STAC Item written) before it is renamed into place, and
the catalog is swapped in one atomic replace after that. Overview rasters kept for the next
rebuild are staged as temporary files before the swap and promoted after it, so a build that
dies halfway leaves only files that the next build removes (:meth:`DataStore.clean_leftovers`).
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from mosaic import manifest as mf
from mosaic.documents import CatalogEntry, Manifest
from mosaic.store import DataStore, remove_strays, write_json_atomic

log = logging.getLogger("mosaique.build")


def overview_name(layer: str, build_id: str) -> str:
    """File name, in the month's parts folder, of a build's uncompressed overview raster of a layer."""
    return f"overview-{layer}-{build_id}.tif"


def _staged(path: Path) -> Path:
    """Where ``path`` waits until the build is published (a stray for the next build if it is not)."""
    return path.with_name(f".{path.name}.tmp")


def publish_build(store: DataStore, tmp: Path, manifest: Manifest, overviews: dict[str, Path], keep: int) -> Path:
    """Publish the build assembled in ``tmp``; return its final folder.

    Writes the manifest and STAC Item, stages the layers' overview rasters (``overviews``, by
    layer) in the month's parts folder, renames the folder into place, points the catalog at it,
    then keeps the ``keep`` newest builds and the parts they use.
    """
    month, build_id = manifest.month, manifest.build_id
    write_json_atomic(tmp / "manifest.json", manifest.to_json())
    write_json_atomic(tmp / "item.json", mf.stac_item(manifest))
    kept = {name: store.parts_dir(month) / overview_name(name, build_id) for name in overviews}
    for name, path in overviews.items():  # for the next rebuild; a stray until published
        os.replace(path, _staged(kept[name]))
    shutil.rmtree(tmp / "work", ignore_errors=True)
    remove_strays(tmp)  # files of tasks killed with their worker (and run again by Dask)
    final = store.build_dir(month, build_id)
    os.rename(tmp, final)
    published = datetime.now(UTC).isoformat(timespec="seconds")
    store.publish(month, CatalogEntry.of(manifest, final.relative_to(store.root).as_posix(), published))
    for path in kept.values():
        os.replace(_staged(path), path)
    remove_strays(store.parts_dir(month))
    for pruned in store.prune(month, keep):
        log.info("pruned old build %s of %s", pruned, month)
    _prune_parts(store, month, {p.stem for p in kept.values()})
    return final


def _prune_parts(store: DataStore, month: str, keep: set[str]) -> None:
    """Delete cached parts no kept build uses, and overview rasters (names) not in ``keep``."""
    used = set(keep)
    for build in store.builds_dir(month).iterdir():
        manifest = Manifest.read(build) if not build.name.startswith(".") else None
        used |= {i.part for i in (manifest.inputs if manifest else [])}
    for part in store.parts_dir(month).iterdir():
        if part.name.startswith(".") or (part.name if part.is_dir() else part.stem) in used:
            continue
        if part.is_dir():  # a part's slabs (mosaic.parts)
            shutil.rmtree(part, ignore_errors=True)
        else:  # its VRT; parts and overview rasters of older formats
            part.unlink(missing_ok=True)
