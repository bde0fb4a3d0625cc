"""The pure core imports none of the heavy engines (checked in a fresh interpreter)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("ifcopenshell", "simpy", "pyvista", "vtk", "plotly", "streamlit", "sqlalchemy")
CORE = ("twin", "twin.model", "twin.schedule", "twin.errors")


def _loaded_after_import(module: str) -> set[str]:
    code = (
        "import json, sys\n"
        f"import {module}\n"
        f"print(json.dumps(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in {list(HEAVY)!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", CORE)
def test_core_module_loads_no_engine(module):
    assert _loaded_after_import(module) == set()


def test_the_check_can_fail():
    """The same probe does see ifcopenshell when twin.ifc is imported."""
    assert "ifcopenshell" in _loaded_after_import("twin.ifc")

