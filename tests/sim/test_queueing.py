"""Resource pools against queueing closed forms in validation/cases.json."""
from __future__ import annotations

import json

import pytest

from twin.errors import InputError
from twin.sim.distributions import fixed
from twin.sim.queueing import erlang_c, finite_source, simulate_finite_source, simulate_mmc
from twin.sim.resources import Demand, ResourcePool, cranes_reaching, validate_demands


@pytest.fixture
def queueing(shared):
    return json.loads((shared / "validation" / "cases.json").read_text())["queueing"]


def test_erlang_c_closed_form_matches_reference(queueing):
    for c in queueing["erlang_c"]["cases"]:
        p, wq = erlang_c(c["lam_per_h"], c["mu_per_h"], c["c"])
        assert p == pytest.approx(c["p_wait"], abs=1e-4)
        assert wq == pytest.approx(c["wq_minutes"], rel=2e-3)


def test_finite_source_closed_form_matches_reference(queueing):
    q = queueing["finite_source"]
    for c in q["cases"]:
        tput, util, wq = finite_source(c["trucks"], q["loader_mean_min"], q["travel_mean_min"])
        assert tput == pytest.approx(c["loads_per_h"], rel=2e-3)
        assert util == pytest.approx(c["loader_utilisation"], abs=1e-3)
        assert wq == pytest.approx(c["wq_minutes"], abs=2e-3)


@pytest.mark.parametrize("index", range(6))
def test_simulated_trucks_and_loader_within_2_percent(queueing, index):
    q = queueing["finite_source"]
    c = q["cases"][index]
    sim = simulate_finite_source(c["trucks"], q["loader_mean_min"], q["travel_mean_min"],
                                 horizon_min=1.5e6, seed=20 + index)
    assert sim.throughput_per_h == pytest.approx(c["loads_per_h"], rel=0.02)
    assert sim.utilisation == pytest.approx(c["loader_utilisation"], rel=0.02)
    assert sim.mean_wait_min == pytest.approx(c["wq_minutes"], rel=0.02, abs=1e-9)


@pytest.mark.parametrize("index", range(4))
def test_simulated_crane_waits_within_3_standard_errors_of_erlang_c(queueing, index):
    c = queueing["erlang_c"]["cases"][index]
    sim = simulate_mmc(c["lam_per_h"], c["mu_per_h"], c["c"], customers=100_000, seed=1000 + index)
    assert abs(sim.mean_wait_min - c["wq_minutes"]) < 3 * sim.wait_se
    assert sim.p_wait == pytest.approx(c["p_wait"], abs=0.01)


def test_demand_above_capacity_is_refused_with_names():
    pools = [ResourcePool("formwork", capacity=2)]
    with pytest.raises(InputError, match="activity 'A100' needs 3 units of 'formwork', which has only 2"):
        validate_demands({"A100": Demand(crews={"formwork": 3})}, pools)


def test_unknown_resource_is_refused_with_names():
    pools = [ResourcePool("formwork", capacity=2)]
    with pytest.raises(InputError, match="activity 'B7' needs resource 'scaffold'"):
        validate_demands({"B7": Demand(crews={"scaffold": 1})}, pools)


def test_lifts_from_a_crew_are_refused():
    pools = [ResourcePool("formwork", capacity=2)]
    with pytest.raises(InputError, match="not a crane or hoist"):
        validate_demands({"C1": Demand(lifts={"formwork": 4})}, pools)


def test_cranes_reaching_orders_nearest_first_and_respects_radius():
    cranes = [ResourcePool("TC1", "crane", 1, lift_min=fixed(10), position=(0, 0), radius=40),
              ResourcePool("TC2", "crane", 1, lift_min=fixed(10), position=(30, 0), radius=40)]
    assert cranes_reaching((25, 0), cranes) == ["TC2", "TC1"]
    assert cranes_reaching((-30, 0), cranes) == ["TC1"]
    assert cranes_reaching((200, 0), cranes) == []
