"""Simulator benchmark: twin.sim beside its references, in one process run.

Sections (each prints ours beside the reference):

1. queueing: SimPy trucks-and-loader and M/M/c crane runs against the closed forms
   (``validation/cases.json``), with events per second;
2. Reliable Construction Monte Carlo against the published 200k-run figures;
3. HS2 (3,994 activities, its 6 calendars, default beta-PERT uncertainty): the naive reference (one
   full ``twin.cpm.compute_cpm`` per replication, timed on a sample and scaled); the vectorised path
   at 10,000 replications on 1 and 2 workers, cold (fresh process state: no pool, no forkserver, no
   prepared network; what ``twin simulate`` sees) and warm (a second call: what the app and
   ``twin compare`` see), with the speed-ups; the SimPy path at 1,000 replications on 2 workers and
   its speed-up at 200;
4. a generated 5,000-element building with a crew pool per trade and two tower cranes: the speed-up
   at 100 SimPy replications (cold and warm), then 1,000 on 2 workers, events per second;
5. the 480 PSPLIB j30 instances: the engine's resource-constrained makespans against the optima.

Usage: ``.venv/bin/python benchmarks/bench_sim.py [--scale 0.1] [--skip-hs2-simpy] [--only SECTION]``; ``--scale``
multiplies the replication counts of sections 3-4 (1.0 = the figures in BENCHMARKS.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))


def section(title: str) -> None:
    print(f"\n== {title}")


def queueing() -> None:
    from twin.sim.queueing import erlang_c, finite_source, simulate_finite_source, simulate_mmc

    section("1. queueing: SimPy resource pools vs closed forms")
    cases = json.loads((SHARED / "validation" / "cases.json").read_text())["queueing"]
    fs = cases["finite_source"]
    print(f"{'trucks':>6} {'loads/h sim':>11} {'reference':>9} {'Wq sim':>7} {'ref':>7} {'events/s':>9}")
    for c in fs["cases"]:
        t = time.perf_counter()
        s = simulate_finite_source(c["trucks"], fs["loader_mean_min"], fs["travel_mean_min"], 1.5e6, seed=20)
        dt = time.perf_counter() - t
        events = s.served * 4  # travel, request, load, release per load
        print(f"{c['trucks']:>6} {s.throughput_per_h:>11.3f} {c['loads_per_h']:>9.3f} {s.mean_wait_min:>7.3f} "
              f"{c['wq_minutes']:>7.3f} {events / dt:>9.0f}")
    print(f"{'lam':>4} {'c':>2} {'Wq sim':>7} {'+-3SE':>6} {'Erlang C':>8}")
    for c in cases["erlang_c"]["cases"]:
        s = simulate_mmc(c["lam_per_h"], c["mu_per_h"], c["c"], 100_000, seed=1000)
        print(f"{c['lam_per_h']:>4} {c['c']:>2} {s.mean_wait_min:>7.3f} {3 * s.wait_se:>6.3f} "
              f"{erlang_c(c['lam_per_h'], c['mu_per_h'], c['c'])[1]:>8.3f}")


def reliable() -> None:
    from twin.schedule import Activity, Relationship, Schedule, ThreePoint
    from twin.sim import SimConfig, run_monte_carlo
    from twin.worktime import full_day_calendar, to_minutes

    section("2. Reliable Construction (beta-PERT), 200,000 runs vs the published Monte Carlo")
    case = next(c for c in json.loads((SHARED / "validation" / "cases.json").read_text())["cpm"]
                if c["name"] == "reliable_construction")
    w = 168.0
    acts = {k: Activity(k, duration_h=v[0][1] * w, calendar="24h", three_point=ThreePoint(*(x * w for x in v[0])))
            for k, v in case["activities"].items()}
    rels = tuple(Relationship(p, k) for k, v in case["activities"].items() for p in v[1])
    s = Schedule(acts, rels, {"24h": full_day_calendar()}, default_calendar="24h", start=datetime(2024, 1, 1))
    t = time.perf_counter()
    r = run_monte_carlo(SimConfig(s), runs=200_000, seed=1, workers=1)
    dt = time.perf_counter() - t
    weeks = (r.project_finish - to_minutes(datetime(2024, 1, 1))) / (w * 60)
    crit = dict(zip(r.ids, r.critical_count / r.runs))
    print(f"ours: mean {weeks.mean():.2f}, P(T<=47) {np.mean(weeks <= 47):.3f}, P80 {np.percentile(weeks, 80):.2f}, "
          f"criticality J {crit['J']:.2f} N {crit['N']:.2f} E {crit['E']:.2f} F {crit['F']:.2f} "
          f"L {crit['L']:.2f} K {crit['K']:.2f} D {crit['D']:.2f} ({dt:.1f} s, {r.path})")
    print("reference: mean 44.32, P(T<=47) 0.816, P80 46.81, criticality J 0.90 N 0.90 E 0.83 F 0.83 "
          "L 0.74 K 0.16 D 0.10")


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a live process (Linux /proc; 0 elsewhere or once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _snapshot() -> dict:
    """CPU seconds by process: "me" (this process and its finished children), each live pool worker
    (by pid) and "server" (the forkserver).

    The pool persists between calls and its workers are the forkserver's children, so they are read
    from /proc; a "cold" measurement first ends both (:func:`_cold`), so nothing is counted twice.
    """
    import multiprocessing.forkserver as fs
    import resource

    from twin.sim.workers import _POOL

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {"me": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}
    for pid in list(getattr(_POOL.get("executor"), "_processes", None) or {}):
        out[pid] = _proc_cpu(pid)
    server = getattr(fs._forkserver, "_forkserver_pid", None)
    if server:
        out["server"] = _proc_cpu(server)
    return out


def _cpu() -> float:
    return sum(_snapshot().values())


def _cold() -> None:
    """Make the next run start from nothing: no prepared network, no pool, no forkserver."""
    import multiprocessing.forkserver as fs

    from twin.sim.montecarlo import release

    release()
    stop = getattr(fs._forkserver, "_stop", None)  # private, but the only way to end it
    if stop is not None:
        stop()


def timed(label: str, fn, runs: int) -> tuple[float, object, float]:
    """Run ``fn``, print wall and CPU seconds (the container is shared: CPU time is the steadier figure)."""
    t, c = time.perf_counter(), _cpu()
    out = fn()
    dt, dc = time.perf_counter() - t, _cpu() - c
    print(f"{label:<52} {runs:>6} runs {dt:>8.2f} s wall {dc:>8.2f} s CPU  ({dt / runs * 1000:.1f} s wall per 1,000)",
          flush=True)
    return dt, out, dc


def speedup(cfg, runs: int, path: str) -> None:
    """1 vs 2 workers, cold (a fresh start: what ``twin simulate`` sees) and warm (a second call in the
    same process: what the app and ``twin compare`` see); same seed, so the results must be identical.

    Besides wall time (inflated when other jobs share the CPUs) it prints each process's CPU seconds
    and the CPU critical path, this process's CPU + the busiest worker's: what the wall time would
    be on idle cores (the forkserver boots while this process prepares, so it is left out).
    """
    from twin.sim import run_monte_carlo

    walls, crit, ref = {}, {}, None
    for state in ("cold", "warm"):
        for w in (1, 2):
            if state == "cold":
                _cold()  # warm runs then reuse what the cold ones left: prepared network, pool, plan
            label = f"{path} path, {w} worker{'s' if w > 1 else ''}, {state}"
            before = _snapshot()
            walls[state, w], res, _ = timed(label, lambda: run_monte_carlo(cfg, runs, 1, workers=w, path=path), runs)
            after = _snapshot()
            d = {k: v - before.get(k, 0.0) for k, v in after.items()}
            work = [v for k, v in d.items() if k not in ("me", "server")]
            crit[state, w] = d["me"] + max(work, default=0.0)
            print(f"    CPU s: this process {d['me']:.2f}, workers {', '.join(f'{v:.2f}' for v in work) or '-'}, "
                  f"forkserver {d.get('server', 0.0):.2f}; critical path {crit[state, w]:.2f}")
            if ref is None:
                ref = res
            elif not (np.array_equal(ref.finish, res.finish) and np.array_equal(ref.critical_count, res.critical_count)):
                raise SystemExit(f"{label}: results differ from the first run (seed reproducibility broken)")
    for state in ("cold", "warm"):
        print(f"speed-up 1 -> 2 workers, {state}: {walls[state, 1] / walls[state, 2]:.2f}x wall, "
              f"{crit[state, 1] / crit[state, 2]:.2f}x CPU critical path "
              f"({crit[state, 1]:.2f} s -> {crit[state, 2]:.2f} s; target >= 1.8x on 2 idle cores)")
    print("identical results for 1 and 2 workers, cold and warm: True")


def hs2(scale: float, simpy: bool) -> None:
    from twin.cpm import compute_cpm
    from twin.importers import read_schedule
    from twin.sim import SimConfig, run_monte_carlo
    from twin.sim.config import sample_durations
    from twin.sim.network import compile_network

    path = SHARED / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
    section(f"3. HS2 ({path.name}): 1,000 and 10,000 replications")
    sched = read_schedule(path)
    cfg = SimConfig(sched, name="HS2")
    print(f"{len(sched.activities)} activities, {len(sched.relationships)} relationships, {len(sched.calendars)} calendars")
    # reference: a plain Monte Carlo loop calling the CPM once per replication
    net = compile_network(sched)
    n_ref = max(5, int(20 * scale))
    d = sample_durations(cfg, net.ids, net.dur, 1, np.arange(n_ref))
    acts = list(sched.activities.values())
    from dataclasses import replace as dc_replace

    def naive():
        for k in range(n_ref):
            new = {a.id: (dc_replace(a, remaining_h=d[k, j] / 60.0) if net.started[j] else
                          dc_replace(a, duration_h=d[k, j] / 60.0)) if a.duration_h > 0 else a
                   for j, a in enumerate(acts)}
            compute_cpm(dc_replace(sched, activities=new))
    timed("reference: compute_cpm per replication (1 core)", naive, n_ref)
    r10 = int(10_000 * scale)
    print(f"-- vectorised path, {r10:,} replications (target: under 5 s on 2 cores)")
    speedup(cfg, r10, "vectorised")
    if simpy:
        rs = max(4, int(1000 * scale))
        print(f"-- SimPy path, {rs:,} replications on 2 workers (target: under 60 s)")
        t1, res, _ = timed("simpy path, 2 workers", lambda: run_monte_carlo(cfg, rs, 1, workers=2, path="simpy"), rs)
        vec = run_monte_carlo(cfg, rs, 1, workers=2, path="vectorised")
        print(f"SimPy and vectorised finishes identical for the same draws: "
              f"{bool(np.array_equal(res.project_finish, vec.project_finish))} "
              f"(no HS2 activity needs a shared resource, so the engine settles each one without a "
              f"process: {res.events} SimPy events)")
        small = max(4, rs // 5)
        print(f"-- SimPy path, {small:,} replications: speed-up with workers")
        speedup(cfg, small, "simpy")


def building(scale: float) -> None:
    from twin.ifc.generate import generate_for_elements
    from twin.plan import load_rates
    from twin.sim import load_config, run_monte_carlo, summarise

    section("4. generated 5,000-element building, crews per trade (2 each) and two tower cranes")
    tmp = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    summ = generate_for_elements(tmp / "b5000.ifc", 5000)
    crews = "\n".join(f'[[resources.crews]]\ntrade = "{t}"\ncount = 2\n' for t in sorted(load_rates().trades))
    crane = ('[[resources.cranes]]\nname = "{n}"\nx = {x}\ny = 24.0\nradius_m = 60.0\nlift_time_min = 15.0\n'
             'lift_time = {{distribution = "triangular", low = 8.0, mode = 12.0, high = 25.0}}\n')
    (tmp / "b5000.toml").write_text(
        f'[project]\nname = "b5000"\nstart = 2027-03-01T08:00:00\n[model]\nfiles = ["b5000.ifc"]\n'
        f'[plan]\nstrategy = "two-crews"\nzones = 4\n[resources]\n{crews}\n'
        + crane.format(n="TC1", x=20.0) + crane.format(n="TC2", x=70.0))
    t = time.perf_counter()
    cfg, _, _ = load_config(tmp / "b5000.toml")
    print(f"{summ.elements} elements; load model + plan + links {time.perf_counter() - t:.1f} s; "
          f"{len(cfg.schedule.activities)} activities, {sum(sum(d.lifts.values()) for d in cfg.demands.values())} lifts")
    runs = max(4, int(1000 * scale))
    small = max(4, runs // 10)
    print(f"-- {small:,} replications: speed-up with workers")
    speedup(cfg, small, "simpy")
    t2, res, c2 = timed("SimPy path (crews, cranes, weather), 2 workers, warm", lambda: run_monte_carlo(cfg, runs, 1, workers=2),
                        runs)
    print(f"events: {res.events:,} = {res.events / t2:,.0f} events/s on 2 workers (wall), "
          f"{res.events / c2:,.0f} per CPU-second")
    s = summarise(res)
    cranes = {k: v for k, v in s["resources"].items() if k.startswith("TC")}
    print(f"CPM finish {s['cpm_finish']:%Y-%m-%d}, P50 {s['finish']['p50']:%Y-%m-%d}, P90 {s['finish']['p90']:%Y-%m-%d}, "
          f"weather days lost {s['weather_days_lost']['mean']:.1f}; cranes " +
          ", ".join(f"{k} {v['utilisation']:.0%} busy, wait {v['wait_h_per_day']:.2f} h/day" for k, v in cranes.items()))


def psplib() -> None:
    import csv

    from twin.sim import run_monte_carlo
    from twin.sim.psplib import PSPLIB_START, read_sm
    from twin.worktime import to_minutes

    section("5. PSPLIB j30 (480 instances, 4 resources): resource-constrained makespans vs proven optima")
    folder = SHARED / "samples" / "psplib" / "j30"
    with (folder / "optimum.csv").open() as fh:
        optimum = {r["problem"]: int(r["optimum"]) for r in csv.DictReader(fh)}
    ref = json.loads((SHARED / "validation" / "cases.json").read_text())["rcpsp"]["reference_points"]
    t0, dev, below = time.perf_counter(), [], 0
    for name, opt in sorted(optimum.items()):
        res = run_monte_carlo(read_sm(folder / name), runs=1, seed=1, workers=1)
        makespan = (int(res.project_finish[0]) - to_minutes(PSPLIB_START)) / 60
        below += makespan < opt
        dev.append((makespan - opt) / opt * 100)
    dt = time.perf_counter() - t0
    print(f"ours (SimPy dispatcher, first-fit in request order): mean deviation {np.mean(dev):.2f} %, "
          f"optimal {np.mean(np.array(dev) == 0):.0%}, worst {max(dev):.1f} %, below optimum {below} "
          f"(must be 0), {dt:.1f} s for 480")
    print(f"reference: single-pass serial SGS, LST {ref['single_pass_serial_sgs_LST_avg_deviation_pct']} %, "
          f"LFT {ref['single_pass_serial_sgs_LFT_avg_deviation_pct']} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--skip-hs2-simpy", action="store_true")
    ap.add_argument("--only", choices=("queueing", "reliable", "hs2", "building", "psplib"))
    a = ap.parse_args()
    if not SHARED.exists():
        sys.exit(f"{SHARED} is absent: the benchmark needs the shared reference files")
    import os
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    todo = [a.only] if a.only else ["queueing", "reliable", "hs2", "building", "psplib"]
    if "queueing" in todo:
        queueing()
    if "reliable" in todo:
        reliable()
    if "hs2" in todo:
        hs2(a.scale, not a.skip_hs2_simpy)
    if "building" in todo:
        building(a.scale)
    if "psplib" in todo:
        psplib()


if __name__ == "__main__":
    main()
