"""Inline inputs for the viz tests: a small box building, its activities and links."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from twin.fourd import TaskWindow, WorkKind
from twin.model import Element, Mesh

_BOX_FACES = np.array([
    [0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
    [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7],
])


def box_mesh(lo, hi) -> Mesh:
    """Axis-aligned box as 8 vertices and 12 outward triangles."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], dtype=float)
    return Mesh(v, _BOX_FACES)


def box_building(storeys: int = 3, bays: int = 2, bay: float = 6.0, height: float = 3.5):
    """Columns and a slab per storey, one construct activity per storey (Mon-Fri weeks).

    Returns (meshes, elements, windows, links); storey k is built in week k+1 from 2025-03-03.
    """
    meshes, elements, links, windows = {}, {}, [], {}
    t0 = datetime(2025, 3, 3, 8)
    for k in range(storeys):
        aid = f"S{k + 1}"
        windows[aid] = TaskWindow(aid, t0 + timedelta(weeks=k), t0 + timedelta(weeks=k, days=4, hours=9),
                                  WorkKind.CONSTRUCT, f"Frame storey {k + 1}")
        z = k * height
        gid = f"slab{k}"
        meshes[gid] = box_mesh((0, 0, z), (bays * bay, bays * bay, z + 0.3))
        elements[gid] = Element(gid, "IfcSlab", storey=f"L{k}", materials=("Concrete",))
        links.append((aid, gid))
        for i in range(bays + 1):
            for j in range(bays + 1):
                gid = f"col{k}_{i}_{j}"
                x, y = i * bay, j * bay
                meshes[gid] = box_mesh((x - 0.2, y - 0.2, z + 0.3), (x + 0.2, y + 0.2, z + height))
                elements[gid] = Element(gid, "IfcColumn", storey=f"L{k}")
                links.append((aid, gid))
    return meshes, elements, windows, links


@pytest.fixture(scope="session")
def boxes():
    """The helpers above, for test modules (test files cannot import conftest by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(box_mesh=box_mesh, box_building=box_building)
