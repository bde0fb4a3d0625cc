"""Shared fixtures: paths to the reference files in ../shared, skipped with a reason when absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TWIN_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test saying what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference file {path} is absent (../shared is only guaranteed in CI)")
    return path


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is absent (../shared is only guaranteed in CI)")
    return SHARED
