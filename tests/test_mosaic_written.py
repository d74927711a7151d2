"""Rasters written through mosaic.written: closed raising GDAL's errors, read back, ENOSPC on a full disk."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from mosaic.written import check_complete, close, flushed, written

gdal.UseExceptions()


def _create(path: Path, size: int = 1024) -> gdal.Dataset:
    return gdal.GetDriverByName("GTiff").Create(str(path), size, size, 3, gdal.GDT_Byte,
                                                ["TILED=YES", "INTERLEAVE=PIXEL"])


def _write(path: Path, size: int = 1024) -> None:
    """A pixel-interleaved GTiff of random pixels with a mask band and overviews, as the region scratch files are."""
    rng = np.random.default_rng(0)
    with written(path), flushed(_create(path, size)) as ds:
        ds.WriteArray(rng.integers(0, 255, (3, size, size), dtype=np.uint8))
        ds.CreateMaskBand(gdal.GMF_PER_DATASET)
        ds.GetRasterBand(1).GetMaskBand().WriteArray(np.full((size, size), 255, np.uint8))
        ds.BuildOverviews("AVERAGE", [2, 4])


def test_a_complete_file_passes_and_a_file_cut_short_does_not(tmp_path: Path) -> None:
    path = tmp_path / "a.tif"
    _write(path)
    check_complete(path)
    ds = gdal.Open(str(path))  # closed: the file is whole and readable
    assert ds.GetRasterBand(1).GetOverviewCount() == 2
    assert ds.GetRasterBand(1).GetMaskBand().Checksum() > 0
    ds = None
    os.truncate(path, path.stat().st_size - 100)
    with pytest.raises(RuntimeError, match=r"past the end of the file"):
        check_complete(path)


def test_close_raises_and_the_dataset_can_then_be_dropped(tmp_path: Path) -> None:
    ds = _create(tmp_path / "b.tif")
    close(ds)
    del ds  # the bindings' destructor does nothing a second time
    assert gdal.Open(str(tmp_path / "b.tif")).RasterXSize == 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "--lazy", str(mnt)], check=True)


def test_a_full_disk_raises_enospc_naming_the_file(tiny_disk: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = tiny_disk / "big.tif"
    with pytest.raises(OSError, match="No space left on device") as caught:
        _write(path, 2048)  # 12 MB of pixels on a 1 MB disk
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(path)
    assert "Exception ignored" not in capfd.readouterr().err  # the half-written file was closed quietly
