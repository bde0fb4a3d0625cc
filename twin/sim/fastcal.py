"""Direct-lookup working time for the vectorised path: a calendar tabulated minute by minute over the
simulated window, so that clock -> working offset and offset -> clock are array indexing instead of
binary searches.

:class:`TabulatedCalendar` wraps a :class:`twin.worktime.WorkCalendar` and answers the same calls
(``offsets``, ``at_offsets``, ``offset``, ``at_offset``, ``next_working``) with the same results; any
value outside its window goes to the wrapped calendar. The tables are built from the calendar's
working intervals (:meth:`twin.worktime.WorkCalendar.intervals`): a per-minute working flag, its
running sum (the offset of every minute) and the clock minute of every working minute.
Memory: 4 bytes per calendar minute plus 8 per working minute of the window.

:func:`share_tables` moves a tabulated network's tables into one shared-memory file
(:mod:`twin.sim.workers`); the calendars then pickle as a reference to that file, so worker processes
map the parent's tables instead of receiving copies or tabulating again.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twin.sim.workers import attach, create_file
from twin.worktime import WorkCalendar

__all__ = ["TabulatedCalendar", "share_tables", "tabulate"]


class TabulatedCalendar:
    """``wc`` tabulated over clock minutes ``[t0, t1)`` (see the module docstring)."""

    def __init__(self, wc: WorkCalendar, t0: int, t1: int) -> None:
        self.wc = wc
        self.id = wc.id
        self.calendar = wc.calendar
        starts, ends = wc.intervals(t0, t1)
        n = t1 - t0
        a = np.clip(starts - t0, 0, n).tolist()   # intervals in order, disjoint (WorkCalendar.intervals)
        b = np.clip(ends - t0, 0, n).tolist()
        self.t0, self.t1 = t0, t1
        self.w0 = wc.offset(t0)
        self._off = off = np.empty(n + 1, dtype=np.int32)    # offset - w0 at clock t0 + k
        self._nw = nw = int(sum(b) - sum(a))
        self._pos = pos = np.empty(nw, dtype=np.int64)       # clock of working minute w0 + j
        done, k, ramp = 0, 0, np.arange(max(b[i] - a[i] for i in range(len(a))) + 1 if a else 1, dtype=np.int64)
        for lo, hi in zip(a, b):   # one pass per table: constant over gaps, rising by 1 over work
            off[k:lo] = done
            length = hi - lo
            np.add(ramp[:length], done, out=off[lo:hi], casting="unsafe")
            np.add(ramp[:length], t0 + lo, out=pos[done:done + length])
            done += length
            k = hi
        off[k:] = done
        self._shared: tuple[str, int, int] | None = None   # (file, byte offset of _off, of _pos)

    # -- pickling: tables by reference when they live in a shared file ---------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._shared is not None:
            del state["_off"], state["_pos"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._shared is not None:
            self._bind(attach(self._shared[0]))

    def _bind(self, buf: Any) -> None:
        """Point the tables at their place in the shared map ``buf`` (read-only views)."""
        _, at_off, at_pos = self._shared  # type: ignore[misc]
        self._off = np.frombuffer(buf, np.int32, count=self.t1 - self.t0 + 1, offset=at_off)
        self._pos = np.frombuffer(buf, np.int64, count=self._nw, offset=at_pos)
        self._off.flags.writeable = False
        self._pos.flags.writeable = False

    # -- vectorised ------------------------------------------------------------------------------
    def offsets(self, t: ArrayLike) -> NDArray[np.int64]:
        t = np.asarray(t, dtype=np.int64)
        k = t - self.t0
        if k.size and (k.min() < 0 or k.max() > self.t1 - self.t0):
            return self.wc.offsets(t)
        return self._off[k] + np.int64(self.w0)

    def at_offsets(self, w: ArrayLike, side: str = "start") -> NDArray[np.int64]:
        w = np.asarray(w, dtype=np.int64)
        j = w - self.w0
        if side == "start":
            if j.size and (j.min() < 0 or j.max() >= self._nw):
                return self.wc.at_offsets(w, side)  # type: ignore[arg-type]
            return self._pos[j]
        if j.size and (j.min() < 1 or j.max() > self._nw):
            return self.wc.at_offsets(w, side)  # type: ignore[arg-type]
        return self._pos[j - 1] + 1

    # -- scalar (delegated) -------------------------------------------------------------------------
    def offset(self, t: int) -> int:
        return self.wc.offset(t)

    def at_offset(self, w: int, side: str = "start") -> int:
        return self.wc.at_offset(w, side)  # type: ignore[arg-type]

    def next_working(self, t: int) -> int:
        return self.wc.next_working(t)

    def add(self, t: int, minutes: int, side: str = "finish") -> int:
        return self.wc.add(t, minutes, side)  # type: ignore[arg-type]


def tabulate(net: Any, t0: int, t1: int) -> Any:
    """A shallow copy of a :class:`twin.sim.network.SimNetwork` whose calendars (activities' and
    lags') are :class:`TabulatedCalendar` over ``[t0, t1)``; same dates, faster vectorised calls."""
    from copy import copy

    wrapped: dict[int, TabulatedCalendar] = {}

    def w(cal: WorkCalendar) -> TabulatedCalendar:
        key = id(cal)
        if key not in wrapped:
            wrapped[key] = TabulatedCalendar(cal, t0, t1)
        return wrapped[key]

    fast = copy(net)
    fast.cals = [w(c) for c in net.cals]
    fast.in_links = [[(p, t, lag, w(lc)) for p, t, lag, lc in links] for links in net.in_links]
    fast.out_links = [[(s, t, lag, w(lc)) for s, t, lag, lc in links] for links in net.out_links]
    return fast


def share_tables(net: Any) -> str:
    """Move the tables of a :func:`tabulate`-d network into one new shared-memory file.

    The calendars keep working in this process (their tables become read-only views of the file)
    and pickle as a reference to it. The caller owns the file: remove it with
    :func:`twin.sim.workers.remove_file` when no new process will need it (mapped tables stay valid).

    Returns
    -------
    str
        The file's path.

    Raises
    ------
    OSError
        No shared-memory directory or no room in it (then nothing is changed).
    """
    cals: dict[int, TabulatedCalendar] = {}
    for c in [*net.cals, *(lc for links in net.in_links for *_, lc in links),
              *(lc for links in net.out_links for *_, lc in links)]:
        if isinstance(c, TabulatedCalendar) and c._shared is None:
            cals.setdefault(id(c), c)
    places, size = [], 0
    for c in cals.values():
        at_off = size
        size += -(-c._off.nbytes // 8) * 8
        places.append((c, at_off, size))
        size += c._pos.nbytes
    path, buf = create_file(size)
    for c, at_off, at_pos in places:
        np.frombuffer(buf, np.int32, count=c._off.size, offset=at_off)[:] = c._off
        np.frombuffer(buf, np.int64, count=c._pos.size, offset=at_pos)[:] = c._pos
    for c, at_off, at_pos in places:
        c._shared = (path, at_off, at_pos)
        c._bind(buf)
    return path
