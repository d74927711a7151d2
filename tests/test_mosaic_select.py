"""The overlap rule on arrays: valid > cloud > no data, nearest centre, then tile order."""

from __future__ import annotations

import itertools

import numpy as np

from mosaic.select import RANK, Compositor, flag_counts, ranks
from processing.layout import NODATA, Flag


def obs(value: int, flag: int, shape: tuple[int, int] = (2, 3)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform observation: 2 bands of ``value``, flag, date = value."""
    bands = np.full((2, *shape), value if flag else NODATA, np.int16)
    return bands, np.full(shape, flag, np.uint8), np.full(shape, value if flag else NODATA, np.int16)


def composite(observations: list[tuple[int, int, float]]) -> Compositor:
    """Feed (value, flag, distance2) observations in the given order."""
    comp = Compositor((2, 3), 2)
    for i, (value, flag, d2) in enumerate(observations):
        comp.feed(*obs(value, flag), d2, i)
    return comp


def test_valid_beats_cloud_beats_nodata_in_any_order() -> None:
    cases = [(1, Flag.NODATA, 0.0), (2, Flag.CLOUD, 0.0), (3, Flag.LAND, 9.0)]
    for order in itertools.permutations(cases):
        comp = composite(list(order))
        assert (comp.bands == 3).all() and (comp.flags == Flag.LAND).all()
    comp = composite([(1, Flag.NODATA, 0.0), (2, Flag.CLOUD, 5.0)])
    assert (comp.flags == Flag.CLOUD).all() and (comp.dates == 2).all()


def test_water_and_snow_are_valid_observations() -> None:
    for flag in (Flag.WATER, Flag.SNOW):
        comp = composite([(2, Flag.CLOUD, 0.0), (7, flag, 100.0)])
        assert (comp.flags == flag).all()


def test_equal_rank_goes_to_the_nearest_centre_then_first_fed() -> None:
    assert (composite([(1, Flag.LAND, 50.0), (2, Flag.LAND, 10.0)]).bands == 2).all()
    assert (composite([(1, Flag.LAND, 10.0), (2, Flag.LAND, 50.0)]).bands == 1).all()
    tie = composite([(1, Flag.LAND, 10.0), (2, Flag.LAND, 10.0)])
    assert (tie.bands == 1).all() and (tie.source == 0).all()


def test_nothing_valid_stays_nodata_and_transparent() -> None:
    comp = composite([(1, Flag.NODATA, 0.0)])
    assert (comp.bands == NODATA).all() and not comp.valid.any() and (comp.source == -1).all()


def test_per_pixel_choice_with_distance_arrays() -> None:
    comp = Compositor((1, 2), 1)
    a = np.array([[[10, 10]]], np.int16)
    b = np.array([[[20, 20]]], np.int16)
    flags = np.full((1, 2), Flag.LAND, np.uint8)
    comp.feed(a, flags, flags.astype(np.int16), np.array([[1.0, 9.0]]), 0)
    comp.feed(b, flags, flags.astype(np.int16), np.array([[5.0, 5.0]]), 1)
    assert comp.bands.tolist() == [[[10, 20]]]


def test_ranks_and_flag_counts_agree_with_the_table_and_bincount() -> None:
    flags = np.random.default_rng(3).integers(0, 256, (64, 96)).astype(np.uint8)
    flags[:8] = np.arange(8)[:, None]  # every WASP code 0-6 and beyond
    assert (ranks(flags) == RANK[flags]).all() and ranks(flags).dtype == np.int8
    where = np.random.default_rng(4).random(flags.shape) > 0.5
    assert flag_counts(flags) == np.bincount(flags.ravel(), minlength=256)[:5].tolist()
    assert flag_counts(flags, where) == np.bincount(flags[where], minlength=256)[:5].tolist()
