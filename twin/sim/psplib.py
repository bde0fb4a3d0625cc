"""PSPLIB single-mode RCPSP instances (``.sm``) as simulator inputs, for validating resource handling.

The j30 set (Kolisch & Sprecher 1996) gives 480 projects of 30 jobs sharing 4 renewable resources,
with proven optimal makespans. :func:`read_sm` turns one file into a :class:`SimConfig`: one
activity per job (duration in hours on a 24-hour calendar starting 2024-01-01 00:00), finish-to-start
logic, one pool per resource (``R1``..``R4``) with the file's availability, and each job's requests as
crew units held for its whole duration. Simulated deterministically, the engine is a dispatcher that
starts each job as soon as its predecessors are done and its resources are free (first come, first
served): a feasible schedule whose makespan can be set beside the optimum.
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from twin.errors import InputError, MissingFileError
from twin.schedule import Activity, ActivityType, Relationship, Schedule
from twin.sim.config import SimConfig
from twin.sim.resources import Demand, ResourcePool

__all__ = ["PSPLIB_START", "read_sm"]

PSPLIB_START = datetime(2024, 1, 1)
"""Time 0 of a PSPLIB instance (periods are hours on a 24-hour calendar from here)."""


def _section(lines: list[str], title: str, path: Path) -> int:
    for k, line in enumerate(lines):
        if line.startswith(title):
            return k
    raise InputError(f"{path}: no '{title}' section; is this a PSPLIB single-mode .sm file?")


def read_sm(path: str | Path) -> SimConfig:
    """Read a PSPLIB ``.sm`` file into a deterministic SimConfig (see the module docstring).

    Raises
    ------
    MissingFileError, InputError (naming the file and line)
    """
    from twin.worktime import full_day_calendar

    p = Path(path)
    if not p.exists():
        raise MissingFileError(p, "PSPLIB file")
    lines = p.read_text(encoding="ascii", errors="replace").splitlines()
    k = _section(lines, "PRECEDENCE RELATIONS:", p) + 2
    succ: dict[str, list[str]] = {}
    while k < len(lines) and not lines[k].startswith("*"):
        f = lines[k].split()
        if len(f) < 3 or not all(x.isdigit() for x in f):
            raise InputError(f"{p}, line {k + 1}: expected 'job modes successors...', got '{lines[k].strip()}'")
        succ[f[0]] = f[3:3 + int(f[2])]
        k += 1
    k = _section(lines, "REQUESTS/DURATIONS:", p)
    names = [f"R{n}" for n in re.findall(r"R\s*(\d+)", lines[k + 1])]
    k += 3
    acts: dict[str, Activity] = {}
    demands: dict[str, Demand] = {}
    while k < len(lines) and not lines[k].startswith("*"):
        f = lines[k].split()
        if len(f) != 3 + len(names) or not all(x.isdigit() for x in f):
            raise InputError(f"{p}, line {k + 1}: expected job, mode, duration and {len(names)} requests")
        job, dur, req = f[0], int(f[2]), [int(x) for x in f[3:]]
        kind = ActivityType.TASK if dur > 0 else ActivityType.START_MILESTONE
        acts[job] = Activity(job, f"job {job}", duration_h=float(dur), type=kind, calendar="24h")
        if dur > 0 and any(req):
            demands[job] = Demand(crews={n: r for n, r in zip(names, req) if r})
        k += 1
    k = _section(lines, "RESOURCEAVAILABILITIES:", p) + 2
    caps = [int(x) for x in lines[k].split()]
    if len(caps) != len(names):
        raise InputError(f"{p}, line {k + 1}: expected {len(names)} availabilities, got '{lines[k].strip()}'")
    missing = sorted({s for ss in succ.values() for s in ss} - set(acts), key=int)
    if missing:
        raise InputError(f"{p}: successors {', '.join(missing)} have no REQUESTS/DURATIONS line")
    rels = tuple(Relationship(a, b) for a, ss in succ.items() for b in ss)
    schedule = Schedule(acts, rels, {"24h": full_day_calendar()}, default_calendar="24h", start=PSPLIB_START,
                        name=p.stem, source=str(p))
    pools = tuple(ResourcePool(n, "crew", c) for n, c in zip(names, caps))
    return SimConfig(schedule, name=p.stem, pools=pools, demands=demands, uncertainty=None)
