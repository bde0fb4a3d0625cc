"""Results and comparison figures derived from Monte Carlo runs; the demo building against the CPM."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from twin.cpm import compute_cpm
from twin.errors import InputError
from twin.schedule import Activity, Calendar, Relationship, Schedule
from twin.sim import SimConfig, compare_results, run_monte_carlo
from twin.sim.compare import paired_difference
from twin.sim.resources import Demand, ResourcePool
from twin.sim.results import activity_percentiles, completion_probability, s_curve, summarise
from twin.worktime import from_minutes

ROOT = Path(__file__).resolve().parents[2]
MONDAY = datetime(2024, 3, 4)


def _chain(b_hours: float = 16.0) -> Schedule:
    acts = {"A": Activity("A", duration_h=8), "B": Activity("B", duration_h=b_hours), "C": Activity("C", duration_h=8)}
    rels = (Relationship("A", "B"), Relationship("B", "C"))
    return Schedule(acts, rels, {"standard": Calendar("standard")}, start=MONDAY,
                    element_links=(("A", "g-found"), ("B", "g-frame"), ("C", "g-roof"), ("B", "g-roof")))


def test_completion_probability_follows_each_elements_activities():
    res = run_monte_carlo(SimConfig(_chain()), runs=200, seed=1, workers=1)
    when = datetime(2024, 3, 4, 17, 0)
    early = completion_probability(res, when)
    a_done = np.array([from_minutes(res.origin + int(m)) <= when for m in res.finish[:, 0]])
    assert 0 < a_done.mean() < 1 and early["g-found"] == a_done.mean()
    assert early["g-frame"] == 0.0 and early["g-roof"] == 0.0
    never = completion_probability(res, datetime(2024, 3, 4, 9, 0))
    always = completion_probability(res, datetime(2024, 6, 1))
    assert set(never.values()) == {0.0} and set(always.values()) == {1.0}
    mid = completion_probability(res, datetime(2024, 3, 6, 17, 0))
    assert mid["g-roof"] <= mid["g-frame"] <= mid["g-found"] == 1.0


def test_deterministic_summary_is_the_cpm_everywhere():
    res = run_monte_carlo(SimConfig(_chain()).deterministic(), runs=1, seed=1, workers=1)
    s = summarise(res)
    assert set(s["finish"].values()) == {datetime(2024, 3, 7, 17, 0)} == {s["cpm_finish"]}
    assert s["criticality"] == {"A": 1.0, "B": 1.0, "C": 1.0}
    pct = activity_percentiles(res)
    assert pct["B"]["start"]["p50"] == datetime(2024, 3, 5, 8, 0)


def test_s_curve_rises_from_zero_to_one():
    res = run_monte_carlo(SimConfig(_chain()), runs=100, seed=2, workers=1)
    dates = [datetime(2024, 3, 4, 8), datetime(2024, 3, 6, 12), datetime(2024, 4, 1)]
    curve = s_curve(res, dates)
    assert curve.shape == (3, 3)
    assert np.all(curve[:, 0] == 0) and np.all(curve[:, -1] == 1)
    assert np.all(np.diff(curve, axis=1) >= 0)


def test_comparison_is_paired_and_needs_the_same_seed():
    fast = run_monte_carlo(SimConfig(_chain(16), name="fast"), runs=300, seed=5, workers=1)
    slow = run_monte_carlo(SimConfig(_chain(24), name="slow"), runs=300, seed=5, workers=1)
    pair = paired_difference(fast, slow)
    # common random numbers: A and C draw the same, B's draw scales; fast always wins
    assert pair["p_a_before_b"] == 1.0 and pair["ci_low"] > 0.98
    assert pair["mean_difference_days"] < 0
    other = run_monte_carlo(SimConfig(_chain(24), name="slow"), runs=300, seed=6, workers=1)
    with pytest.raises(InputError, match="not paired"):
        paired_difference(fast, other)
    out = compare_results([fast, slow])
    assert [s["name"] for s in out["scenarios"]] == ["fast", "slow"] and len(out["pairs"]) == 1


def test_zero_duration_task_needing_a_crew_is_refused():
    sched = _chain()
    acts = dict(sched.activities)
    acts["B"] = Activity("B", duration_h=0)
    bad = Schedule(acts, sched.relationships, sched.calendars, start=MONDAY)
    cfg = SimConfig(bad, pools=(ResourcePool("crew", capacity=1),), demands={"B": Demand(crews={"crew": 1})})
    with pytest.raises(InputError, match="zero duration for activities that need resources: 'B'"):
        run_monte_carlo(cfg, runs=2, workers=1)


def test_importing_the_simulator_does_not_import_simpy():
    code = "import sys, twin.sim; print('simpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_demo_building_plan_deterministic_equals_cpm(tmp_path):
    model = ROOT / "samples" / "demo_building.ifc"
    if not model.exists():
        pytest.skip("samples/demo_building.ifc is absent")
    from twin.sim import load_config

    scen = tmp_path / "demo.toml"
    scen.write_text(f'[project]\nname = "demo"\nstart = 2027-03-01T08:00:00\n[model]\nfiles = ["{model}"]\n'
                    f'[plan]\nstrategy = "two-crews"\nzones = 2\n')
    cfg, _, _ = load_config(scen)
    res = run_monte_carlo(cfg.deterministic(), runs=1, seed=1, workers=1, path="simpy")
    cpm = compute_cpm(cfg.schedule)
    for j, aid in enumerate(res.ids):
        assert from_minutes(res.origin + int(res.finish[0, j])) == cpm.dates[aid].early_finish, aid
        assert from_minutes(res.origin + int(res.start[0, j])) == cpm.dates[aid].early_start, aid
