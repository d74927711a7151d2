"""Parse a product's ``MTD_ALL.xml`` (Muscate metadata) into a typed model.

Real L3A metadata files are not public, so the parser is tolerant: XML namespaces are ignored,
elements are looked up by name wherever they sit, and every optional field may be missing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from pydantic import BaseModel, Field

from processing.errors import BadMetadata
from processing.layout import MASK_NATURES, NODATA, QUANTIFICATION

_KIND_OF_NATURE = {nature: kind for kind, nature in MASK_NATURES.items()}


class GroupGeoposition(BaseModel):
    """Grid of one resolution group as the metadata states it."""

    ulx: float
    uly: float
    xdim: float
    ydim: float
    nrows: int
    ncols: int


class ProductMetadata(BaseModel):
    """The fields of MTD_ALL.xml that Mosaïque uses; all optional but the root."""

    identifier: str | None = None
    tile: str | None = None
    acquisition_date: datetime | None = None
    production_date: datetime | None = None
    product_level: str | None = None
    platform: str | None = None
    product_version: str | None = None
    epsg: int | None = None
    quantification: float = QUANTIFICATION
    nodata: float = NODATA
    band_groups: dict[str, list[str]] = Field(default_factory=dict)
    image_files: dict[str, str] = Field(default_factory=dict)
    """Band id -> path relative to the product folder."""
    mask_files: dict[str, str] = Field(default_factory=dict)
    """``{KIND}_{GROUP}`` (e.g. ``FLG_R1``) -> path relative to the product folder."""
    geopositions: dict[str, GroupGeoposition] = Field(default_factory=dict)
    cloud_percent: float | None = None
    snow_percent: float | None = None


def _strip_namespaces(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]


def _text(root: ET.Element, path: str) -> str | None:
    el = root.find(path)
    if el is None or el.text is None or not el.text.strip():
        return None
    return el.text.strip()


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def parse_mtd(data: bytes, source: str) -> ProductMetadata:
    """Parse MTD_ALL.xml bytes; ``source`` names the file in error messages."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadMetadata(source, f"malformed XML ({exc})") from None
    _strip_namespaces(root)
    if root.tag != "Muscate_Metadata_Document":
        raise BadMetadata(source, f"root element is <{root.tag}>, not <Muscate_Metadata_Document>")

    meta = ProductMetadata(
        identifier=_text(root, ".//Dataset_Identification/IDENTIFIER"),
        tile=_text(root, ".//GEOGRAPHICAL_ZONE"),
        acquisition_date=_date(_text(root, ".//ACQUISITION_DATE")),
        production_date=_date(_text(root, ".//PRODUCTION_DATE")),
        product_level=_text(root, ".//PRODUCT_LEVEL"),
        platform=_text(root, ".//PLATFORM"),
        product_version=_text(root, ".//PRODUCT_VERSION"),
    )
    epsg = _text(root, ".//HORIZONTAL_CS_CODE")
    if epsg is not None:
        try:
            meta.epsg = int(epsg.split(":")[-1])
        except ValueError:
            raise BadMetadata(source, f"HORIZONTAL_CS_CODE {epsg!r} is not an EPSG code") from None
    quantification = _number(_text(root, ".//REFLECTANCE_QUANTIFICATION_VALUE"))
    if quantification:
        meta.quantification = quantification
    for special in root.iter("SPECIAL_VALUE"):
        value = _number(special.text)
        if special.get("name", "").lower() == "nodata" and value is not None:
            meta.nodata = value

    for group in root.iter("Group"):
        gid = group.get("group_id")
        bands = [b.text.strip() for b in group.iter("BAND_ID") if b.text]
        if gid and bands:
            meta.band_groups[gid] = bands
    for image in root.iter("IMAGE_FILE"):
        if image.get("band_id") and image.text:
            meta.image_files[image.get("band_id")] = image.text.strip()
    for mask in root.iter("Mask"):
        kind = _KIND_OF_NATURE.get(_text(mask, ".//NATURE") or "")
        for mfile in mask.iter("MASK_FILE"):
            if kind and mfile.get("group_id") and mfile.text:
                meta.mask_files[f"{kind}_{mfile.get('group_id')}"] = mfile.text.strip()
    for geo in root.iter("Group_Geopositioning"):
        values = {k: _text(geo, k.upper()) for k in ("ulx", "uly", "xdim", "ydim", "nrows", "ncols")}
        if geo.get("group_id") and all(v is not None for v in values.values()):
            try:
                meta.geopositions[geo.get("group_id")] = GroupGeoposition(**values)
            except ValueError:
                raise BadMetadata(source, f"unreadable {geo.get('group_id')} geoposition") from None
    for index in root.iter("QUALITY_INDEX"):
        name = index.get("name", "")
        if name == "CloudPercent":
            meta.cloud_percent = _number(index.text)
        elif name == "SnowPercent":
            meta.snow_percent = _number(index.text)
    return meta
