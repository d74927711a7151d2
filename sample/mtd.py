"""The Muscate metadata document (``<NAME>_MTD_ALL.xml``) of a sample product."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import numpy as np
from rasterio.crs import CRS
from rasterio.warp import transform

from processing.layout import (
    BANDS,
    GROUPS,
    MASK_KINDS,
    MASK_NATURES,
    NODATA,
    QUANTIFICATION,
    band_file,
    group_bands,
    mask_file,
    quicklook_file,
)
from processing.naming import ProductName
from sample.grid import Grid

_MASK_ENCODING = {"FLG": "byte", "DTS": "int16", "WGT": "int16"}


def _sub(parent: ET.Element, tag: str, text: object = None, **attrib: str) -> ET.Element:
    """Append a child element with optional text and attributes."""
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = str(text)
    return el


def _num(value: float) -> str:
    """A number as Muscate writes it: integers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _iso(when: datetime) -> str:
    """Muscate timestamp: 2018-07-15T00:00:00.000Z."""
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def build_mtd(
    name: ProductName,
    grids: dict[str, Grid],
    production: datetime,
    cloud_percent: int,
    snow_percent: int,
) -> ET.ElementTree:
    """The metadata document of one product."""
    stem = str(name)
    root = ET.Element("Muscate_Metadata_Document")
    ident = _sub(root, "Metadata_Identification")
    _sub(ident, "METADATA_FORMAT", "METADATA_MUSCATE", version="1.16")
    _sub(ident, "METADATA_PROFILE", "DISTRIBUTED")

    ds = _sub(root, "Dataset_Identification")
    for tag, text in (("IDENTIFIER", stem), ("AUTHORITY", "THEIA"), ("PRODUCER", "MUSCATE"),
                      ("PROJECT", "SENTINEL2")):
        _sub(ds, tag, text)
    _sub(ds, "GEOGRAPHICAL_ZONE", name.tile, type="Tile")

    pc = _sub(root, "Product_Characteristics")
    _sub(pc, "PRODUCT_ID", stem)
    _sub(pc, "ACQUISITION_DATE", _iso(name.synthesis))
    _sub(pc, "PRODUCTION_DATE", _iso(production))
    _sub(pc, "PRODUCT_VERSION", f"{name.version[0]}.{name.version[1]}")
    _sub(pc, "PRODUCT_LEVEL", name.level)
    _sub(pc, "PLATFORM", name.platform)
    bands = _sub(pc, "Band_Global_List", count=str(len(BANDS)))
    for b in BANDS:
        _sub(bands, "BAND_ID", b)
    groups = _sub(pc, "Band_Group_List")
    for g in GROUPS:
        blist = _sub(_sub(groups, "Group", group_id=g), "Band_List", count=str(len(group_bands(g))))
        for b in group_bands(g):
            _sub(blist, "BAND_ID", b)

    product = _sub(_sub(root, "Product_Organisation"), "Muscate_Product")
    _sub(product, "QUICKLOOK", quicklook_file(stem), bands_id="B4,B3,B2")
    image = _sub(_sub(product, "Image_List"), "Image")
    props = _sub(image, "Image_Properties")
    for tag, text in (("NATURE", "Flat_Reflectance"), ("FORMAT", "image/tiff"),
                      ("ENCODING", "int16"), ("ENDIANNESS", "LittleEndian"),
                      ("COMPRESSION", "None")):
        _sub(props, tag, text)
    files = _sub(image, "Image_File_List")
    for b in BANDS:
        _sub(files, "IMAGE_FILE", band_file(stem, b), band_id=b)
    masks = _sub(product, "Mask_List")
    for kind in MASK_KINDS:
        mask = _sub(masks, "Mask")
        mprops = _sub(mask, "Mask_Properties")
        _sub(mprops, "NATURE", MASK_NATURES[kind])
        _sub(mprops, "FORMAT", "image/tiff")
        _sub(mprops, "ENCODING", _MASK_ENCODING[kind])
        mfiles = _sub(mask, "Mask_File_List")
        for g in GROUPS:
            _sub(mfiles, "MASK_FILE", mask_file(stem, kind, g), group_id=g)

    _geoposition(_sub(root, "Geoposition_Informations"), grids)

    radio = _sub(root, "Radiometric_Informations")
    _sub(radio, "REFLECTANCE_QUANTIFICATION_VALUE", QUANTIFICATION)
    _sub(_sub(radio, "Special_Values_List"), "SPECIAL_VALUE", NODATA, name="nodata")

    quality = _sub(_sub(_sub(_sub(root, "Quality_Informations"), "Current_Product"),
                        "Product_Quality_List", level="Natif"), "Product_Quality")
    indices = _sub(quality, "Global_Index_List")
    _sub(indices, "QUALITY_INDEX", cloud_percent, name="CloudPercent")
    _sub(indices, "QUALITY_INDEX", snow_percent, name="SnowPercent")

    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def _geoposition(geo: ET.Element, grids: dict[str, Grid]) -> None:
    """CRS, corner points (with lon/lat) and the per-group grids."""
    r1 = grids["R1"]
    crs = CRS.from_epsg(r1.epsg)
    crs_el = _sub(geo, "Coordinate_Reference_System")
    _sub(crs_el, "GEO_TABLES", "EPSG", version="1.0")
    hcs = _sub(crs_el, "Horizontal_Coordinate_System")
    _sub(hcs, "HORIZONTAL_CS_TYPE", "PROJECTED")
    _sub(hcs, "HORIZONTAL_CS_NAME", f"WGS 84 / UTM zone {r1.epsg - 32600}N")
    _sub(hcs, "HORIZONTAL_CS_CODE", r1.epsg)

    positioning = _sub(geo, "Geopositioning")
    extent = r1.size * r1.res
    corners = {
        "upperLeft": (r1.ulx, r1.uly),
        "upperRight": (r1.ulx + extent, r1.uly),
        "lowerRight": (r1.ulx + extent, r1.uly - extent),
        "lowerLeft": (r1.ulx, r1.uly - extent),
        "center": (r1.ulx + extent / 2, r1.uly - extent / 2),
    }
    xs, ys = np.array(list(corners.values())).T
    lons, lats = transform(crs, CRS.from_epsg(4326), xs, ys)
    glob = _sub(positioning, "Global_Geopositioning")
    for (label, (x, y)), lon, lat in zip(corners.items(), lons, lats, strict=True):
        point = _sub(glob, "Point", name=label)
        _sub(point, "LAT", f"{lat:.12g}")
        _sub(point, "LON", f"{lon:.12g}")
        _sub(point, "X", _num(x))
        _sub(point, "Y", _num(y))
    groups = _sub(positioning, "Group_Geopositioning_List")
    for g, grid in grids.items():
        gp = _sub(groups, "Group_Geopositioning", group_id=g)
        for tag, value in (("ULX", grid.ulx), ("ULY", grid.uly), ("XDIM", grid.res),
                           ("YDIM", -grid.res), ("NROWS", grid.size), ("NCOLS", grid.size)):
            _sub(gp, tag, _num(value))


def write_mtd(path: Path, tree: ET.ElementTree) -> None:
    """Write the document as UTF-8 with an XML declaration."""
    tree.write(path, encoding="UTF-8", xml_declaration=True)
