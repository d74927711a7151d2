"""The documents a build publishes and the server reads: ``manifest.json`` and ``catalog.json``.

Defined once, as pydantic models: :mod:`mosaic.build` and :mod:`mosaic.publish` write them,
:mod:`mosaic.catalog` (and through it the server) reads them. The JSON keeps the field names
map clients and older tools read. Fields unknown to this version are kept (``extra="allow"``)
and fields added after the first builds have defaults, so manifests and catalogs written by
older builds still read, and a catalog rewritten by a publish keeps what it held.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Document(BaseModel):
    """A JSON document or a part of one (unknown fields are kept)."""

    model_config = ConfigDict(extra="allow")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready content: the fields given or read (a field an older build did not write stays out)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Resolution(Document):
    """What a grid keeps of its sources (:func:`mosaic.grid.resolution`): the contract of ``/api/months``."""

    zoom: int
    ground_m: float
    full: bool
    label: str
    source_pixel_m: float


class Coverage(Document):
    """Share of pixels (percent) by FLG class."""

    nodata: float = 0.0
    cloud: float = 0.0
    snow: float = 0.0
    water: float = 0.0
    land: float = 0.0


class GridInfo(Document):
    """The output grid of a build (:meth:`mosaic.grid.OutputGrid.describe`)."""

    tms: str = "WebMercatorQuad"
    crs: str = "EPSG:3857"
    zoom: int
    region_zoom: int
    resolution: Resolution | float | None = None
    """What the grid keeps of the sources; builds before the rule recorded the pixel size in metres."""
    ground_resolution_at_46_5N: float | None = None  # noqa: N815 - the manifest's key
    region_size_px: int | None = None

    @property
    def kept(self) -> Resolution | None:
        """The recorded :class:`Resolution` (None for builds made before it was recorded)."""
        return self.resolution if isinstance(self.resolution, Resolution) else None


class InputRecord(Document):
    """One product a build used."""

    name: str
    tile: str
    path: str
    size: int
    sha256: str
    fingerprint: str | None = None
    """Size, mtime, inode and device of its files (:func:`processing.identity.fingerprint`)."""
    product: dict[str, Any] | None = None
    """What :meth:`processing.product.L3AProduct.from_record` needs to trust it unread."""
    version: str
    synthesis_date: str
    part: str
    """Key of its cached part (the file name in the month's parts folder, without ``.tif``)."""
    coverage: Coverage
    mosaic_pixels: int = 0
    warnings: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)


class SkippedRecord(Document):
    """A product left out of a build, and why."""

    product: str
    reason: str
    kind: str


class LayerRecord(Document):
    """A published layer: VRT over the region COGs and an overview COG of the whole month."""

    vrt: str
    overview: str
    overview_maxzoom: int
    bands: list[str]
    dtype: str
    nodata: int | float | None
    description: str
    block_index: str | None = None
    """The overview COG's block index (true colour, builds since issue 13: :mod:`mosaic.blockindex`)."""


class RegionRecord(Document):
    """One region of a build: the parts it was made of, its files and pixel counts."""

    region: str
    """Region id ``z-x-y``."""
    inputs: list[str]
    """Keys of the parts it was composited from (a rebuild reuses it when they are the same)."""
    files: dict[str, str]
    """Layer name -> file name in ``regions/<region>/`` (empty: no pixel of the region holds data); and, since
    issue 13, ``truecolor.blocks`` -> the true-colour COG's block index (:mod:`mosaic.blockindex`)."""
    france_flags: list[int]
    part_flags: dict[str, list[int]]
    part_wins: dict[str, int]
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds spent compositing and writing COGs (by the build that composited it)."""
    digests: dict[str, str] = Field(default_factory=dict)
    """Part key -> digest of what the region reads of that part (:mod:`mosaic.digests`, builds since issue 12):
    a rebuild keeps the region when its parts' digests are the same, even if their keys are not."""
    reused: bool = False
    """Linked from the previous build rather than composited by this one."""


class Manifest(Document):
    """``manifest.json`` of a build: inputs, skipped products, coverage, layers, regions, timings."""

    build_id: str
    month: str
    created: str
    software: dict[str, str] = Field(default_factory=dict)
    grid: GridInfo
    bounds: list[float]
    """West, south, east, north in degrees."""
    bounds_3857: list[float]
    coverage: Coverage
    coverage_scope: str = ""
    missing_tiles: list[str] = Field(default_factory=list)
    inputs: list[InputRecord]
    skipped: list[SkippedRecord] = Field(default_factory=list)
    layers: dict[str, LayerRecord]
    regions: dict[str, RegionRecord]
    timings: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def read(cls, build_dir: Path | None) -> Manifest | None:
        """A local build's manifest, or None (no folder, no manifest, unreadable)."""
        if build_dir is None:
            return None
        try:
            return cls.model_validate_json((build_dir / "manifest.json").read_bytes())
        except (OSError, ValueError):
            return None

    def filled_regions(self) -> list[str]:
        """Ids of the regions that hold data, sorted."""
        return sorted(rid for rid, r in self.regions.items() if r.files)


class CatalogEntry(Document):
    """The catalog's summary of a month's published build."""

    build_id: str
    path: str
    """The build folder, relative to the data directory."""
    published: str | None = None
    bounds: list[float]
    zoom: int
    region_zoom: int
    resolution: Resolution | None = None
    coverage: Coverage | None = None
    products: int | None = None
    missing_tiles: list[str] | None = None

    @classmethod
    def of(cls, manifest: Manifest, path: str, published: str | None = None) -> CatalogEntry:
        """The entry of a build from its manifest (``published``: when it entered the catalog)."""
        return cls(build_id=manifest.build_id, path=path, published=published, bounds=manifest.bounds,
                   zoom=manifest.grid.zoom, region_zoom=manifest.grid.region_zoom, resolution=manifest.grid.kept,
                   coverage=manifest.coverage, products=len(manifest.inputs), missing_tiles=manifest.missing_tiles)


class CatalogDocument(Document):
    """``catalog.json``: the published build of each month."""

    version: int = 1
    months: dict[str, CatalogEntry] = Field(default_factory=dict)
    updated: str | None = None

    @classmethod
    def parse(cls, text: str | bytes) -> CatalogDocument:
        """The catalog from its JSON text (raises ``ValueError`` if it is not one)."""
        return cls.model_validate_json(text)

    def build_id(self, month: str) -> str | None:
        """The published build of ``month``, or None."""
        entry = self.months.get(month)
        return entry.build_id if entry else None
