"""Status at a data date: planned percent in working time, earned value, SPI, lights, groups, productivity."""
from __future__ import annotations

import math
from datetime import datetime

import pytest

from twin.cpm import compute_cpm
from twin.errors import InputError
from twin.forecast import baseline_dates
from twin.progress import ProgressRecord, apply_progress
from twin.status import compute_status, duration_factors, estimate_productivity

DD = datetime(2027, 3, 18)          # the end of Wednesday 17 March
ON_PLAN = [ProgressRecord("A", datetime(2027, 3, 1, 8), datetime(2027, 3, 5, 17), 100.0),
           ProgressRecord("B", datetime(2027, 3, 8, 8), datetime(2027, 3, 11, 17), 100.0)]


def _status(schedule, c_pc, d_pc, **kw):
    recs = ON_PLAN + [ProgressRecord("C", datetime(2027, 3, 12, 8), None, c_pc),
                      ProgressRecord("D", datetime(2027, 3, 12, 8), None, d_pc)]
    p = apply_progress(schedule, recs, DD)
    base, _ = baseline_dates(schedule)
    return compute_status(p, base, DD, cpm=compute_cpm(p), **kw)


def test_planned_percent_counts_working_time_only(schedule):
    st = _status(schedule, 40.0, 66.7)
    # C: 10 working days from Friday 12 March; by the end of Wednesday 17th, 4 have passed (not 6 calendar days)
    assert st.activities["C"].planned_percent == pytest.approx(40.0)
    assert st.activities["D"].planned_percent == pytest.approx(400 / 6)
    assert st.activities["A"].planned_percent == 100.0 and st.activities["E"].planned_percent == 0.0


def test_on_plan_is_green_everywhere(schedule):
    st = _status(schedule, 40.0, 400 / 6)
    assert set(st.lights.values()) == {"green"}
    assert st.project.light == "green" and st.project.spi == pytest.approx(1.0)


def test_earned_value_and_spi(schedule):
    st = _status(schedule, 30.0, 50.0)
    c = st.activities["C"]
    assert c.budget_h == 80 and c.pv_h == pytest.approx(32) and c.ev_h == pytest.approx(24)
    assert c.sv_h == pytest.approx(-8) and c.sv_days == pytest.approx(-1) and c.spi == pytest.approx(0.75)
    pv = 40 + 32 + 32 + 48 * (4 / 6)
    ev = 40 + 32 + 24 + 24
    assert st.project.spi == pytest.approx(ev / pv)


@pytest.mark.parametrize("d_pc, light", [(400 / 6, "green"), (70.0, "green"), (64.0, "yellow"), (62.0, "yellow"),
                                         (61.0, "red"), (30.0, "red")])
def test_a_non_critical_activity_is_yellow_up_to_five_percent_behind(schedule, d_pc, light):
    # D plans 66.7 % by the data date; 62 % is 4.7 % of its duration behind, 61 % is 5.7 %
    st = _status(schedule, 40.0, d_pc)
    assert not st.activities["D"].critical
    assert st.activities["D"].light == light


def test_a_critical_activity_behind_at_all_is_red(schedule):
    st = _status(schedule, 39.0, 400 / 6)
    assert st.activities["C"].critical and st.activities["C"].behind == pytest.approx(0.01)
    assert st.activities["C"].light == "red" and st.project.light == "red"


def test_the_tolerance_is_configurable(schedule):
    assert _status(schedule, 40.0, 57.0, tolerance=0.15).activities["D"].light == "yellow"
    assert _status(schedule, 40.0, 57.0).activities["D"].light == "red"
    with pytest.raises(InputError, match="tolerance"):
        _status(schedule, 40.0, 57.0, tolerance=5)


def test_groups_by_storey_zone_and_trade(schedule):
    st = _status(schedule, 40.0, 50.0)
    assert set(st.groups["storey"]) == {"L00", "L01"} and set(st.groups["zone"]) == {"Z1", "Z2"}
    assert st.groups["storey"]["L00"].light == "green" and st.groups["storey"]["L00"].actual_percent == 100
    assert st.groups["zone"]["Z2"].light == "red" and st.groups["zone"]["Z2"].counts["red"] == 1
    assert st.groups["trade"]["concrete"].activities == 2
    assert [s.activity_id for s in st.slipping()] == ["D"]


def test_an_overdue_milestone_is_late(schedule):
    p = apply_progress(schedule, [], datetime(2027, 5, 1))
    base, _ = baseline_dates(schedule)
    st = compute_status(p, base, datetime(2027, 5, 1), cpm=compute_cpm(p))
    assert st.activities["M"].behind == 1.0 and st.activities["M"].light == "red"


def test_productivity_is_shrunk_towards_the_project_and_the_plan(schedule):
    """A took 6 days for 5 (r = 1.2, weight 1); B is half done after 2.4 days of 4 (r = 1.2, weight 0.5)."""
    recs = [ProgressRecord("A", datetime(2027, 3, 1, 8), datetime(2027, 3, 8, 17), 100.0),
            ProgressRecord("B", datetime(2027, 3, 9, 8), None, 50.0)]
    dd = datetime(2027, 3, 11, 11, 12)     # 2 days and 3.2 hours = 19.2 h spent for 16 h earned
    p = apply_progress(schedule, recs, dd)
    est = estimate_productivity(p, dd, prior_strength=2.0)
    y = math.log(1.2)
    m = 1.5 * y / (1.5 + 2)
    assert est["*"].observed == pytest.approx(1.2) and est["*"].factor == pytest.approx(math.exp(m))
    assert est["earthworks"].factor == pytest.approx(math.exp((1 * y + 2 * m) / 3))
    assert est["concrete"].factor == pytest.approx(math.exp((0.5 * y + 2 * m) / 2.5))
    assert est["mep"].observations == 0 and est["mep"].factor == pytest.approx(math.exp(m))
    f = duration_factors(p, est)
    assert set(f) == {"C", "D", "E"} and f["C"] == est["concrete"].factor
    assert estimate_productivity(p, dd, prior_strength=0)["earthworks"].factor == pytest.approx(1.2)


def test_elements_take_the_worst_light_of_the_work_due(schedule):
    from twin.status import element_lights

    st = _status(schedule, 40.0, 62.0)            # C green (critical, on plan), D yellow
    links = [("A", "g1"), ("C", "g2"), ("D", "g2"), ("D", "g3"), ("E", "g4")]
    assert element_lights(st, links) == {"g1": "green", "g2": "yellow", "g3": "yellow"}   # E not due: left out
    assert element_lights(st, links, active_only=False)["g4"] == "green"


def test_the_as_built_curve_earns_work_between_its_actual_dates(schedule):
    from twin.status import earned_curve

    p = apply_progress(schedule, ON_PLAN + [ProgressRecord("C", datetime(2027, 3, 12, 8), None, 50.0)], DD)
    total = 40 + 32 + 80 + 48 + 64
    times = [datetime(2027, 3, 1, 8), datetime(2027, 3, 5, 17), datetime(2027, 3, 11, 17), DD, datetime(2027, 4, 1)]
    curve = earned_curve(p, times, DD)
    assert len(curve) == 4                                               # nothing after the data date
    assert curve[0] == 0 and curve[1] == pytest.approx(100 * 40 / total)
    assert curve[2] == pytest.approx(100 * 72 / total) and curve[3] == pytest.approx(100 * (72 + 40) / total)


def test_elements_reported_on_their_own_get_their_own_4d_window():
    from twin.fourd import TaskWindow, build_timeline
    from twin.report import element_windows

    w = {"C": TaskWindow("C", datetime(2027, 3, 12, 8), datetime(2027, 3, 25, 17), actual_start=datetime(2027, 3, 12, 8))}
    links = [("C", "g1"), ("C", "g2")]
    recs = [ProgressRecord("C", datetime(2027, 3, 12, 8), datetime(2027, 3, 15, 17), 100.0, global_id="g1")]
    windows, new_links = element_windows(w, links, recs)
    assert new_links == [("C@g1", "g1"), ("C", "g2")] and windows["C@g1"].actual_finish == datetime(2027, 3, 15, 17)
    states = build_timeline(windows, new_links, ["g1", "g2"]).state_at(datetime(2027, 3, 16, 8))
    counts = states.count()      # g1 finished on its own on the 15th; g2 follows its activity, still under way
    assert counts["complete"] == 1 and counts["in_progress"] == 1
    assert element_windows(w, links, [])[1] == links
