"""Re-forecast with the simulator: on plan = the plan's simulation; 20 % slower moves P50 by a computable amount."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from twin.forecast import baseline_dates, run_forecast, scale_durations
from twin.importers.csv import read_csv
from twin.progress import ProgressRecord, apply_progress
from twin.schedule import Calendar
from twin.sim import SimConfig, run_monte_carlo
from twin.worktime import WorkCalendar

CHAIN = "id,name,duration_days,predecessors,start,trade\n" + "\n".join(
    f"A{i},Pour {i},5,{'' if i == 1 else f'A{i - 1}'},{'2027-03-01' if i == 1 else ''},concrete" for i in range(1, 7)) + "\n"
CAL = WorkCalendar(Calendar("standard"))


def _chain(tmp_path):
    p = tmp_path / "chain.csv"
    p.write_text(CHAIN)
    return read_csv(p)


def _done(n: int, days_each: int) -> tuple[list[ProgressRecord], datetime]:
    """The first n pours, each taking ``days_each`` working days back to back from 1 March 08:00."""
    recs, t = [], datetime(2027, 3, 1, 8)
    for i in range(1, n + 1):
        finish = CAL.add_working(t, days_each * 8 * 60)
        recs.append(ProgressRecord(f"A{i}", t, finish, 100.0))
        t = CAL.next_working_dt(finish)
    return recs, finish


def test_no_progress_at_the_start_is_the_plans_own_simulation(tmp_path):
    s = _chain(tmp_path)
    plan = run_monte_carlo(SimConfig(s), runs=300, seed=11, workers=1)
    fc, res = run_forecast(apply_progress(s, [], s.start), runs=300, seed=11)
    assert np.array_equal(res.project_finish, plan.project_finish)
    assert fc.factors["*"] == 1.0 and fc.plan_finish == datetime(2027, 4, 9, 17)
    fc2, _ = run_forecast(apply_progress(s, [], s.start), runs=300, seed=11, plan_simulation=True)
    assert fc2.plan_simulation == {"p50": fc.p50, "p80": fc.p80}


def test_the_plans_own_simulation_is_given_beside_the_forecast(tmp_path):
    s = _chain(tmp_path)
    slow_recs, slow_dd = _done(3, 6)
    fc, _ = run_forecast(apply_progress(s, slow_recs, slow_dd), runs=200, seed=2, plan_simulation=True)
    plan = run_monte_carlo(SimConfig(s), runs=200, seed=2, workers=1)
    from twin.sim.results import finish_percentiles

    assert fc.plan_simulation["p50"] == finish_percentiles(plan)["p50"] < fc.p50


def test_actuals_on_plan_forecast_the_plan_finish(tmp_path):
    s = _chain(tmp_path)
    recs, dd = _done(3, 5)
    fc, _ = run_forecast(apply_progress(s, recs, dd), deterministic=True)
    assert set(fc.factors.values()) == {1.0}
    assert fc.p50 == fc.p80 == fc.plan_finish == datetime(2027, 4, 9, 17)


def test_twenty_percent_slower_moves_p50_by_the_computed_amount(tmp_path):
    """Three of six 5-day pours are done, each in 6 days (1.2x). Against the same three done on plan:

    * the data date is 3 working days (24 h) later: the time already lost;
    * the shrinkage estimate (k = 2) sees n = 3 finished observations of y = ln 1.2 in one trade:
      m = 3y / (3 + 2) = 0.6y for the project, theta = (3y + 2m) / 5 = 0.84y for concrete, so the
      three pours left take f = 1.2 ** 0.84 = 1.1655 times their planned durations;
    * with common random numbers each run samples the same uniforms for A4..A6, so each run's remaining
      work is exactly f times the on-plan run's (to the rounded minute), and so is its median R50.
    The P50 moves by 24 h + (f - 1) R50 working hours (about 44.5 h for R50 ~ 124 h): equal within
    the rounding of three durations to the minute, not merely within Monte Carlo noise.
    """
    s = _chain(tmp_path)
    on_recs, on_dd = _done(3, 5)
    slow_recs, slow_dd = _done(3, 6)
    assert CAL.working_between(on_dd, slow_dd) == 24 * 60
    on, _ = run_forecast(apply_progress(s, on_recs, on_dd), runs=400, seed=5)
    slow, _ = run_forecast(apply_progress(s, slow_recs, slow_dd), runs=400, seed=5)
    f = 1.2 ** 0.84
    assert slow.factors["concrete"] == pytest.approx(f)
    r50 = CAL.working_between(on_dd, on.p50)
    expected = 24 * 60 + (f - 1) * r50
    shift = CAL.working_between(on.p50, slow.p50)
    assert r50 > 110 * 60 and shift == pytest.approx(expected, abs=3)
    assert 40 * 60 < shift < 50 * 60
    det_on, _ = run_forecast(apply_progress(s, on_recs, on_dd), deterministic=True)
    det_slow, _ = run_forecast(apply_progress(s, slow_recs, slow_dd), deterministic=True)
    assert CAL.working_between(det_on.p50, det_slow.p50) == pytest.approx(24 * 60 + (f - 1) * 120 * 60, abs=2)


def test_without_productivity_scaling_only_the_lost_time_moves_the_finish(tmp_path):
    s = _chain(tmp_path)
    slow_recs, slow_dd = _done(3, 6)
    fc, _ = run_forecast(apply_progress(s, slow_recs, slow_dd), deterministic=True, productivity=False)
    assert CAL.working_between(datetime(2027, 4, 9, 17), fc.p50) == 24 * 60


def test_in_progress_work_continues_on_its_remaining_duration(tmp_path):
    s = _chain(tmp_path)
    recs, dd = _done(2, 5)
    recs.append(ProgressRecord("A3", CAL.next_working_dt(dd), None, 20.0, remaining_h=40.0))
    dd2 = CAL.add_working(CAL.next_working_dt(dd), 8 * 60)
    fc, _ = run_forecast(apply_progress(s, recs, dd2), deterministic=True, productivity=False)
    # 40 h left on A3 + 3 x 40 h, from the end of Monday 15 March
    assert fc.p50 == CAL.add_working(dd2, 160 * 60)


def test_scaling_covers_three_point_estimates_and_leaves_the_input_alone(tmp_path):
    p = tmp_path / "tp.csv"
    p.write_text("id,name,duration_days,predecessors,optimistic,most_likely,pessimistic,start\n"
                 "A,One,5,,4,5,8,2027-03-01\n")
    s = read_csv(p)
    t = scale_durations(s, {"A": 1.5})
    assert t.activities["A"].duration_h == 60 and t.activities["A"].three_point.pessimistic == pytest.approx(96)
    assert s.activities["A"].duration_h == 40
    base, finish = baseline_dates(t)
    assert finish == datetime(2027, 3, 10, 12) == base["A"][1]   # 60 h = 7.5 working days from Monday 1 March


@pytest.mark.slow
def test_p6_actuals_replayed_onto_the_programme_give_p6s_own_finish(shared):
    """HS2's 693 started activities as progress records, applied at P6's data date: the deterministic
    forecast without productivity scaling is P6's stored finish (the reference), and the status is sane
    although four activities carry corrupt planned durations (millions of hours)."""
    from twin.importers import read_schedule
    from twin.progress import make_update, records_from_schedule
    from twin.status import compute_status

    s = read_schedule(shared / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer")
    recs = records_from_schedule(s)
    update = make_update(recs, s, s.data_date, scenario="hs2")
    progressed = apply_progress(s, update.records, s.data_date)
    fc, _ = run_forecast(progressed, deterministic=True, productivity=False)
    p6_finish = max(a.reference["early_finish"] for a in s.activities.values() if a.reference.get("early_finish"))
    assert len(recs) == 693 and fc.p50 == p6_finish == datetime(2023, 1, 13, 17)
    base, plan_finish = baseline_dates(s)
    st = compute_status(progressed, base, s.data_date)
    assert 0.8 < st.project.spi < 1.5 and 0 < st.project.planned_percent < 20
