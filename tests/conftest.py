"""Shared fixtures: the repository's catalogue and paths to submission fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.catalogue import find_catalogue, load_catalogue
from grader.sandbox import Limits

TESTS = Path(__file__).resolve().parent
SUBMISSIONS = TESTS / "submissions"
ROOT = TESTS.parent


@pytest.fixture(scope="session")
def catalogue_root() -> Path:
    return find_catalogue(ROOT)


@pytest.fixture(scope="session")
def catalogue(catalogue_root):
    return {ex.name: ex for ex in load_catalogue(catalogue_root)}


@pytest.fixture(scope="session")
def fast_limits() -> Limits:
    """Short per-call timeouts so the hostile fixtures keep the suite fast."""
    return Limits(wall_seconds=2.0)
