"""The two loops of the one-calendar CPM engine (:mod:`twin.cpm_arrays`) in pure Python: the reference.

:func:`forward` is Kahn's topological sort (the general passes' order: a stack, smallest index first)
fused with the forward pass; :func:`backward` the backward pass in reverse order. Dates are integer
keys ``2 * w + side`` (working offset ``w``; side 1 for a start reading, 0 for a finish reading),
so both loops are integer additions and comparisons. :mod:`twin.cpm_kernels` holds the same loops
compiled with numba; ``tests/test_cpm_arrays.py`` checks both against the general passes.
"""
from __future__ import annotations

from twin.schedule import ActivityType

__all__ = ["forward", "backward"]

_NEG = -(1 << 62)
_POS = 1 << 62
_FM = ActivityType.FINISH_MILESTONE


def forward(n, ptr, succ, kind, lag, indeg, dur, types, ddk):
    """Kahn's topological sort (the general passes' order: a stack, smallest index first) fused with
    the forward pass on keys. Returns (order, early start keys, early finish keys), or None if the
    links have a loop."""
    sk = [ddk] * n      # latest start-type candidate (the data date to begin with)
    fk = [_NEG] * n     # latest finish-type candidate
    esk, efk = [0] * n, [0] * n
    ready = [i for i in range(n) if not indeg[i]]
    ready.reverse()
    order: list[int] = []
    pop, push, emit = ready.pop, ready.append, order.append
    if kind is None and lag is None:  # FS links without lag: a successor may start at this finish
        while ready:
            i = pop()
            emit(i)
            d, s = dur[i], sk[i]
            if d:
                s |= 1                    # start reading of the offset
                e = s + 2 * d - 1         # finish reading d minutes later
            elif types[i] is _FM:
                e = s
            else:
                s = e = s | 1
            esk[i], efk[i] = s, e
            for j in succ[ptr[i]:ptr[i + 1]]:
                if e > sk[j]:
                    sk[j] = e
                indeg[j] -= 1
                if not indeg[j]:
                    push(j)
    else:
        while ready:
            i = pop()
            emit(i)
            d, s, f = dur[i], sk[i], fk[i]
            if d == 0:  # (milestones have no duration)
                s = e = s if s > f else f
                if types[i] is not _FM:  # a finish milestone keeps its reading, others start
                    s = e = s | 1
            else:
                w = s >> 1
                if f != _NEG and (f >> 1) - d > w:
                    w = (f >> 1) - d
                s, e = 2 * w + 1, 2 * (w + d)
            esk[i], efk[i] = s, e
            for k in range(ptr[i], ptr[i + 1]):
                j = succ[k]
                t = kind[k] if kind is not None else 0
                g = lag[k] if lag is not None else 0
                if t == 0:      # FS: from this finish (a lag reads as a finish)
                    c = e if not g else 2 * ((e >> 1) + g)
                elif t == 1:    # SS: from this start (a lag reads as a start)
                    c = s if not g else 2 * ((s >> 1) + g) + 1
                elif t == 2:    # FF
                    c = e if not g else 2 * ((e >> 1) + g)
                else:           # SF
                    c = s if not g else 2 * ((s >> 1) + g)
                if t < 2:
                    if c > sk[j]:
                        sk[j] = c
                elif c > fk[j]:
                    fk[j] = c
                indeg[j] -= 1
                if not indeg[j]:
                    push(j)
    if len(order) != n:
        return None
    return order, esk, efk


def backward(order, ptr, succ, kind, lag, dur, types, efk, endk, open_critical):
    """Late start and finish keys (the general passes' backward rules for unstarted work)."""
    n = len(dur)
    lsk, lfk = [0] * n, [0] * n
    simple = kind is None and lag is None
    for i in reversed(order):
        f = s = _POS
        a, b = ptr[i], ptr[i + 1]
        if simple:  # FS links without lag: finish by the successors' late starts
            has_succ = a < b
            for j in succ[a:b]:
                if lsk[j] < f:
                    f = lsk[j]
        else:
            has_succ = False
            for k in range(a, b):
                j = succ[k]
                t = kind[k] if kind is not None else 0
                g = lag[k] if lag is not None else 0
                if t < 2:       # FS, SS: to the successor's late start (a lag reads as a start)
                    c = lsk[j] if not g else 2 * ((lsk[j] >> 1) - g) + 1
                else:           # FF, SF: to its late finish
                    c = lfk[j] if not g else 2 * ((lfk[j] >> 1) - g)
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
            lsk[i] = lfk[i] = m & ~1 if types[i] is _FM else m
        elif s != _POS and (s >> 1) + d <= f >> 1:
            lsk[i], lfk[i] = s, 2 * ((s >> 1) + d)
        else:
            lsk[i], lfk[i] = (f & ~1) - 2 * d + 1, f & ~1
    return lsk, lfk
