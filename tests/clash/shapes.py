"""Meshes the clash tests share: a closed L-shaped prism (a solid that is not convex)."""
from __future__ import annotations

import numpy as np

from twin.model import Mesh


def l_wall(x: float = 0.0, y: float = 0.0, z: float = 0.0) -> Mesh:
    """The union of [0,2]x[0,0.2]x[0,3] and [0,0.2]x[0,2]x[0,3] as one closed prism (an L in plan),
    moved so that its corner is at (x, y, z)."""
    pts = [(0, 0), (2, 0), (2, 0.2), (0.2, 0.2), (0.2, 2), (0, 2)]
    n = len(pts)
    v = [(px, py, 0.0) for px, py in pts] + [(px, py, 3.0) for px, py in pts]
    f = []
    for i in range(n):
        j = (i + 1) % n
        f += [[i, j, n + j], [i, n + j, n + i]]
    # caps: a fan from vertex 3 (the inner corner), valid for this L
    for a, b in ((4, 5), (5, 0), (0, 1), (1, 2)):
        f += [[3, b, a], [n + 3, n + a, n + b]]
    return Mesh(np.array(v, float) + (x, y, z), np.array(f))
