"""Our CPM against Primavera P6's own computed dates, stored in real XER exports.

HS2_SP10_cost_loaded.xer (P6 8.1, data date 2017-09-16, retained logic, lags on the predecessor's
calendar, finish float) carries P6's early/late start/finish and total/free float per activity. We
recompute the whole programme and compare to the minute.

Result: early start, early finish, late start and late finish equal P6's for every one of the 3,994
activities, free float for every activity P6 gives one. Total float equals P6's for all but 43
activities, named below with the reason, which the test checks rather than asserts.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from twin.cpm import compute_cpm
from twin.importers.xer import read_xer
from twin.worktime import WorkCalendar

DATES = ("early_start", "early_finish", "late_start", "late_finish")

# As-late-as-possible activities whose total float, as stored by P6, is not the working time between
# P6's own stored early finish and late finish on the activity's calendar (checked below for each
# one). Our dates equal P6's for all of them, and our float is that span (finish float, as the
# file's SCHEDOPTIONS asks). P6 stores a float from another stage of its ALAP placement for these
# (for two of them it equals the span on the project's default calendar 639); we could not find one
# rule that reproduces all 43 without breaking the 255 other open ALAP activities that match.
HS2_TF_ALAP_INCONSISTENT_IN_P6 = frozenset({
    "P1EWCC-AWP01-8520", "P1EWCC-FWP03-5070", "P1EWCC-FWP03-5180", "P1EWCC-FWP03-5240",
    "P1EWCC-FWP03-5330", "P1EWCC-FWP03-5470", "P1EWCC-FWP03-5760", "P1EWCC-FWP04-4910",
    "P1EWCC-FWP04-4930", "P1EWCC-FWP04-4990", "P1EWCC-FWP04-5110", "P1EWCC-FWP04-5160",
    "P1EWCC-FWP04-5260", "P1EWCC-FWP04-6010", "P1EWCC-FWP04-6290", "P1EWCC-FWP04-6360",
    "P1EWCC-FWP04-6390", "P1EWCC-FWP04-6440", "P1EWCC-FWP04-6470", "P1EWCC-FWP05-6240",
    "P1EWCC-FWP05-6590", "P1EWCC-FWP06-7000", "P1EWCC-FWP07-5070", "P1EWCC-FWP07-6510",
    "P1EWCC-PWP01-11320", "P1EWCC-PWP01-11330", "P1EWCC-PWP01-11340", "P1EWCC-PWP01-11350",
    "P1EWCC-PWP01-11360", "P1EWCC-PWP01-11370", "P1EWCC-PWP01-11380", "P1EWCC-PWP01-11390",
    "P1EWCC-PWP01-11400", "P1EWCC-PWP01-11410", "P1EWCC-PWP01-11420", "P1EWCC-PWP01-11430",
    "P1EWCC-PWP02-11840", "P1EWCC-PWP02-11850", "P1EWCC-PWP02-11880", "P1EWCC-PWP02-11890",
    "P1EWCC-PWP02-11910", "P1EWCC-PWP02-14440", "P1EWCC-PWP17-6760",
})


def _sample(shared: Path, name: str) -> Path:
    path = shared / "samples" / "schedules" / name
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    return path


@pytest.fixture(scope="module")
def hs2_run():
    import os

    root = Path(__file__).resolve().parents[1]
    shared = Path(os.environ.get("TWIN_SHARED", root.parent / "shared"))
    path = shared / "samples" / "schedules" / "HS2_SP10_cost_loaded.xer"
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    schedule = read_xer(path)
    return schedule, compute_cpm(schedule)


def _mismatches(schedule, result, key):
    out = set()
    for aid, act in schedule.activities.items():
        ref = act.reference.get(key)
        if ref is None:
            continue
        ours = getattr(result.dates[aid], key if key in DATES else f"{key}")
        if isinstance(ref, float):
            if not math.isclose(ref, ours, abs_tol=1e-6):
                out.add(aid)
        elif ref != ours:
            out.add(aid)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("key", DATES)
def test_hs2_every_early_and_late_date_equals_p6_to_the_minute(hs2_run, key):
    schedule, result = hs2_run
    compared = sum(1 for a in schedule.activities.values() if a.reference.get(key) is not None)
    assert compared == 3994
    assert _mismatches(schedule, result, key) == set()


@pytest.mark.slow
def test_hs2_total_float_equals_p6_except_the_named_alap_activities(hs2_run):
    schedule, result = hs2_run
    assert _mismatches(schedule, result, "total_float_h") == HS2_TF_ALAP_INCONSISTENT_IN_P6
    assert len(HS2_TF_ALAP_INCONSISTENT_IN_P6) / len(schedule.activities) < 0.011


@pytest.mark.slow
def test_hs2_the_named_float_differences_are_p6_inconsistencies(hs2_run):
    schedule, result = hs2_run
    cals = {cid: WorkCalendar(c) for cid, c in schedule.calendars.items()}
    for aid in HS2_TF_ALAP_INCONSISTENT_IN_P6:
        act = schedule.activities[aid]
        ref = act.reference
        assert any(c.type.value == "as_late_as_possible" for c in act.constraints), aid
        own = cals[act.calendar].working_between(ref["early_finish"], ref["late_finish"]) / 60
        # our float is exactly the float implied by P6's own dates ...
        assert result.dates[aid].total_float_h == own, aid
        # ... while P6's stored float is not that span
        assert own != ref["total_float_h"], aid


@pytest.mark.slow
def test_hs2_free_float_equals_p6(hs2_run):
    """Including P6's rule that work with an expected finish (sched_use_expect_end_flag) has none."""
    schedule, result = hs2_run
    compared = sum(1 for a in schedule.activities.values() if a.reference.get("free_float_h") is not None)
    assert compared == 3994 - 523  # P6 leaves complete work blank
    assert _mismatches(schedule, result, "free_float_h") == set()


@pytest.mark.slow
def test_hs2_project_finish_and_critical_path(hs2_run):
    schedule, result = hs2_run
    from datetime import datetime

    assert result.finish == datetime(2023, 1, 13, 17, 0)  # PROJECT.scd_end_date in the file
    assert result.data_date == datetime(2017, 9, 16)
    p6_critical = {aid for aid, a in schedule.activities.items()
                   if a.reference["total_float_h"] is not None and a.reference["total_float_h"] <= 0}
    ours = {aid for aid, d in result.dates.items() if d.critical}
    assert ours ^ p6_critical <= HS2_TF_ALAP_INCONSISTENT_IN_P6
    path = result.critical_path
    assert result.dates[path[-1]].early_finish == result.finish
    for a, b in zip(path, path[1:]):
        assert any(r.pred == a and r.succ == b for r in schedule.relationships)


def test_p6_resource_rates_remaining_dates_equal_p6(shared):
    path = _sample(shared, "p6_resource_rates.xer")
    schedule = read_xer(path)
    result = compute_cpm(schedule)
    (aid, act), = schedule.activities.items()
    assert result.dates[aid].early_start == act.reference["remaining_early_start"]
    assert result.dates[aid].early_finish == act.reference["remaining_early_finish"]
