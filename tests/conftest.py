"""Session fixtures: sample months published once and shared by the test modules; the page
modules' Chromium.

Shared data is read-only: a test that changes files, republishes or builds takes ``france_copy``
(or keeps a fixture of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.helpers import (
    FRANCE_MONTHS,
    FRANCE_TILES,
    PIXEL,
    YEAR_MONTHS,
    YEAR_TILE,
    copy_published,
    published_months,
    serving,
)
from tests.pages import ARGS, CHROMIUM
from tests.planted import planted_months


@pytest.fixture(scope="session")
def france(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two France-sample tiles, two months, published at 2000 m; the inputs are in ``france.parent / "in"``."""
    return published_months(tmp_path_factory.mktemp("france"), FRANCE_TILES, FRANCE_MONTHS, pixel_size=PIXEL)


@pytest.fixture(scope="session")
def france_server(france: Path) -> Iterator[str]:
    """A real `mosaique serve` on ``france``; its base URL."""
    with serving(france) as url:
        yield url


@pytest.fixture()
def france_copy(france: Path, tmp_path: Path) -> Path:
    """A copy of ``france`` (and its inputs, in ``tmp_path / "in"``) that the test may change."""
    return copy_published(france, tmp_path)


@pytest.fixture(scope="session")
def planted_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Months with changes planted in the products (tests/planted.py): the root of ``in`` and ``data``."""
    return planted_months(tmp_path_factory.mktemp("planted")).parent


@pytest.fixture(scope="session")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tile over the Alps, the twelve months of 2018, published at 2000 m."""
    return published_months(tmp_path_factory.mktemp("year"), [YEAR_TILE], YEAR_MONTHS, pixel_size=PIXEL)


@pytest.fixture(scope="session")
def year_server(year: Path) -> Iterator[str]:
    """A real `mosaique serve` on ``year``; its base URL."""
    with serving(year) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, one per test module (page modules skip where it is missing)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()
