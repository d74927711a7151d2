"""Theia product names: ``{PLATFORM}_{YYYYMMDD}-{HHMMSS}-{mmm}_L3A_{TILE}_{C|D}_V{major}-{minor}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from processing.errors import UnparsableName

_NAME = re.compile(
    r"^(?P<platform>SENTINEL2[ABX])_"
    r"(?P<date>\d{8})-(?P<time>\d{6})-(?P<millis>\d{3})_"
    r"(?P<level>L[0-9][A-Z])_"
    r"(?P<tile>T\d{2}[C-X][A-Z]{2})_"
    r"(?P<variant>[CD])_"
    r"V(?P<major>\d+)-(?P<minor>\d+)$"
)
MONTH_PATTERN = r"^(\d{4})-(0[1-9]|1[0-2])$"
"""A month id: ``YYYY-MM``."""
_MONTH = re.compile(MONTH_PATTERN)


@dataclass(frozen=True, order=True)
class ProductName:
    """The parts of a Theia product name."""

    platform: str
    synthesis: datetime
    level: str
    tile: str
    variant: str
    version: tuple[int, int]

    @classmethod
    def parse(cls, name: str) -> ProductName:
        """Parse a product (directory or zip) name; raise ``UnparsableName`` if it is not one."""
        stem = name[:-4] if name.lower().endswith(".zip") else name
        m = _NAME.match(stem)
        if m is None:
            raise UnparsableName(
                name,
                "not a Theia product name (expected e.g. "
                "SENTINEL2X_20180815-000000-000_L3A_T31TCJ_D_V1-1)",
            )
        try:
            when = datetime.strptime(m["date"] + m["time"], "%Y%m%d%H%M%S")
        except ValueError:
            raise UnparsableName(name, f"invalid date {m['date']}-{m['time']}") from None
        return cls(
            platform=m["platform"],
            synthesis=when.replace(microsecond=int(m["millis"]) * 1000),
            level=m["level"],
            tile=m["tile"],
            variant=m["variant"],
            version=(int(m["major"]), int(m["minor"])),
        )

    @property
    def month(self) -> str:
        """The product's month as ``YYYY-MM``."""
        return f"{self.synthesis:%Y-%m}"

    @property
    def zone(self) -> int:
        """UTM zone number of the tile."""
        return int(self.tile[1:3])

    def __str__(self) -> str:
        s = self.synthesis
        return (
            f"{self.platform}_{s:%Y%m%d}-{s:%H%M%S}-{s.microsecond // 1000:03d}_{self.level}_"
            f"{self.tile}_{self.variant}_V{self.version[0]}-{self.version[1]}"
        )


def parse_month(month: str) -> date:
    """Validate a ``YYYY-MM`` month id and return its first day."""
    m = _MONTH.match(month)
    if m is None:
        raise ValueError(f"invalid month {month!r}: expected YYYY-MM, e.g. 2018-07")
    return date(int(m[1]), int(m[2]), 1)
