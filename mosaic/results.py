"""What a build's tasks return: a product's part (or why it was skipped) and a region's files.

Plain picklable dataclasses (they cross Dask's process boundary); nothing here is parsed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mosaic.compose import RegionResult
from mosaic.documents import RegionRecord
from mosaic.parts import Part


@dataclass(frozen=True)
class PartMade:
    """A product warped onto the grid (or found already warped in the month's parts folder)."""

    tile: str
    checksum: str
    key: str
    """The part's file name (without ``.tif``): its product's checksum and the grid."""
    part: Part
    reused: bool
    timings: dict[str, float] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    """Region id -> digest of what the region reads of the part (:mod:`mosaic.digests`); empty when the
    part was found cached without a task."""


@dataclass(frozen=True)
class PartSkipped:
    """A product that turned out unreadable: the build goes on without it."""

    tile: str
    product: str
    reason: str


PartOutcome = PartMade | PartSkipped


@dataclass(frozen=True)
class RegionMade:
    """A region composited from parts, or linked from the previous build when its parts are the same."""

    result: RegionResult
    """Its files (absolute paths in the build folder) and pixel counts."""
    inputs: list[str]
    """Keys of the parts it was made of, sorted."""
    reused: bool = False
    """Linked from the previous build (its parts, or what it reads of them, are the same), not composited."""
    digests: dict[str, str] = field(default_factory=dict)
    """Part key -> the part's digest for this region (:mod:`mosaic.digests`), where known."""

    @property
    def region(self) -> str:
        """Region id ``z-x-y``."""
        return self.result.region

    @property
    def files(self) -> dict[str, str]:
        """Layer name -> COG path (empty when no pixel of the region holds data)."""
        return self.result.files

    def record(self) -> RegionRecord:
        """The manifest's record of the region (file names relative to its folder)."""
        r = self.result
        files = {k: os.path.basename(v) for k, v in r.files.items()}
        return RegionRecord(region=r.region, inputs=self.inputs, files=files, france_flags=r.france_flags,
                            part_flags=r.part_flags, part_wins=r.part_wins, timings=r.timings,
                            digests=self.digests, reused=self.reused)

    @classmethod
    def relinked(cls, record: RegionRecord, out: Path, inputs: list[str], digests: dict[str, str]) -> RegionMade:
        """The previous build's region as this build's, its files linked into ``out``, made of the parts
        ``inputs`` (keys, sorted) whose ``digests`` are known."""
        result = RegionResult(record.region, {k: str(out / Path(v).name) for k, v in record.files.items()},
                              record.france_flags, record.part_flags, record.part_wins, record.timings)
        return cls(result, inputs, reused=True, digests=digests)


def made(outcomes: list[PartOutcome]) -> list[PartMade]:
    """The parts that were made."""
    return [o for o in outcomes if isinstance(o, PartMade)]
