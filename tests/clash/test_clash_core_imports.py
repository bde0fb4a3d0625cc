"""The pure clash modules load no engine (ifcopenshell, pyvista, ...) when imported."""
from __future__ import annotations

import pytest

from tests.test_core_imports import _loaded_after_import


@pytest.mark.parametrize("module", ["twin.clash", "twin.clashgeom", "twin.clashkern", "twin.gcpause", "twin.conflicts", "twin.bcf"])
def test_clash_core_module_loads_no_engine(module):
    assert _loaded_after_import(module) == set()
