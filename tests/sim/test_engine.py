"""The SimPy engine and the vectorised path: CPM equality, pairing, resources, cranes, weather, errors."""
from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pytest

from twin.cpm import compute_cpm
from twin.errors import InputError
from twin.schedule import Activity, Calendar, RelationType, Relationship, Schedule, ThreePoint
from twin.sim import distributions as dist
from twin.sim.config import RiskEvent, SimConfig, Uncertainty, sample_durations
from twin.sim.engine import build_model, simulate_run
from twin.sim.montecarlo import choose_path, run_monte_carlo
from twin.sim.network import compile_network
from twin.sim.resources import Demand, ResourcePool
from twin.sim.vectorised import forward_runs
from twin.sim.weather import WeatherModel, sample_weather
from twin.worktime import from_minutes, full_day_calendar, to_minutes

MONDAY = datetime(2024, 3, 4)


def _cases(shared):
    return {c["name"]: c for c in json.loads((shared / "validation" / "cases.json").read_text())["cpm"]}


def _textbook(case, unit_h: float, most_likely: bool = True) -> Schedule:
    acts = {}
    for k, (d, preds) in case["activities"].items():
        if isinstance(d, list):
            acts[k] = Activity(k, duration_h=d[1] * unit_h, calendar="24h",
                               three_point=ThreePoint(*(x * unit_h for x in d)))
        else:
            acts[k] = Activity(k, duration_h=d * unit_h, calendar="24h")
    rels = tuple(Relationship(p, k) for k, (_, preds) in case["activities"].items() for p in preds)
    return Schedule(acts, rels, {"24h": full_day_calendar()}, default_calendar="24h", start=datetime(2024, 1, 1))


def _assert_equals_cpm(schedule: Schedule) -> None:
    cpm = compute_cpm(schedule)
    model = build_model(SimConfig(schedule).deterministic())
    rec = simulate_run(model, model.net.dur, seed=1, run=0)
    vec = forward_runs(model.net, model.net.dur[None, :].copy())
    for j, aid in enumerate(model.net.ids):
        d = cpm.dates[aid]
        assert (from_minutes(rec.start[j]), from_minutes(rec.finish[j])) == (d.early_start, d.early_finish), aid
        assert (vec.start[0, j], vec.finish[0, j]) == (rec.start[j], rec.finish[j]), aid
    on_path = {aid for aid, c in zip(model.net.ids, rec.critical) if c}
    assert on_path == set(cpm.critical_path)


def _mixed_links() -> Schedule:
    acts = {a: Activity(a, duration_h=h) for a, h in
            [("A", 16), ("B", 24), ("C", 8), ("D", 40), ("E", 12), ("F", 4), ("G", 20)]}
    rels = (Relationship("A", "B"), Relationship("A", "C", RelationType.SS, 4),
            Relationship("B", "D", RelationType.FF, 8), Relationship("C", "D"),
            Relationship("C", "E", RelationType.SF, 10), Relationship("D", "F", lag_h=-4),
            Relationship("E", "G", RelationType.SS, 0), Relationship("F", "G"))
    return Schedule(acts, rels, {"standard": Calendar("standard")}, start=MONDAY)


def test_deterministic_equals_cpm_on_hendrickson(shared):
    _assert_equals_cpm(_textbook(_cases(shared)["hendrickson_9"], 24.0))


def test_deterministic_equals_cpm_on_reliable_construction(shared):
    _assert_equals_cpm(_textbook(_cases(shared)["reliable_construction"], 168.0))


def test_deterministic_equals_cpm_with_all_link_types_lags_and_calendar():
    _assert_equals_cpm(_mixed_links())


def test_deterministic_equals_cpm_on_hs2(shared):
    from twin.importers import read_schedule

    path = shared / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    _assert_equals_cpm(read_schedule(path))


def test_paths_agree_on_hs2_with_sampled_durations(shared):
    from twin.importers import read_schedule

    path = shared / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    cfg = SimConfig(read_schedule(path))
    model = build_model(cfg)
    durations = sample_durations(cfg, model.net.ids, model.net.dur, seed=3, runs=np.arange(3))
    vec = forward_runs(model.net, durations)
    for r in range(3):
        rec = simulate_run(model, durations[r], seed=3, run=r)
        assert np.array_equal(rec.start, vec.start[r]) and np.array_equal(rec.finish, vec.finish[r])
        assert np.array_equal(rec.critical, vec.critical[r])


def test_vectorised_and_simpy_paths_agree_on_sampled_durations():
    cfg = SimConfig(_mixed_links(), uncertainty=Uncertainty(default_spread=(0.5, 1.0, 2.5)))
    net = compile_network(cfg.schedule)
    durations = sample_durations(cfg, net.ids, net.dur, seed=9, runs=np.arange(30))
    vec = forward_runs(net, durations)
    model = build_model(cfg, net)
    for r in range(30):
        rec = simulate_run(model, durations[r], seed=9, run=r)
        assert np.array_equal(rec.start, vec.start[r]) and np.array_equal(rec.finish, vec.finish[r])
        assert np.array_equal(rec.critical, vec.critical[r])


def test_reliable_construction_monte_carlo_matches_reference(shared):
    case = _cases(shared)["reliable_construction"]
    result = run_monte_carlo(SimConfig(_textbook(case, 168.0)), runs=40_000, seed=5, workers=1)
    weeks = (result.project_finish - to_minutes(datetime(2024, 1, 1))) / (168 * 60)
    n = weeks.size
    p47 = (weeks <= 47).mean()
    assert abs(p47 - 0.816) < 3 * np.sqrt(0.816 * 0.184 / n) + 0.001
    assert abs(weeks.mean() - 44.32) < 3 * weeks.std() / np.sqrt(n) + 0.005
    crit = dict(zip(result.ids, result.critical_count / n))
    expect = {"J": 0.90, "N": 0.90, "E": 0.83, "F": 0.83, "L": 0.74, "K": 0.16,
              "D": 0.10, "G": 0.10, "H": 0.10, "M": 0.10, "A": 1.0, "C": 1.0}
    for k, v in expect.items():
        assert crit[k] == pytest.approx(v, abs=0.01), k


def test_common_random_numbers_pair_shared_activities():
    base = _mixed_links()
    extra = dict(base.activities)
    extra["Z"] = Activity("Z", duration_h=30)
    other = Schedule(extra, base.relationships, base.calendars, start=MONDAY)
    a, b = SimConfig(base), SimConfig(other)
    na, nb = compile_network(a.schedule), compile_network(b.schedule)
    da = sample_durations(a, na.ids, na.dur, 4, np.arange(50))
    db = sample_durations(b, nb.ids, nb.dur, 4, np.arange(50))
    for aid in na.ids:
        assert np.array_equal(da[:, na.index[aid]], db[:, nb.index[aid]])


def test_same_seed_same_result_and_independent_of_chunking():
    cfg = SimConfig(_mixed_links())
    r1 = run_monte_carlo(cfg, runs=40, seed=2, workers=1)
    r2 = run_monte_carlo(cfg, runs=40, seed=2, workers=1, chunk_size=7)
    assert np.array_equal(r1.project_finish, r2.project_finish)
    r3 = run_monte_carlo(cfg, runs=40, seed=3, workers=1)
    assert not np.array_equal(r1.project_finish, r3.project_finish)


def test_risk_event_delays_only_the_runs_where_it_occurs():
    sched = _mixed_links()
    risk = RiskEvent("ground", 0.3, dist.fixed(16.0), ("A",))
    cfg = SimConfig(sched, uncertainty=Uncertainty(default_spread=(1, 1, 1), risks=(risk,)))
    net = compile_network(sched)
    d = sample_durations(cfg, net.ids, net.dur, 1, np.arange(2000))
    extra = d[:, net.index["A"]] - 16 * 60
    assert set(np.unique(extra)) == {0, 16 * 60}
    assert (extra > 0).mean() == pytest.approx(0.3, abs=0.03)


def _parallel(n: int = 3, hours: float = 8.0, lifts: int = 0) -> Schedule:
    acts = {f"W{i}": Activity(f"W{i}", duration_h=hours, attributes={"weather": "none"}) for i in range(n)}
    return Schedule(acts, (), {"standard": Calendar("standard")}, start=MONDAY)


def test_one_crew_serialises_parallel_work_and_records_waits():
    sched = _parallel(3, 8.0)
    cfg = SimConfig(sched, pools=(ResourcePool("formwork", capacity=1),),
                    demands={a: Demand(crews={"formwork": 1}) for a in sched.activities}, uncertainty=None)
    assert choose_path(cfg) == "simpy"
    res = run_monte_carlo(cfg, runs=1, seed=1, workers=1)
    assert from_minutes(int(res.project_finish[0])) == datetime(2024, 3, 6, 17, 0)
    # waits: the second crew waits one working day (Mon 08:00 -> Mon 17:00 = 540 min), the third two
    assert res.mean_wait_min[0, 0] == pytest.approx((540 + 1980) / 3)
    from twin.sim.results import waits_by_day
    assert waits_by_day(res) == {"formwork": [{"date": date(2024, 3, 4), "mean_wait_h": (540 + 1980) / 60}]}
    det = run_monte_carlo(cfg.deterministic(), runs=1, seed=1, workers=1)
    assert from_minutes(int(det.project_finish[0])) == datetime(2024, 3, 4, 17, 0)


def test_shared_crane_lifts_queue_and_delay_work():
    sched = _parallel(2, 8.0)
    crane = ResourcePool("TC1", "crane", 1, lift_min=dist.fixed(60))
    demands = {a: Demand(lifts={"TC1": 4}) for a in sched.activities}
    res = run_monte_carlo(SimConfig(sched, pools=(crane,), demands=demands, uncertainty=None),
                          runs=1, seed=1, workers=1)
    # 8 one-hour lifts share one crane: the crane is the bottleneck, both finish later than 17:00
    assert from_minutes(int(res.project_finish[0])) > datetime(2024, 3, 4, 17, 0)
    assert res.mean_wait_min[0, 0] > 0
    two = ResourcePool("TC1", "crane", 2, lift_min=dist.fixed(60))
    free = run_monte_carlo(SimConfig(sched, pools=(two,), demands=demands, uncertainty=None),
                           runs=1, seed=1, workers=1)
    assert from_minutes(int(free.project_finish[0])) == datetime(2024, 3, 4, 17, 0)
    assert free.mean_wait_min[0, 0] == 0


def test_rain_stops_sensitive_work_on_wet_days_only():
    acts = {"POUR": Activity("POUR", "Pour concrete slab", duration_h=80),
            "WALLS": Activity("WALLS", "Internal walls", duration_h=80)}
    sched = Schedule(acts, (), {"standard": Calendar("standard")}, start=MONDAY)
    weather = WeatherModel(p01=(0.4,) * 12, p11=(0.6,) * 12)
    cfg = SimConfig(sched, weather=weather, uncertainty=None)
    assert choose_path(cfg) == "simpy"
    model = build_model(cfg)
    rec = simulate_run(model, model.net.dur, seed=3, run=0)
    wet, _ = sample_weather(weather, MONDAY.date(), model.horizon_days, 3, [0])
    # count 10 dry weekdays from Monday
    day, worked, lost = MONDAY.date(), 0, 0
    k = 0
    while worked < 10:
        if day.weekday() < 5:
            if wet[0, k]:
                lost += 1
            else:
                worked += 1
        if worked < 10:
            day = date.fromordinal(day.toordinal() + 1)
            k += 1
    j = model.net.index
    assert from_minutes(int(rec.finish[j["POUR"]])) == datetime(day.year, day.month, day.day, 17, 0)
    assert from_minutes(int(rec.finish[j["WALLS"]])) == datetime(2024, 3, 15, 17, 0)
    assert rec.weather_days_lost == lost


@pytest.mark.parametrize("change, match", [
    ("negative", "negative or non-finite duration for activity 'A'"),
    ("capacity", "activity 'A' needs 3 units of 'crew', which has only 2"),
    ("unknown", "activity 'A' needs resource 'ghost', which no pool provides"),
    ("weather", "p01 for January must be a probability in \\[0, 1\\], got 1.5"),
])
def test_bad_input_is_refused_before_the_run(change, match):
    sched = _mixed_links()
    pools = (ResourcePool("crew", capacity=2),)
    demands = {"A": Demand(crews={"crew": 1})}
    weather = None
    if change == "negative":
        acts = dict(sched.activities)
        acts["A"] = Activity("A", duration_h=-8)
        sched = Schedule(acts, sched.relationships, sched.calendars, start=MONDAY)
    elif change == "capacity":
        demands = {"A": Demand(crews={"crew": 3})}
    elif change == "unknown":
        demands = {"A": Demand(crews={"ghost": 1})}
    if change == "weather":
        with pytest.raises(InputError, match=match):
            WeatherModel(p01=(1.5,) + (0.2,) * 11, p11=(0.5,) * 12)
        return
    with pytest.raises(InputError, match=match):
        run_monte_carlo(SimConfig(sched, pools=pools, demands=demands, weather=weather), runs=5, workers=1)


def test_process_pool_gives_the_same_result_as_in_process():
    cfg = SimConfig(_mixed_links())
    one = run_monte_carlo(cfg, runs=60, seed=8, workers=1)
    two = run_monte_carlo(cfg, runs=60, seed=8, workers=2, chunk_size=15)
    assert np.array_equal(one.finish, two.finish)
    assert np.array_equal(one.critical_count, two.critical_count)


def test_dask_local_cluster_gives_the_same_result():
    distributed = pytest.importorskip("distributed")
    cfg = SimConfig(_mixed_links(), pools=(ResourcePool("crew", capacity=1),),
                    demands={"C": Demand(crews={"crew": 1}), "E": Demand(crews={"crew": 1})})
    local = run_monte_carlo(cfg, runs=16, seed=4, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = run_monte_carlo(cfg, runs=16, seed=4, scheduler=client, chunk_size=4)
    assert remote.path == "simpy"
    assert np.array_equal(local.finish, remote.finish)


@pytest.mark.parametrize("days", [2, 4000])
def test_tabulated_calendars_give_the_same_dates(days):
    """Direct-lookup calendars equal binary search, inside the window and (by fallback) beyond it."""
    from twin.sim.fastcal import tabulate

    cfg = SimConfig(_mixed_links(), uncertainty=Uncertainty(default_spread=(0.5, 1.0, 3.0)))
    net = compile_network(cfg.schedule)
    durations = sample_durations(cfg, net.ids, net.dur, seed=2, runs=np.arange(200))
    t0 = (net.dd // 1440 - 1) * 1440
    fast = tabulate(net, t0, t0 + days * 1440)
    a, b = forward_runs(net, durations), forward_runs(fast, durations)
    assert np.array_equal(a.start, b.start) and np.array_equal(a.finish, b.finish)
    assert np.array_equal(a.critical, b.critical)
