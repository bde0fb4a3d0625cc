"""numba-compiled loops of the one-calendar CPM engine (:mod:`twin.cpm_arrays`).

Line for line the pure-Python :func:`twin.cpm_loops.forward` and :func:`twin.cpm_loops.backward`
(which stay the reference: ``tests/test_cpm_arrays.py`` runs both on the same networks and compares
every result), on int64 arrays instead of lists. Importing this module imports numba; :mod:`twin.cpm_arrays` does so
only when it decides to use the kernels (see :func:`twin.cpm_arrays.kernels_for`), never at
``import twin``. Compiled code is cached on disk (``cache=True``), so a new process loads it instead
of compiling it again; numba's own start-up (about 0.4 s of CPU) is still paid once per process.

Keys: ``2 * w + side`` (working offset ``w``, side 1 for a start reading), see :mod:`twin.cpm_arrays`.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["forward", "backward"]

_NEG = -(1 << 62)
_POS = 1 << 62


@numba.njit(cache=True)
def forward(ptr, succ, kind, lag, indeg0, dur, fm, ddk):  # pragma: no cover - compiled
    """Kahn's order (a stack, smallest index first) fused with the forward pass on keys.

    Parameters
    ----------
    ptr : (n + 1,) int64, out-links of activity i are ``ptr[i]:ptr[i + 1]`` in relationship order
    succ, kind, lag : (m,) int64, successor, FS 0 / SS 1 / FF 2 / SF 3, lag in working minutes
    indeg0 : (n,) int64 in-degrees;  dur : (n,) int64 working minutes;  fm : (n,) bool finish milestone
    ddk : key of the data date

    Returns
    -------
    order : (n,) int64, its first ``count`` entries the topological order; count < n if a loop;
    count : int;  esk, efk : (n,) int64 early start and finish keys
    """
    n = dur.size
    indeg = indeg0.copy()
    sk = np.full(n, ddk, dtype=np.int64)
    fk = np.full(n, _NEG, dtype=np.int64)
    esk = np.zeros(n, dtype=np.int64)
    efk = np.zeros(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for i in range(n - 1, -1, -1):
        if indeg[i] == 0:
            stack[top] = i
            top += 1
    order = np.empty(n, dtype=np.int64)
    count = 0
    while top > 0:
        top -= 1
        i = stack[top]
        order[count] = i
        count += 1
        d, s, f = dur[i], sk[i], fk[i]
        if d == 0:
            s = s if s > f else f
            if not fm[i]:
                s |= 1
            e = s
        else:
            w = s >> 1
            if f != _NEG and (f >> 1) - d > w:
                w = (f >> 1) - d
            s, e = 2 * w + 1, 2 * (w + d)
        esk[i], efk[i] = s, e
        for k in range(ptr[i], ptr[i + 1]):
            j, t, g = succ[k], kind[k], lag[k]
            if t == 0 or t == 2:    # FS, FF: from this finish (a lag reads as a finish)
                c = e if g == 0 else 2 * ((e >> 1) + g)
            elif t == 1:            # SS: from this start (a lag reads as a start)
                c = s if g == 0 else 2 * ((s >> 1) + g) + 1
            else:                   # SF: from this start, read as a finish
                c = s if g == 0 else 2 * ((s >> 1) + g)
            if t < 2:
                if c > sk[j]:
                    sk[j] = c
            elif c > fk[j]:
                fk[j] = c
            indeg[j] -= 1
            if indeg[j] == 0:
                stack[top] = j
                top += 1
    return order, count, esk, efk


@numba.njit(cache=True)
def backward(order, ptr, succ, kind, lag, dur, fm, efk, endk, open_critical):  # pragma: no cover
    """Late start and finish keys, shape (n,) each (arguments as for :func:`forward`; ``endk`` the
    key of the project finish or finish constraint)."""
    n = dur.size
    lsk = np.zeros(n, dtype=np.int64)
    lfk = np.zeros(n, dtype=np.int64)
    for r in range(n - 1, -1, -1):
        i = order[r]
        f = _POS
        s = _POS
        has_succ = False
        for k in range(ptr[i], ptr[i + 1]):
            j, t, g = succ[k], kind[k], lag[k]
            if t < 2:   # FS, SS: to the successor's late start (a lag reads as a start)
                c = lsk[j] if g == 0 else 2 * ((lsk[j] >> 1) - g) + 1
            else:       # FF, SF: to its late finish
                c = lfk[j] if g == 0 else 2 * ((lfk[j] >> 1) - g)
            if t == 0 or t == 2:
                has_succ = True
                if c < f:
                    f = c
            elif c < s:
                s = c
        if not has_succ:
            if endk < f:
                f = endk
            if open_critical and efk[i] < f:
                f = efk[i]
        d = dur[i]
        if d == 0:
            m = f if f < s else s
            if fm[i]:
                m = m & ~1
            lsk[i] = m
            lfk[i] = m
        elif s != _POS and (s >> 1) + d <= (f >> 1):
            lsk[i] = s
            lfk[i] = 2 * ((s >> 1) + d)
        else:
            lsk[i] = (f & ~1) - 2 * d + 1
            lfk[i] = f & ~1
    return lsk, lfk
