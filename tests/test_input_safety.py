"""A product's rasters must be GeoTIFFs: a VRT (or any other format) posing as one could make the
build read any file on the machine, or fetch URLs (SSRF), and publish what it read."""

from __future__ import annotations

from pathlib import Path

import pytest
from osgeo import gdal

from processing import errors
from processing.product import L3AProduct
from tests.bad_products import asset, make


@pytest.mark.parametrize("target", ["secret.tif", "/vsicurl/http://127.0.0.1:9/secret.tif"])
def test_a_vrt_posing_as_a_band_is_refused(tmp_path: Path, target: str) -> None:
    product = make(tmp_path / "in")
    band = asset(product, "_FRC_B4.tif")
    secret = tmp_path / "secret.tif"  # a file outside the input that the VRT would publish
    gdal.Translate(str(secret), str(band))
    source = str(secret) if target == "secret.tif" else target
    vrt = gdal.BuildVRT("", [str(secret)])
    xml = vrt.GetMetadata("xml:VRT")[0].replace(str(secret), source)
    band.write_text(xml)
    with pytest.raises(errors.InvalidProduct) as refused:
        L3AProduct.open(product, month="2018-07")
    assert product.name in str(refused.value) and "_FRC_B4.tif" in str(refused.value)
    assert "not a GeoTIFF" in str(refused.value)
