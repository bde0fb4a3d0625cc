"""CPM engine: textbook cases (validation/cases.json), link types, lags, constraints, progress, errors."""
from __future__ import annotations

import json
import math
from datetime import datetime

import pytest

from twin.cpm import compute_cpm
from twin.errors import ScheduleCycleError, ScheduleError
from twin.schedule import (
    Activity,
    ActivityType,
    Calendar,
    Constraint,
    ConstraintType,
    Relationship,
    RelationType,
    Schedule,
    ScheduleOptions,
)
from twin.worktime import full_day_calendar

MON = datetime(2024, 3, 4)  # a Monday


def day_schedule(durations_days: dict[str, float], preds: dict[str, list[str]]) -> Schedule:
    """A schedule in whole days on a 24-hour calendar (1 day = 24 working hours)."""
    acts = {k: Activity(k, duration_h=v * 24) for k, v in durations_days.items()}
    rels = tuple(Relationship(p, k) for k, ps in preds.items() for p in ps)
    return Schedule(acts, rels, {"24h": full_day_calendar("24h")}, default_calendar="24h", start=MON)


def std_schedule(acts: list[Activity], rels: list[Relationship], **kw) -> Schedule:
    return Schedule({a.id: a for a in acts}, tuple(rels), {"standard": Calendar("standard")}, start=MON, **kw)


@pytest.fixture
def cases(shared) -> dict:
    path = shared / "validation" / "cases.json"
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    return {c["name"]: c for c in json.loads(path.read_text())["cpm"]}


def test_hendrickson_nine_activities_match_the_textbook(cases):
    case = cases["hendrickson_9"]
    acts = case["activities"]
    r = compute_cpm(day_schedule({k: v[0] for k, v in acts.items()}, {k: v[1] for k, v in acts.items()}))
    exp = case["expect"]
    assert (r.finish - r.start).total_seconds() / 86400 == exp["duration"]
    assert list(r.critical_path) == exp["critical_path"]
    assert {k: d.total_float_h / 24 for k, d in r.dates.items()} == exp["total_float"]
    assert set(r.critical) == set(exp["critical_path"])


def test_reliable_construction_pert_means_match_the_textbook(cases):
    case = cases["reliable_construction"]
    acts = case["activities"]
    means = {k: (a + 4 * m + b) / 6 for k, ((a, m, b), _) in acts.items()}
    r = compute_cpm(day_schedule(means, {k: v[1] for k, v in acts.items()}))
    exp = case["expect"]
    assert (r.finish - r.start).total_seconds() / 86400 == pytest.approx(exp["pert_mean_duration"])
    assert list(r.critical_path) == exp["critical_path"]
    for k, tf in exp["total_float_on_mean_durations"].items():
        assert r.dates[k].total_float_h / 24 == pytest.approx(tf)
    variance = sum(((acts[k][0][2] - acts[k][0][0]) / 6) ** 2 for k in r.critical_path)
    assert variance == pytest.approx(exp["pert_variance_on_critical_path"])


def test_a_finish_on_friday_evening_drives_a_monday_morning_start():
    r = compute_cpm(std_schedule([Activity("A", duration_h=40), Activity("B", duration_h=8)],
                                 [Relationship("A", "B")]))
    assert r.dates["A"].early_finish == datetime(2024, 3, 8, 17)
    assert r.dates["B"].early_start == datetime(2024, 3, 11, 8)
    assert r.dates["B"].early_finish == datetime(2024, 3, 11, 17)


@pytest.mark.parametrize("rtype,lag,b_start,b_finish", [
    (RelationType.FS, 4, datetime(2024, 3, 5, 13), datetime(2024, 3, 6, 12)),
    (RelationType.FS, -4, datetime(2024, 3, 4, 13), datetime(2024, 3, 5, 12)),
    (RelationType.SS, 2, datetime(2024, 3, 4, 10), datetime(2024, 3, 5, 10)),
    (RelationType.FF, 8, datetime(2024, 3, 5, 8), datetime(2024, 3, 5, 17)),
    (RelationType.SF, 12, datetime(2024, 3, 4, 13), datetime(2024, 3, 5, 12)),
])
def test_each_relationship_type_with_lags(rtype, lag, b_start, b_finish):
    r = compute_cpm(std_schedule([Activity("A", duration_h=8), Activity("B", duration_h=8)],
                                 [Relationship("A", "B", rtype, lag)]))
    assert (r.dates["B"].early_start, r.dates["B"].early_finish) == (b_start, b_finish)


def test_lag_on_a_24_hour_calendar_counts_the_weekend():
    acts = [Activity("A", duration_h=40), Activity("B", duration_h=8)]
    s = std_schedule(acts, [Relationship("A", "B", RelationType.FS, 48)],
                     options=ScheduleOptions(lag_calendar="24h"))
    # A ends Fri 17:00; 48 clock hours later is Sun 17:00; B starts Mon 08:00
    assert compute_cpm(s).dates["B"].early_start == datetime(2024, 3, 11, 8)
    s2 = std_schedule(acts, [Relationship("A", "B", RelationType.FS, 48)])
    # on the predecessor's calendar 48 h are six working days: Mon 18th 17:00, so Tue 19th 08:00
    assert compute_cpm(s2).dates["B"].early_start == datetime(2024, 3, 19, 8)


def test_start_on_or_after_delays_and_finish_on_or_before_gives_negative_float():
    acts = [Activity("A", duration_h=16, constraints=(Constraint(ConstraintType.START_ON_OR_AFTER,
                                                                  datetime(2024, 3, 6, 8)),)),
            Activity("B", duration_h=8, constraints=(Constraint(ConstraintType.FINISH_ON_OR_BEFORE,
                                                                 datetime(2024, 3, 7, 17)),))]
    r = compute_cpm(std_schedule(acts, [Relationship("A", "B")]))
    assert r.dates["A"].early_start == datetime(2024, 3, 6, 8)
    assert r.dates["B"].early_finish == datetime(2024, 3, 8, 17)
    assert r.dates["B"].total_float_h == -8.0
    assert r.dates["A"].total_float_h == -8.0


def test_mandatory_start_overrides_logic():
    acts = [Activity("A", duration_h=40),
            Activity("B", duration_h=8, constraints=(Constraint(ConstraintType.MANDATORY_START, MON),))]
    r = compute_cpm(std_schedule(acts, [Relationship("A", "B")]))
    assert r.dates["B"].early_start == MON.replace(hour=8)


def test_as_late_as_possible_uses_the_free_float():
    acts = [Activity("A", duration_h=8, constraints=(Constraint(ConstraintType.AS_LATE_AS_POSSIBLE),)),
            Activity("B", duration_h=40), Activity("C", duration_h=8)]
    r = compute_cpm(std_schedule(acts, [Relationship("A", "C"), Relationship("B", "C")]))
    assert r.dates["A"].early_start == datetime(2024, 3, 8, 8)
    assert r.dates["A"].free_float_h == 0.0


def test_progress_at_a_data_date_schedules_remaining_work_from_it():
    acts = [Activity("A", duration_h=16, actual_start=MON.replace(hour=8), actual_finish=datetime(2024, 3, 5, 17)),
            Activity("B", duration_h=24, actual_start=datetime(2024, 3, 6, 8), remaining_h=8),
            Activity("C", duration_h=8)]
    s = std_schedule(acts, [Relationship("A", "B"), Relationship("B", "C")], data_date=datetime(2024, 3, 11))
    r = compute_cpm(s)
    assert r.dates["B"].early_start == datetime(2024, 3, 11, 8)
    assert r.dates["B"].early_finish == datetime(2024, 3, 11, 17)
    assert r.dates["C"].early_start == datetime(2024, 3, 12, 8)
    assert math.isnan(r.dates["A"].total_float_h)
    assert r.dates["A"].actual_finish == datetime(2024, 3, 5, 17)


def test_milestones_take_no_time():
    acts = [Activity("A", duration_h=8), Activity("M", type=ActivityType.FINISH_MILESTONE),
            Activity("S", type=ActivityType.START_MILESTONE)]
    r = compute_cpm(std_schedule(acts, [Relationship("A", "M"), Relationship("A", "S")]))
    assert r.dates["M"].early_start == r.dates["M"].early_finish == datetime(2024, 3, 4, 17)
    assert r.dates["S"].early_start == datetime(2024, 3, 5, 8)


def test_a_logic_loop_names_the_activities_in_it():
    acts = [Activity(x, duration_h=8) for x in "ABCD"]
    rels = [Relationship("A", "B"), Relationship("B", "C"), Relationship("C", "D"), Relationship("D", "B")]
    with pytest.raises(ScheduleCycleError, match="loop") as err:
        compute_cpm(std_schedule(acts, rels))
    assert set(err.value.cycle) == {"B", "C", "D"}


def test_a_link_to_an_unknown_activity_is_an_error():
    with pytest.raises(ScheduleError, match="unknown activity 'Z'"):
        compute_cpm(std_schedule([Activity("A", duration_h=8)], [Relationship("A", "Z")]))


def test_an_unknown_calendar_is_an_error_naming_the_activity():
    with pytest.raises(ScheduleError, match="activity 'A' uses unknown calendar 'night'"):
        compute_cpm(std_schedule([Activity("A", duration_h=8, calendar="night")], []))


def test_the_inputs_are_not_changed():
    s = std_schedule([Activity("A", duration_h=8)], [])
    before = repr(s.activities)
    compute_cpm(s)
    assert repr(s.activities) == before


def test_the_core_loads_no_heavy_packages():
    import subprocess
    import sys

    code = ("import sys, twin.cpm, twin.worktime, twin.importers.xer; "
            "heavy = [m for m in ('ifcopenshell', 'simpy', 'pyvista', 'plotly', 'streamlit', 'sqlalchemy') "
            "if m in sys.modules]; print(heavy); sys.exit(bool(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _out_of_sequence(progress: str):
    # B started before its predecessor A finished (out of sequence); 8 h of B remain
    acts = [Activity("A", duration_h=40, actual_start=MON.replace(hour=8), remaining_h=16),
            Activity("B", duration_h=16, actual_start=datetime(2024, 3, 5, 8), remaining_h=8)]
    s = std_schedule(acts, [Relationship("A", "B")], data_date=datetime(2024, 3, 7, 8),
                     options=ScheduleOptions(progress=progress))
    return compute_cpm(s)


def test_retained_logic_holds_out_of_sequence_work_until_the_predecessor_finishes():
    r = _out_of_sequence("retained_logic")
    assert r.dates["A"].early_finish == datetime(2024, 3, 8, 17)
    assert r.dates["B"].early_start == datetime(2024, 3, 11, 8)
    assert r.dates["B"].actual_start == datetime(2024, 3, 5, 8)


def test_progress_override_lets_out_of_sequence_work_continue_at_the_data_date():
    r = _out_of_sequence("progress_override")
    assert r.dates["B"].early_start == datetime(2024, 3, 7, 8)
    assert r.dates["B"].early_finish == datetime(2024, 3, 7, 17)


def test_complete_work_driven_by_unfinished_predecessor_sits_after_it():
    acts = [Activity("A", duration_h=16, actual_start=MON.replace(hour=8), remaining_h=8),
            Activity("B", duration_h=8, actual_start=MON.replace(hour=8), actual_finish=MON.replace(hour=17)),
            Activity("C", duration_h=8)]
    s = std_schedule(acts, [Relationship("A", "B"), Relationship("B", "C")], data_date=datetime(2024, 3, 5, 8))
    r = compute_cpm(s)
    assert r.dates["B"].early_start == r.dates["A"].early_finish == datetime(2024, 3, 5, 17)
    assert r.dates["C"].early_start == datetime(2024, 3, 6, 8)


def test_start_bounded_by_a_weekend_successor_reads_as_friday_evening():
    seven = Calendar("7d", week=(((480, 960),),) * 7)
    acts = {a.id: a for a in [Activity("A", duration_h=8, calendar="standard"),
                               Activity("B", duration_h=8, calendar="7d",
                                        constraints=(Constraint(ConstraintType.FINISH_ON_OR_BEFORE,
                                                                datetime(2024, 3, 9, 16)),)),
                               Activity("Z", duration_h=80)]}  # keeps the project finish later
    s = Schedule(acts, (Relationship("A", "B"),), {"standard": Calendar("standard"), "7d": seven}, start=MON)
    r = compute_cpm(s)
    # B must start by Saturday 08:00; A (Mon-Fri) must finish by then: Friday 17:00, not Monday
    assert r.dates["B"].late_start == datetime(2024, 3, 9, 8)
    assert r.dates["A"].late_finish == datetime(2024, 3, 8, 17)
    assert r.dates["A"].late_start == datetime(2024, 3, 8, 8)


def test_level_of_effort_spans_its_links():
    acts = [Activity("A", duration_h=16), Activity("B", duration_h=24),
            Activity("L", duration_h=0, type=ActivityType.LEVEL_OF_EFFORT)]
    rels = [Relationship("A", "B"), Relationship("A", "L", RelationType.SS),
            Relationship("L", "B", RelationType.FF)]
    r = compute_cpm(std_schedule(acts, rels))
    assert r.dates["L"].early_start == datetime(2024, 3, 4, 8)
    assert r.dates["L"].early_finish == r.dates["B"].early_finish == datetime(2024, 3, 8, 17)


def test_results_pickle_for_caching():
    import pickle

    r = compute_cpm(std_schedule([Activity("A", duration_h=8)], []))
    again = pickle.loads(pickle.dumps(r))
    assert again.dates["A"] == r.dates["A"] and again.finish == r.finish


def test_a_wbs_summary_spans_the_activities_below_it():
    acts = [Activity("S", name="Frame", duration_h=999, type=ActivityType.WBS_SUMMARY),
            Activity("A", duration_h=16, wbs=("Frame",)), Activity("B", duration_h=8, wbs=("Frame",)),
            Activity("C", duration_h=40)]
    r = compute_cpm(std_schedule(acts, [Relationship("A", "B")]))
    assert r.dates["S"].early_start == datetime(2024, 3, 4, 8)
    assert r.dates["S"].early_finish == r.dates["B"].early_finish == datetime(2024, 3, 6, 17)
    assert r.dates["S"].late_finish == r.dates["B"].late_finish == datetime(2024, 3, 8, 17)
    assert r.finish == datetime(2024, 3, 8, 17)  # the summary's own 999 h count for nothing


def test_a_p6_wbs_activity_spans_its_own_wbs_node():
    acts = [Activity("S", name="summary", type=ActivityType.WBS_SUMMARY, wbs=("P", "1")),
            Activity("A", duration_h=8, wbs=("P", "1")), Activity("B", duration_h=24, wbs=("P", "1", "2")),
            Activity("C", duration_h=80, wbs=("P", "9"))]
    r = compute_cpm(std_schedule(acts, [Relationship("A", "B")]))
    assert (r.dates["S"].early_start, r.dates["S"].early_finish) == (datetime(2024, 3, 4, 8),
                                                                       datetime(2024, 3, 7, 17))


def test_open_ends_can_be_made_critical():
    acts = [Activity("A", duration_h=8), Activity("B", duration_h=40)]
    plain = compute_cpm(std_schedule(acts, []))
    assert plain.dates["A"].total_float_h == 32.0
    s = std_schedule(acts, [], options=ScheduleOptions(open_ends_critical=True))
    assert compute_cpm(s).dates["A"].total_float_h == 0.0


def test_actual_dates_after_the_data_date_are_a_counted_warning():
    acts = [Activity("A", duration_h=8, actual_start=datetime(2024, 3, 12, 8), actual_finish=datetime(2024, 3, 12, 17))]
    r = compute_cpm(std_schedule(acts, [], data_date=datetime(2024, 3, 11)))
    assert any("1 activities have actual dates after the data date" in w and "A" in w for w in r.warnings)
