"""MTD_ALL.xml parsing: tolerant of namespaces and missing optional elements."""

from __future__ import annotations

import pytest

from processing.errors import BadMetadata
from processing.metadata import parse_mtd

FULL = b"""<?xml version="1.0" encoding="UTF-8"?>
<Muscate_Metadata_Document xmlns="http://example.org/muscate">
  <Dataset_Identification>
    <IDENTIFIER>SENTINEL2X_20180815-000000-000_L3A_T31TCJ_D_V1-1</IDENTIFIER>
    <GEOGRAPHICAL_ZONE type="Tile">T31TCJ</GEOGRAPHICAL_ZONE>
  </Dataset_Identification>
  <Product_Characteristics>
    <ACQUISITION_DATE>2018-08-15T00:00:00.000Z</ACQUISITION_DATE>
    <PRODUCTION_DATE>2018-09-20T08:00:00.000Z</PRODUCTION_DATE>
    <PRODUCT_VERSION>1.1</PRODUCT_VERSION>
    <PRODUCT_LEVEL>L3A</PRODUCT_LEVEL>
    <PLATFORM>SENTINEL2X</PLATFORM>
    <Band_Group_List>
      <Group group_id="R1"><Band_List><BAND_ID>B2</BAND_ID><BAND_ID>B3</BAND_ID></Band_List></Group>
    </Band_Group_List>
    <Unknown_Extra_Element>ignored</Unknown_Extra_Element>
  </Product_Characteristics>
  <Product_Organisation><Muscate_Product>
    <Image_List><Image><Image_File_List>
      <IMAGE_FILE band_id="B2">X_FRC_B2.tif</IMAGE_FILE>
    </Image_File_List></Image></Image_List>
    <Mask_List><Mask>
      <Mask_Properties><NATURE>Pixel_Status_Flag</NATURE></Mask_Properties>
      <Mask_File_List><MASK_FILE group_id="R1">MASKS/X_FLG_R1.tif</MASK_FILE></Mask_File_List>
    </Mask></Mask_List>
  </Muscate_Product></Product_Organisation>
  <Geoposition_Informations>
    <Horizontal_Coordinate_System><HORIZONTAL_CS_CODE>32631</HORIZONTAL_CS_CODE></Horizontal_Coordinate_System>
    <Group_Geopositioning_List>
      <Group_Geopositioning group_id="R1"><ULX>300000</ULX><ULY>4900020</ULY><XDIM>10</XDIM>
        <YDIM>-10</YDIM><NROWS>10980</NROWS><NCOLS>10980</NCOLS></Group_Geopositioning>
    </Group_Geopositioning_List>
  </Geoposition_Informations>
  <Radiometric_Informations>
    <REFLECTANCE_QUANTIFICATION_VALUE>10000</REFLECTANCE_QUANTIFICATION_VALUE>
    <Special_Values_List><SPECIAL_VALUE name="nodata">-10000</SPECIAL_VALUE></Special_Values_List>
  </Radiometric_Informations>
  <Quality_Informations><QUALITY_INDEX name="CloudPercent">7</QUALITY_INDEX></Quality_Informations>
</Muscate_Metadata_Document>
"""


def test_parse_full_document_with_namespace() -> None:
    meta = parse_mtd(FULL, "x.xml")
    assert meta.tile == "T31TCJ"
    assert meta.product_level == "L3A"
    assert meta.acquisition_date is not None and meta.acquisition_date.month == 8
    assert meta.epsg == 32631
    assert meta.nodata == -10000 and meta.quantification == 10000
    assert meta.band_groups == {"R1": ["B2", "B3"]}
    assert meta.image_files == {"B2": "X_FRC_B2.tif"}
    assert meta.mask_files == {"FLG_R1": "MASKS/X_FLG_R1.tif"}
    assert meta.geopositions["R1"].ncols == 10980
    assert meta.cloud_percent == 7 and meta.snow_percent is None


def test_minimal_document_uses_defaults() -> None:
    meta = parse_mtd(b"<Muscate_Metadata_Document/>", "x.xml")
    assert meta.tile is None and meta.epsg is None
    assert meta.nodata == -10000 and meta.quantification == 10000


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<Muscate_Metadata_Document><unclosed>", "malformed XML"),
        (b"", "malformed XML"),
        (b"<Other_Document/>", "not <Muscate_Metadata_Document>"),
        (
            b"<Muscate_Metadata_Document><HORIZONTAL_CS_CODE>Lambert</HORIZONTAL_CS_CODE>"
            b"</Muscate_Metadata_Document>",
            "not an EPSG code",
        ),
    ],
)
def test_bad_documents_name_the_file_and_reason(data: bytes, reason: str) -> None:
    with pytest.raises(BadMetadata) as info:
        parse_mtd(data, "PRODUCT: PRODUCT_MTD_ALL.xml")
    assert "PRODUCT_MTD_ALL.xml" in str(info.value)
    assert reason in str(info.value)
