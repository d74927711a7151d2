"""Errors raised while reading L3A products: one flat hierarchy under ``MosaiqueError``."""

from __future__ import annotations


class MosaiqueError(Exception):
    """Base class of every error Mosaïque raises on purpose."""


class InvalidProduct(MosaiqueError):
    """A product cannot be used; the message names the product and the reason."""

    def __init__(self, product: str, reason: str) -> None:
        super().__init__(f"{product}: {reason}")
        self.product = product
        self.reason = reason


class UnparsableName(InvalidProduct):
    """The product name does not follow the Theia L3A naming convention."""


class UnreadableArchive(InvalidProduct):
    """The zip is truncated, corrupt, or does not hold one product folder."""


class BadMetadata(InvalidProduct):
    """MTD_ALL.xml is missing, malformed, or disagrees with the product."""


class WrongLevel(InvalidProduct):
    """The product is not a Level-3A synthesis."""


class MissingAsset(InvalidProduct):
    """A band or mask file is absent."""


class UnreadableRaster(InvalidProduct):
    """A raster file exists but GDAL cannot read it (corrupt bytes)."""


class WrongDataType(InvalidProduct):
    """A raster has a data type other than the format's."""


class GridMismatch(InvalidProduct):
    """Band grids disagree with each other or with the tile's grid."""


class WrongCRS(InvalidProduct):
    """The CRS is not WGS 84 / UTM north, or not the zone of the tile id."""


class WrongMonth(InvalidProduct):
    """The product's synthesis month is not the requested month."""


class EmptyProduct(InvalidProduct):
    """The product holds no valid pixel (all no data)."""


class DuplicateProduct(InvalidProduct):
    """Another product of the same tile and month supersedes this one."""


class UnsafePath(InvalidProduct):
    """A path (symlink, or a file named by the metadata) leads outside the input that was given."""


class OutsideFrance(InvalidProduct):
    """The product's tile is not one of the France tiles: it adds nothing to a France mosaic."""


def exception_chain(exc: BaseException, limit: int = 8) -> list[BaseException]:
    """An exception and those it was raised from (``__cause__``, else ``__context__``), each once."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in chain) and len(chain) < limit:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_chain(exc: BaseException, limit: int = 8) -> str:
    """One line, ``Type: message <- Type: message``, of an exception and its causes (GDAL's real
    reason is often a cause: rasterio says "Read failed", its cause says why)."""
    return " <- ".join(dict.fromkeys(f"{type(e).__name__}: {e}" for e in exception_chain(exc, limit)))
