"""Re-forecast the finish from where the job stands, with the same simulator (``twin.sim``).

From the data date: complete work is fixed at its actual dates, work in progress continues on its
remaining duration (reported, else planned x (1 - percent)), and work not started has its durations
(planned, three-point and explicit distributions alike) scaled by the productivity factor observed so
far for its trade (:func:`twin.status.estimate_productivity`, a shrinkage estimate). Then the same
Monte Carlo as ``twin simulate`` runs (same crews, cranes, weather and uncertainty as the scenario, same
random numbers for the same activity ids), giving P10/P50/P80/P90 of the finish.

With every factor at 1 and progress exactly on plan, the forecast is the plan's own simulation from
the data date; with no progress at all and the data date at the project start it *is* the plan's
simulation, run for run (tested). The simulator is imported lazily (it is a core-to-sim orchestration;
importing this module loads no engine).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Mapping

from twin.schedule import Schedule, ThreePoint
from twin.status import Productivity, duration_factors, estimate_productivity

__all__ = ["Forecast", "baseline_dates", "scale_durations", "run_forecast"]


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast of the project finish at a data date.

    ``finish`` holds ``p10``, ``p50``, ``p80``, ``p90`` and ``mean`` date-times; ``cpm_finish`` the
    deterministic CPM finish of the progressed, rescaled schedule; ``plan_finish`` the baseline CPM
    finish; ``factors`` the duration factor per trade (``"*"``: the project) applied to work not started;
    ``plan_simulation`` the plan's own simulated ``p50``/``p80`` with the same runs and seed (None when
    not computed), so that the effect of progress can be told from what the simulator adds to the CPM.
    """

    data_date: datetime
    finish: Mapping[str, datetime]
    cpm_finish: datetime
    plan_finish: datetime | None
    runs: int
    seed: int
    deterministic: bool
    factors: Mapping[str, float] = field(default_factory=dict)
    productivity: Mapping[str, Productivity] = field(default_factory=dict)
    plan_simulation: Mapping[str, datetime] | None = None   # the plan's own P50/P80 (same runs and seed)

    @property
    def p50(self) -> datetime:
        return self.finish["p50"]

    @property
    def p80(self) -> datetime:
        return self.finish["p80"]

    def to_dict(self) -> dict[str, Any]:
        return {"data_date": self.data_date, **{k: v for k, v in self.finish.items()},
                "cpm_finish": self.cpm_finish, "plan_finish": self.plan_finish, "runs": self.runs,
                "seed": self.seed, "deterministic": self.deterministic, "factors": dict(self.factors),
                "plan_p50": (self.plan_simulation or {}).get("p50"), "plan_p80": (self.plan_simulation or {}).get("p80")}


def baseline_dates(schedule: Schedule) -> tuple[dict[str, tuple[datetime, datetime]], datetime | None]:
    """The as-planned dates of every activity and the planned finish.

    Activities with planned dates in the file (P6 planned/target dates, MS Project Start/Finish) keep
    them; the others take the CPM early dates of the schedule with its progress removed. When that CPM
    cannot run (e.g. corrupt planned durations that only progress made harmless, as in the HS2 file),
    activities without planned dates in the file have no baseline. The finish is the latest baseline
    finish (None when nothing has one).
    """
    from twin.cpm import compute_cpm
    from twin.errors import ScheduleError
    from twin.progress import strip_progress

    out: dict[str, tuple[datetime, datetime]] = {}
    missing = False
    for aid, a in schedule.activities.items():
        if a.planned_start is not None and a.planned_finish is not None:
            out[aid] = (a.planned_start, max(a.planned_finish, a.planned_start))
        else:
            missing = True
    if missing or not out:
        try:
            cpm = compute_cpm(strip_progress(schedule))
        except ScheduleError:
            if not out:
                raise
        else:
            for aid, d in cpm.dates.items():
                out.setdefault(aid, (d.early_start, d.early_finish))
    finish = max((f for _, f in out.values()), default=None)
    return out, finish


def scale_durations(schedule: Schedule, factors: Mapping[str, float]) -> Schedule:
    """A new schedule whose activities in ``factors`` (id -> factor) take that many times longer.

    Planned duration, remaining duration (when set) and the three-point estimate are all scaled.
    """
    acts = dict(schedule.activities)
    for aid, f in factors.items():
        a = acts.get(aid)
        if a is None or f == 1.0:
            continue
        tp = a.three_point
        acts[aid] = replace(
            a, duration_h=a.duration_h * f, remaining_h=None if a.remaining_h is None else a.remaining_h * f,
            three_point=None if tp is None else ThreePoint(tp.optimistic * f, tp.most_likely * f, tp.pessimistic * f))
    return replace(schedule, activities=acts)


def _config(config: Any, schedule: Schedule, factors: Mapping[str, float]) -> Any:
    from twin.sim import SimConfig
    from twin.sim.distributions import Distribution

    if config is None:
        return SimConfig(schedule, name=schedule.name)
    demands = {aid: d for aid, d in config.demands.items()
               if aid in schedule.activities and schedule.activities[aid].actual_finish is None}
    u = config.uncertainty
    if u is not None and u.per_activity:
        per = {aid: (Distribution(d.kind, d.low * factors[aid], d.mode * factors[aid], d.high * factors[aid], d.lam)
                     if aid in factors and d.kind != "lognormal" else d) for aid, d in u.per_activity.items()}
        u = replace(u, per_activity=per)
    return replace(config, schedule=schedule, demands=demands, uncertainty=u)


def run_forecast(
    progressed: Schedule,
    *,
    config: Any = None,
    runs: int = 500,
    seed: int = 1,
    workers: int | None = 1,
    deterministic: bool = False,
    productivity: bool = True,
    prior_strength: float = 2.0,
    plan_finish: datetime | None = None,
    plan_simulation: bool | Mapping[str, datetime] = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[Forecast, Any]:
    """Forecast the finish of a progressed schedule (see the module docstring).

    Parameters
    ----------
    progressed : schedule with actuals and ``data_date`` set (``twin.progress.apply_progress``)
    config : the scenario's ``twin.sim.SimConfig`` (resources, weather, uncertainty); its schedule is
        replaced by ``progressed``. None: schedule-only risk analysis with default uncertainty.
    runs, seed, workers : as ``twin.sim.run_monte_carlo``
    deterministic : no uncertainty, weather or resource limits: one run, the CPM
    productivity : scale work not started by the observed factors (False: plan durations)
    prior_strength : ``k`` of the shrinkage estimate (finished-activity equivalents)
    plan_finish : the baseline finish to report (default: computed from ``progressed``)
    plan_simulation : True to also simulate the plan (progress removed, plan durations) with the same
        runs and seed; a mapping ``{p50, p80}`` to reuse figures computed before; False for neither

    Returns
    -------
    (Forecast, twin.sim.MonteCarloResult)
    """
    from twin.sim import run_monte_carlo
    from twin.sim.results import finish_percentiles

    dd = progressed.data_date or progressed.start
    estimates = estimate_productivity(progressed, dd, prior_strength=prior_strength) if dd is not None else {}
    factors = duration_factors(progressed, estimates) if productivity and estimates else {}
    schedule = scale_durations(progressed, factors)
    cfg = _config(config, schedule, factors)
    if deterministic:
        cfg, runs = cfg.deterministic(), 1
    result = run_monte_carlo(cfg, runs=runs, seed=seed, workers=workers, progress=progress)
    if plan_finish is None:
        plan_finish = baseline_dates(progressed)[1]
    trade_factors = {k: (p.factor if productivity else 1.0) for k, p in estimates.items()}
    plan_sim = dict(plan_simulation) if isinstance(plan_simulation, Mapping) else None
    if plan_simulation is True:
        from twin.errors import TwinError
        from twin.progress import strip_progress

        plan_cfg = _config(config, strip_progress(progressed), {})
        plan_cfg = plan_cfg.deterministic() if deterministic else plan_cfg
        try:
            pct = finish_percentiles(run_monte_carlo(plan_cfg, runs=runs, seed=seed, workers=workers))
            plan_sim = {"p50": pct["p50"], "p80": pct["p80"]}
        except TwinError:   # a plan that cannot be simulated without its progress (corrupt durations)
            plan_sim = None
    fc = Forecast(dd, finish_percentiles(result), result.cpm_finish, plan_finish, runs, seed,
                  bool(result.deterministic), trade_factors, estimates, plan_sim)
    return fc, result
