"""Resource handling on PSPLIB j30 instances: feasible schedules, never shorter than the proven optimum."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from twin.cpm import compute_cpm
from twin.errors import InputError
from twin.sim import run_monte_carlo
from twin.sim.psplib import PSPLIB_START, read_sm
from twin.worktime import to_minutes

T0 = to_minutes(PSPLIB_START)


@pytest.fixture
def j30(shared):
    folder = shared / "samples" / "psplib" / "j30"
    if not folder.exists():
        pytest.skip(f"{folder} is absent")
    with (folder / "optimum.csv").open() as fh:
        return folder, {r["problem"]: int(r["optimum"]) for r in csv.DictReader(fh)}


@pytest.mark.parametrize("name", ["j301_1.sm", "j3010_1.sm", "j3025_7.sm", "j3048_10.sm"])
def test_resource_constrained_schedule_is_feasible_and_not_below_the_optimum(j30, name):
    folder, optimum = j30
    cfg = read_sm(folder / name)
    res = run_monte_carlo(cfg, runs=1, seed=1, workers=1)
    start = (res.start[0].astype(np.int64) + res.origin - T0) / 60
    finish = (res.finish[0].astype(np.int64) + res.origin - T0) / 60
    col = {a: j for j, a in enumerate(res.ids)}
    assert (int(res.project_finish[0]) - T0) / 60 >= optimum[name]
    for r in cfg.schedule.relationships:
        assert start[col[r.succ]] >= finish[col[r.pred]], (r.pred, r.succ)
    caps = {p.name: p.capacity for p in cfg.pools}
    for t in np.unique(start):
        running = [a for a in res.ids if start[col[a]] <= t < finish[col[a]]]
        for pool, cap in caps.items():
            used = sum(cfg.demands[a].crews.get(pool, 0) for a in running if a in cfg.demands)
            assert used <= cap, (t, pool, used, cap)


def test_without_resources_the_makespan_is_the_cpm_bound(j30):
    folder, optimum = j30
    cfg = read_sm(folder / "j301_1.sm")
    free = run_monte_carlo(cfg.deterministic(), runs=1, seed=1, workers=1)
    cpm = compute_cpm(cfg.schedule)
    assert int(free.project_finish[0]) == to_minutes(cpm.finish)
    assert (to_minutes(cpm.finish) - T0) / 60 <= optimum["j301_1.sm"]


def test_not_a_psplib_file_is_refused(tmp_path):
    bad = tmp_path / "x.sm"
    bad.write_text("hello\n")
    with pytest.raises(InputError, match="PRECEDENCE RELATIONS"):
        read_sm(bad)
