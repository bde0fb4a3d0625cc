"""Fixtures for the schedule importer tests: sample paths and MPXJ (the Java library) as a reference.

MPXJ is the reference reader and writer nobody here wrote: tests read our MSPDI output with it and
let it write P6 XML from the MS Project samples. It needs the ``mpxj`` and ``jpype1`` packages and a
Java runtime; tests that use it skip with a reason when any is missing.
"""
from __future__ import annotations

from pathlib import Path

import os

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TWIN_SHARED", ROOT.parent / "shared"))   # as tests/conftest.py does


@pytest.fixture
def sample(shared: Path):
    """sample('schedules/msp_relations.xml') -> path under ../shared/samples, or skip."""

    def get(name: str) -> Path:
        path = shared / "samples" / name
        if not path.exists():
            pytest.skip(f"reference file {path} is absent")
        return path

    return get


@pytest.fixture(scope="session")
def mpxj():
    """The MPXJ Java package (``org.mpxj``) through JPype, the JVM started once per session."""
    jpype = pytest.importorskip("jpype", reason="jpype1 is needed to run MPXJ")
    pytest.importorskip("mpxj", reason="the mpxj package (MPXJ jars) is not installed")
    try:
        jpype.getDefaultJVMPath()
    except jpype.JVMNotFoundException:
        pytest.skip("no Java runtime for MPXJ (install a JRE, e.g. default-jre-headless)")
    if not jpype.isJVMStarted():
        try:
            jpype.startJVM()
        except (OSError, RuntimeError, jpype.JVMNotFoundException) as exc:  # pragma: no cover
            pytest.skip(f"cannot start a JVM for MPXJ: {exc}")
    return jpype.JPackage("org").mpxj


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    """../shared/samples for module- and session-scoped fixtures (``shared`` is function-scoped)."""
    path = SHARED / "samples"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only guaranteed in CI)")
    return path
