"""Benchmark: twin's XER reader and CPM beside MPXJ and IfcOpenShell's recalculate_schedule.

Run from the project root:

    .venv/bin/python benchmarks/bench_cpm.py            # everything
    .venv/bin/python benchmarks/bench_cpm.py --quick    # skip the 50,000-activity network
    .venv/bin/python benchmarks/bench_cpm.py --only ifc # the IfcOpenShell comparison only

Prints, in one process run (times are CPU seconds, ``time.process_time``, best of 3 where repeated):
1. the HS2 P6 programme (3,994 activities): parse time (ours; MPXJ, the Java reader, when installed),
   CPM time, and how many activities' dates equal P6's stored dates;
2. generated networks of 1,000 to 50,000 activities on three calendars (5-day, 7-day, 24-hour) with
   FS/SS/FF/SF links and lags: CPM time and time per activity, to show the growth is near linear;
3. the same 2,000-activity network (FS links, whole days, one 24-hour calendar) as an IFC work
   schedule built with ``ifcopenshell.api.sequence``: ``recalculate_schedule`` time beside ours, and
   whether the two project finishes agree. Ours is given four ways: warm (best of 3 in this process:
   calendar tables cached, numba kernels running), warm with the pure-Python loops (``TWIN_NUMBA=0``),
   the first call in a fresh process (after imports and building the network: what a one-off
   ``twin schedule`` pays; pure-Python loops), and the general passes (``engine="passes"``). Before
   it, the one-off cost of starting numba (second call in a fresh process), with the kernel cache
   and with an empty one (compilation).

HS2, the 5,000- and 50,000-activity networks and the 2,000-activity networks are also timed as a
first call in a fresh process, so that the calendar table cache (:mod:`twin.worktime`) flatters
nothing. Sections 1 and 2 run the general passes (several calendars, progress); section 3 the
one-calendar offset engine (:mod:`twin.cpm_arrays`), which ``compute_cpm`` picks for it.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from twin.cpm import compute_cpm  # noqa: E402
from twin.importers.xer import read_xer  # noqa: E402
from twin.schedule import Activity, Calendar, Relationship, RelationType, Schedule  # noqa: E402
from twin.worktime import full_day_calendar  # noqa: E402

SHARED = Path(os.environ.get("TWIN_SHARED", ROOT.parent / "shared"))
HS2 = SHARED / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
START = datetime(2024, 1, 1)


def generate_network(n: int, *, seed: int = 1, mixed: bool = True, days: bool = False, window: int = 200
                     ) -> Schedule:
    """A random network of ``n`` activities, 1-3 predecessors each among the previous ``window``.

    With ``window=200`` a 2,000-activity network is 56 links deep, like the HS2 programme (3,994
    activities, 47 deep); ``window=3`` makes long chains (about n/2 deep).

    ``mixed``: three calendars and all four link types with lags; else FS links only. ``days``: whole
    day durations on a 24-hour calendar (what IfcOpenShell's day-based CPM can represent).
    """
    rng = np.random.default_rng(seed)
    cals = {"5d": Calendar("5d"), "7d": Calendar("7d", week=(((420, 720), (780, 1080)),) * 7),
            "24h": full_day_calendar("24h")}
    cal_ids = list(cals) if mixed else ["24h" if days else "5d"]
    types = [RelationType.FS] * 7 + [RelationType.SS, RelationType.FF, RelationType.SF] if mixed else [RelationType.FS]
    acts, rels = {}, []
    for i in range(n):
        aid = f"A{i:06d}"
        dur = float(rng.integers(1, 11)) * (24 if days else 8)
        acts[aid] = Activity(aid, duration_h=dur, calendar=cal_ids[i % len(cal_ids)])
        if i:
            for p in set(rng.integers(max(0, i - window), i, size=int(rng.integers(1, 4))).tolist()):
                t = types[int(rng.integers(len(types)))]
                lag = float(rng.choice([0, 0, 0, 8, 16, -4])) if mixed else 0.0
                rels.append(Relationship(f"A{p:06d}", aid, t, lag))
    return Schedule(acts, tuple(rels), cals, default_calendar=cal_ids[0], start=START)


def timed(fn, *args, repeat: int = 3, **kw):
    """Best CPU time (``time.process_time``, seconds) of ``repeat`` calls, and the last result.

    CPU time rather than wall time: the benchmark machine is shared, and CPU time is what our code
    and the reference spend, whatever else runs beside them.
    """
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn(*args, **kw)
        best = min(best, time.process_time() - t)
    return best, out


def shuffled(s: Schedule, seed: int = 7) -> Schedule:
    """``s`` with its activities in random order (as in real files)."""
    ids = list(s.activities)
    ids = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    return Schedule({k: s.activities[k] for k in ids}, s.relationships, s.calendars,
                    default_calendar=s.default_calendar, start=s.start)


def make_schedule(spec: str) -> Schedule:
    """``hs2``; ``mixed:N`` (three calendars, every link type, lags); or ``net:N:WINDOW:ORDER`` (FS links,
    whole days, one calendar; ORDER ``topo`` or ``random``)."""
    if spec == "hs2":
        return read_xer(HS2)
    if spec.startswith("mixed:"):
        return generate_network(int(spec.split(":")[1]))
    _, n, window, order = spec.split(":")
    s = generate_network(int(n), mixed=False, days=True, window=int(window))
    return shuffled(s) if order == "random" else s


def first_call(spec: str, env: dict | None = None) -> float:
    """CPU seconds of the first ``compute_cpm`` in a fresh Python process (imports and building the
    schedule not counted): the cold figure, with no calendar table cached yet."""
    return first_calls(spec, env)[0]


def first_calls(spec: str, env: dict | None = None) -> tuple[float, float]:
    """CPU seconds of the first and the second ``compute_cpm`` on ``spec`` in a fresh process. On a
    one-calendar network of 500+ activities the second is where numba starts (import, cached kernels
    loaded, or compiled if the cache is empty)."""
    out = subprocess.run([sys.executable, __file__, "--first-call", spec], capture_output=True, text=True,
                         check=True, env={**os.environ, **(env or {})})
    first, second = out.stdout.strip().splitlines()[-1].split()
    return float(first), float(second)


def _first_call_child(spec: str) -> None:
    s = make_schedule(spec)
    t = time.process_time()
    compute_cpm(s)
    t1 = time.process_time()
    compute_cpm(s)
    print(f"{t1 - t:.6f} {time.process_time() - t1:.6f}")


def bench_one_calendar_growth(sizes: list[int]) -> None:
    print("== generated networks on one calendar (FS, whole days, random order): the one-calendar engine ==")
    for n in sizes:
        s = make_schedule(f"net:{n}:200:random")
        compute_cpm(s), compute_cpm(s)  # numba starts at the second large one-calendar schedule
        t, r = timed(compute_cpm, s)
        os.environ["TWIN_NUMBA"] = "0"
        t_py, _ = timed(compute_cpm, s)
        del os.environ["TWIN_NUMBA"]
        t_passes, _ = timed(compute_cpm, s, engine="passes", repeat=1 if n > 20000 else 3)
        print(f"   {n:6d} activities, {len(s.relationships):6d} links: numba {t:7.4f} s "
              f"({t / n * 1e6:5.2f} us/activity), Python loops {t_py:7.4f} s, general passes {t_passes:7.3f} s")


def bench_jit_startup() -> None:
    print("== numba kernels of the one-calendar engine: start-up cost, fresh processes ==")
    spec = "net:2000:200:random"
    with tempfile.TemporaryDirectory() as empty:
        first, compiling = first_calls(spec, {"NUMBA_CACHE_DIR": empty})
    first, loading = first_calls(spec)
    print(f"   first call (pure-Python loops):                 {first:7.4f} s")
    print(f"   second call, numba starts, kernels cached:      {loading:7.4f} s   (once per process)")
    print(f"   second call, numba starts, empty cache:         {compiling:7.4f} s   (once per installation)")


def bench_hs2() -> None:
    print("== HS2 P6 programme (HS2_SP10_cost_loaded.xer) ==")
    if not HS2.exists():
        print(f"   skipped: {HS2} is absent")
        return
    t_parse, schedule = timed(read_xer, HS2)
    t_cpm, result = timed(compute_cpm, schedule)
    keys = ("early_start", "early_finish", "late_start", "late_finish")
    equal = sum(all(a.reference[k] == getattr(result.dates[aid], k) for k in keys)
                for aid, a in schedule.activities.items())
    print(f"   twin read_xer:        {t_parse:8.3f} s   ({len(schedule.activities)} activities, "
          f"{len(schedule.relationships)} relationships)")
    print(f"   twin compute_cpm:     {t_cpm:8.3f} s   (dates equal to P6's: {equal} of {len(schedule.activities)})")
    print(f"   twin compute_cpm, first call in a fresh process: {first_call('hs2'):.3f} s")
    try:
        from xerparser import Xer

        def parse_xerparser():
            with open(HS2, encoding=Xer.CODEC, errors="ignore") as fh:
                return Xer(fh.read())

        t_xp, xer = timed(parse_xerparser)
        project = next(iter(xer.projects.values()))
        print(f"   xerparser (Python):   {t_xp:8.3f} s   ({len(project.tasks)} activities, "
              f"{len(project.relationships)} relationships)")
    except Exception as exc:  # reference unavailable: say so, keep going
        print(f"   xerparser reference skipped: {exc}")
    try:
        import jpype
        import mpxj  # noqa: F401

        if not jpype.isJVMStarted():
            jpype.startJVM()
        from org.mpxj.reader import UniversalProjectReader

        reader = UniversalProjectReader()
        reader.read(str(HS2))  # warm the JVM
        t_mpxj, project = timed(lambda: reader.read(str(HS2)))
        n_rel = sum(len(list(t.getPredecessors())) for t in project.getTasks())
        print(f"   MPXJ (Java) read:     {t_mpxj:8.3f} s   ({n_rel} relationships)")
    except Exception as exc:  # reference unavailable: say so, keep going
        print(f"   MPXJ reference skipped: {exc}")


def bench_growth(sizes: list[int]) -> None:
    print("== generated networks, three calendars, FS/SS/FF/SF with lags ==")
    base = None
    for n in sizes:
        s = generate_network(n)
        t, r = timed(compute_cpm, s, repeat=1 if n > 20000 else 3)
        per = t / n * 1e6
        base = base or per
        cold = f", first call in a fresh process {first_call(f'mixed:{n}'):.3f} s" if n in (5000, 50000) else ""
        print(f"   {n:6d} activities, {len(s.relationships):6d} links: {t:7.3f} s  "
              f"({per:6.1f} us/activity, x{per / base:4.2f} of the smallest)  finish {r.finish:%Y-%m-%d %H:%M}{cold}")


def bench_ifcopenshell(n: int = 2000, *, random_order: bool = False, window: int = 200) -> None:
    order = "tasks created in random order, as in real files" if random_order else "tasks created in topological order"
    shape = "HS2-like depth" if window >= 100 else "long chains"
    print(f"== {n}-activity network ({shape}, {order}): IfcOpenShell recalculate_schedule vs twin ==")
    try:
        import ifcopenshell
        import ifcopenshell.api.root
        import ifcopenshell.api.sequence as seq
        import ifcopenshell.util.date
    except ImportError as exc:
        print(f"   skipped: {exc}")
        return
    spec = f"net:{n}:{window}:{'random' if random_order else 'topo'}"
    s = make_schedule(spec)
    model = ifcopenshell.file(schema="IFC4")
    ifcopenshell.api.root.create_entity(model, ifc_class="IfcProject", name="bench")
    ws = seq.add_work_schedule(model, name="bench")
    tasks = {}
    t0 = time.perf_counter()
    for aid in s.activities:
        a = s.activities[aid]
        task = seq.add_task(model, work_schedule=ws, name=aid)
        tt = seq.add_task_time(model, task=task)
        seq.edit_task_time(model, task_time=tt, attributes={
            "ScheduleStart": START.date(), "ScheduleDuration": f"P{int(a.duration_h // 24)}D",
            "DurationType": "ELAPSEDTIME"})
        tasks[aid] = task
    for r in s.relationships:
        seq.assign_sequence(model, relating_process=tasks[r.pred], related_process=tasks[r.succ])
    build = time.perf_counter() - t0
    t = time.process_time()
    seq.recalculate_schedule(model, work_schedule=ws)
    t_ifc = time.process_time() - t
    finish_ifc = max(ifcopenshell.util.date.ifc2datetime(task.TaskTime.EarlyFinish) for task in tasks.values())
    t_cold = first_call(spec)
    compute_cpm(s), compute_cpm(s)  # numba starts at the second large one-calendar schedule (see above)
    t_ours, r = timed(compute_cpm, s)
    os.environ["TWIN_NUMBA"] = "0"
    t_py, _ = timed(compute_cpm, s)
    del os.environ["TWIN_NUMBA"]
    t_passes, r_passes = timed(compute_cpm, s, engine="passes")
    same = all(r.dates[k] == r_passes.dates[k] for k in s.activities) and r.critical_path == r_passes.critical_path
    print(f"   IFC built with ifcopenshell.api in {build:.1f} s (not timed below); {len(s.relationships)} links")
    print(f"   IfcOpenShell recalculate_schedule:              {t_ifc:8.4f} s   latest early finish {finish_ifc}")
    print(f"   twin compute_cpm, warm, numba (best of 3):      {t_ours:8.4f} s   project finish {r.finish}")
    print(f"   twin warm, pure-Python loops (TWIN_NUMBA=0):    {t_py:8.4f} s")
    print(f"   twin first call in a fresh process:             {t_cold:8.4f} s   (pure-Python loops)")
    print(f"   twin general passes (engine='passes'):          {t_passes:8.4f} s   same dates, floats, path: {same}")
    print(f"   SPEED-UP vs IfcOpenShell: warm {t_ifc / t_ours:,.0f}x; pure-Python loops {t_ifc / t_py:,.0f}x; "
          f"first call {t_ifc / t_cold:,.0f}x; general passes {t_ifc / t_passes:,.0f}x")
    # IfcOpenShell counts whole days; same network, same durations: the finishes differ only by how
    # each tool reads the end of the last day.
    print(f"   (twin finish - IfcOpenShell finish = {r.finish - finish_ifc})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip the 50,000-activity network")
    ap.add_argument("--only", choices=["hs2", "growth", "ifc"], help="run one section (ifc: sections 3)")
    ap.add_argument("--first-call", metavar="SPEC", help=argparse.SUPPRESS)  # child process of first_call
    args = ap.parse_args()
    if args.first_call:
        _first_call_child(args.first_call)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cpus, "
          f"load average {load:.1f} at start")
    if args.only in (None, "hs2"):
        bench_hs2()
    if args.only in (None, "growth"):
        bench_growth([1000, 5000, 10000, 20000] + ([] if args.quick else [50000]))
        bench_one_calendar_growth([2000, 5000] + ([] if args.quick else [50000]))
    if args.only in (None, "ifc"):
        bench_jit_startup()
        bench_ifcopenshell(2000)
        bench_ifcopenshell(2000, random_order=True)
        bench_ifcopenshell(2000, random_order=True, window=3)
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
