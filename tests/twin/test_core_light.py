"""The digital twin's pure modules load no engine and no database library (checked in a fresh interpreter)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("ifcopenshell", "simpy", "pyvista", "vtk", "plotly", "streamlit", "sqlalchemy", "alembic")


def _loaded(module: str) -> set[str]:
    code = (f"import json, sys\nimport {module}\n"
            f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", ["twin.progress", "twin.status", "twin.forecast", "twin.report"])
def test_pure_module_loads_no_engine(module):
    assert _loaded(module) == set()


def test_the_store_does_load_sqlalchemy():
    assert "sqlalchemy" in _loaded("twin.store")


def test_the_migrations_ship_as_a_package():
    from alembic.script import ScriptDirectory

    from twin.store.migrate import MIGRATIONS, alembic_config

    assert (MIGRATIONS / "__init__.py").exists() and (MIGRATIONS / "versions" / "__init__.py").exists()
    revs = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    assert revs == ["0002", "0001"]
