"""``twin simulate`` and ``twin compare``: Monte Carlo of a scenario or a bare schedule, and paired
comparison of several. The commands only read inputs, call :mod:`twin.sim` and print."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from twin.cli._common import app, console, handle_errors, print_json, progress_bar
from twin.errors import InputError

_RUNS = typer.Option("--runs", "-n", help="Replications (default: the scenario's, else 1000).")
_SEED = typer.Option("--seed", help="Seed of every random number (default: the scenario's, else 1).")
_WORKERS = typer.Option("--workers", "-w", help="Worker processes (default: all CPUs; 1 = in process).")
_SCHED = typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786): run there instead.")
_PATH = typer.Option("--path", help="auto | vectorised | simpy.")


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option}: expected an ISO date-time like 2027-06-30T17:00, got '{text}'") from None


def _simulate(path: Path, runs: int | None, seed: int | None, workers: int | None, scheduler: str | None,
              deterministic: bool, sim_path: str, show: bool, label: str = ""):
    from twin.sim.inputs import load_config
    from twin.sim.montecarlo import run_monte_carlo

    config, scen_runs, scen_seed = load_config(path)
    if deterministic:
        config = config.deterministic()
        runs = 1
    if runs is None:
        runs = scen_runs or 1000
    seed = seed if seed is not None else (scen_seed if scen_seed is not None else 1)
    if runs < 1:
        raise InputError(f"--runs must be >= 1, got {runs}")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if not show:
        return run_monte_carlo(config, runs, seed, workers=workers, scheduler=scheduler, path=sim_path)
    with progress_bar() as bar:
        task = bar.add_task(f"simulating {label or path.name}", total=runs)
        update: Callable[[int], None] = lambda done: bar.update(task, completed=done)  # noqa: E731
        return run_monte_carlo(config, runs, seed, workers=workers, scheduler=scheduler, path=sim_path,
                               progress=update)


def _print_summary(s: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"[bold]{s['name']}[/]: {s['runs']} runs, seed {s['seed']}, {s['path']} path, "
                  f"{s['seconds']:.1f} s")
    console.print(f"  CPM finish        {s['cpm_finish']:%Y-%m-%d %H:%M}  "
                  f"(P(finish by it) = {s['p_finish_by_cpm']:.0%})")
    for k in ("p10", "p50", "p80", "p90", "mean"):
        console.print(f"  {k.upper():<17} {s['finish'][k]:%Y-%m-%d %H:%M}")
    console.print(f"  weather days lost {s['weather_days_lost']['mean']:.1f} (mean)")
    if s["resources"]:
        t = Table("resource", "utilisation", "mean wait h", "wait h/day")
        for name, r in s["resources"].items():
            t.add_row(name, f"{r['utilisation']:.0%}", f"{r['mean_wait_h']:.2f}", f"{r['wait_h_per_day']:.2f}")
        console.print(t)
    top = sorted(s["criticality"].items(), key=lambda kv: -kv[1])[:10]
    if top:
        t = Table("activity", "criticality")
        for aid, c in top:
            t.add_row(aid, f"{c:.2f}")
        console.print(t)


@app.command("simulate")
@handle_errors
def simulate_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario (.toml) or schedule file (.xer, .xml, .csv).")],
    runs: Annotated[Optional[int], _RUNS] = None,
    seed: Annotated[Optional[int], _SEED] = None,
    workers: Annotated[Optional[int], _WORKERS] = None,
    scheduler: Annotated[Optional[str], _SCHED] = None,
    deterministic: Annotated[bool, typer.Option("--deterministic", help="No uncertainty, no weather, unlimited resources: equals the CPM.")] = False,
    path: Annotated[str, _PATH] = "auto",
    at: Annotated[Optional[str], typer.Option("--at", help="Also give each element's probability of being complete by this date-time.")] = None,
    activities: Annotated[bool, typer.Option("--activities", help="Include per-activity start/finish P10/P50/P90.")] = False,
    top: Annotated[Optional[int], typer.Option("--top", help="Only the N most critical activities in 'criticality'.")] = None,
    s_curve: Annotated[Optional[int], typer.Option("--s-curve", help="Also give the S-curve (P10/P50/P90 share of activities complete) at N dates.")] = None,
    daily_waits: Annotated[bool, typer.Option("--waits-by-day", help="Also give each pool's mean queue wait per calendar day.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Monte Carlo simulation of a scenario (crews, cranes, weather, uncertainty) or a schedule."""
    from twin.sim.results import (activity_percentiles, completion_probability, s_curve_table, summarise,
                                  waits_by_day)

    if s_curve is not None and s_curve < 2:
        raise InputError(f"--s-curve needs at least 2 dates, got {s_curve}")
    when = _when(at, "--at")
    result = _simulate(scenario, runs, seed, workers, scheduler, deterministic, path, show=True)
    summary = summarise(result, top=top)
    if activities:
        summary["activities"] = activity_percentiles(result)
    if when is not None:
        summary["completion"] = {"at": when, "elements": completion_probability(result, when)}
    if s_curve is not None:
        summary["s_curve"] = s_curve_table(result, s_curve)
    if daily_waits:
        for name, days in waits_by_day(result).items():
            summary["resources"][name]["wait_h_by_day"] = days
    if json_out:
        print_json(summary)
    else:
        _print_summary(summary)


@app.command("compare")
@handle_errors
def compare_command(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenarios or schedule files.")],
    runs: Annotated[Optional[int], _RUNS] = None,
    seed: Annotated[Optional[int], _SEED] = None,
    workers: Annotated[Optional[int], _WORKERS] = None,
    scheduler: Annotated[Optional[str], _SCHED] = None,
    path: Annotated[str, _PATH] = "auto",
    top: Annotated[Optional[int], typer.Option("--top", help="Most critical activities per scenario.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Simulate each scenario with common random numbers; P(A before B) and paired differences."""
    from rich.table import Table

    from twin.sim.compare import compare_results

    if len(scenarios) < 2:
        raise InputError(f"compare needs at least two scenarios, got {len(scenarios)}")
    results = []
    seen: dict[str, int] = {}
    for p in scenarios:
        r = _simulate(p, runs, seed if seed is not None else 1, workers, scheduler, False, path, show=True,
                      label=p.name)
        name = r.name or p.stem
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1 or name in [x.name for x in results]:
            name = f"{name} ({p.name})" if name != p.name else f"{name} #{seen[name]}"
        results.append(replace(r, name=name))
    runs_used = {r.runs for r in results}
    if len(runs_used) > 1:
        raise InputError(f"scenarios ran with different run counts {sorted(runs_used)}; pass --runs")
    out = compare_results(results, top=top)
    if json_out:
        print_json(out)
        return
    t = Table()
    t.add_column("scenario", no_wrap=True)
    for head in ("P50", "P80", "P90", "mean", "weather days lost"):
        t.add_column(head, no_wrap=True, min_width=10)
    for s in out["scenarios"]:
        f = s["finish"]
        t.add_row(s["name"], *(f"{f[k]:%Y-%m-%d}" for k in ("p50", "p80", "p90", "mean")),
                  f"{s['weather_days_lost']['mean']:.1f}")
    console.print(t)
    t = Table("A", "B", "P(A before B)", "95% CI", "mean A-B days")
    for p in out["pairs"]:
        t.add_row(p["a"], p["b"], f"{p['p_a_before_b']:.3f}", f"{p['ci_low']:.3f}-{p['ci_high']:.3f}",
                  f"{p['mean_difference_days']:+.1f}")
    console.print(t)
