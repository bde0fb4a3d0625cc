"""The one-calendar offset engine (twin.cpm_arrays) gives the general passes' results, field for field.

The general passes are the reference: they reproduce P6's dates on the HS2 programme
(tests/test_cpm_p6.py). Here both engines run on random networks (every link type, lags of both
signs, milestones, zero durations, data dates at awkward minutes, every float and critical option)
and on the HS2 programme's own logic and calendars with progress and constraints stripped.
"""
from __future__ import annotations

import math
import sys
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from tests.conftest import shared_path
from twin.cpm import compute_cpm
from twin.cpm_arrays import compute_cpm_one_calendar, why_not_one_calendar
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

MON = datetime(2024, 3, 4)
FIELDS = ("early_start", "early_finish", "late_start", "late_finish", "critical", "calendar",
          "actual_start", "actual_finish")


def assert_same(fast, ref) -> None:
    """Every field of every activity and of the result is equal (floats exactly, NaN = NaN)."""
    assert fast is not None, "the offset engine declined a schedule it should run"
    assert list(fast.dates) == list(ref.dates)
    for k in ref.dates:
        a, b = fast.dates[k], ref.dates[k]
        for f in FIELDS:
            assert getattr(a, f) == getattr(b, f), (k, f, getattr(a, f), getattr(b, f))
        for f in ("total_float_h", "free_float_h"):
            x, y = getattr(a, f), getattr(b, f)
            assert x == y or (math.isnan(x) and math.isnan(y)), (k, f, x, y)
            assert type(x) is type(y)
    for f in ("start", "finish", "critical_path", "near_critical", "data_date", "order", "warnings"):
        assert getattr(fast, f) == getattr(ref, f), (f, getattr(fast, f), getattr(ref, f))


CALENDARS = {
    "standard": Calendar("standard"),  # Mon-Fri 08:00-12:00, 13:00-17:00
    "24h": full_day_calendar("24h"),
    "odd": Calendar("odd", week=((), ((420, 660), (690, 935)), ((420, 935),), ((600, 1440),),
                                 ((0, 300), (1200, 1440)), ((480, 600),), ()),
                    exceptions={MON.date() + timedelta(days=k): () for k in (1, 9, 10, 30)}
                    | {MON.date() + timedelta(days=13): ((540, 780),)}),
}


def random_schedule(seed: int, n: int = 60, *, cal: str = "standard", shuffle: bool = True) -> Schedule:
    """A random network on one calendar exercising every rule the offset engine handles."""
    rng = np.random.default_rng(seed)
    types = [ActivityType.TASK] * 8 + [ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE,
                                                 ActivityType.RESOURCE_DEPENDENT]
    acts, rels = [], []
    for i in range(n):
        t = types[int(rng.integers(len(types)))]
        dur = float(rng.choice([0, 0.5, 1, 3, 7.25, 8, 16, 40, 100])) if t not in (
            ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE) else float(rng.choice([0, 8]))
        rem = float(rng.choice([4, 12])) if rng.random() < 0.1 else None
        acts.append(Activity(f"A{i}", duration_h=dur, type=t, remaining_h=rem,
                             calendar=cal if rng.random() < 0.5 else "",
                             expected_finish=MON + timedelta(days=30) if rng.random() < 0.1 else None))
        for p in set(rng.integers(max(0, i - 12), i, size=int(rng.integers(0, 4))).tolist()) if i else ():
            rt = [RelationType.FS] * 4 + [RelationType.SS, RelationType.FF, RelationType.SF]
            lag = float(rng.choice([0, 0, 0, 1.5, 8, 20, -4, -12.25]))
            rels.append(Relationship(f"A{p}", f"A{i}", rt[int(rng.integers(len(rt)))], lag))
    if shuffle:
        acts = [acts[k] for k in rng.permutation(n)]
        rels = [rels[k] for k in rng.permutation(len(rels))]
    opts = ScheduleOptions(
        lag_calendar=str(rng.choice(["predecessor", "successor", "project"])),
        total_float=str(rng.choice(["finish", "start", "smallest"])),
        critical=str(rng.choice(["total_float", "longest_path"])),
        open_ends_critical=bool(rng.random() < 0.3),
        use_expected_finish=bool(rng.random() < 0.5),
        near_critical_float_h=float(rng.choice([0, 8, 40])),
    )
    # data dates on a working minute, at 17:00, at 08:00, in the lunch break, on a Saturday, at midnight
    dd = MON + timedelta(days=int(rng.integers(0, 6)), minutes=int(rng.choice([0, 480, 537, 720, 750, 1020, 1439])))
    finish_constraint = MON + timedelta(days=int(rng.integers(20, 60)), hours=17) if rng.random() < 0.3 else None
    return Schedule({a.id: a for a in acts}, tuple(rels), dict(CALENDARS), default_calendar=cal,
                    start=MON, data_date=dd if rng.random() < 0.7 else None,
                    finish_constraint=finish_constraint, options=opts, warnings=("from the file",))


@pytest.mark.parametrize("kernels", ["python", "numba"])
@pytest.mark.parametrize("cal", ["standard", "24h", "odd"])
@pytest.mark.parametrize("seed", range(40))
def test_random_networks_give_the_general_passes_results(seed, cal, kernels):
    s = random_schedule(seed, cal=cal)
    assert why_not_one_calendar(s) is None
    assert_same(compute_cpm_one_calendar(s, kernels=kernels), compute_cpm(s, engine="passes"))


@pytest.mark.parametrize("kernels", ["python", "numba"])
@pytest.mark.parametrize("seed", range(5))
def test_fs_only_networks_without_lags_take_the_plain_loop_and_agree(seed, kernels):
    s = random_schedule(100 + seed, n=300)
    acts = {k: replace(a, type=ActivityType.TASK) for k, a in s.activities.items()}
    s = replace(s, activities=acts, relationships=tuple(replace(r, type=RelationType.FS, lag_h=0.0)
                                                         for r in s.relationships))
    assert_same(compute_cpm_one_calendar(s, kernels=kernels), compute_cpm(s, engine="passes"))


def test_an_explicit_data_date_and_no_dates_at_all():
    s = random_schedule(7)
    dd = datetime(2024, 3, 9, 10, 17)  # a Saturday
    assert_same(compute_cpm_one_calendar(s, dd), compute_cpm(s, data_date=dd, engine="passes"))
    bare = replace(s, start=None, data_date=None,
                   activities={k: replace(a, planned_start=MON + timedelta(days=2, hours=9))
                               for k, a in s.activities.items()})
    fast = compute_cpm_one_calendar(bare)
    assert_same(fast, compute_cpm(bare, engine="passes"))
    assert any("earliest planned start" in w for w in fast.warnings)


def test_the_auto_engine_is_the_offset_engine_when_the_schedule_qualifies():
    s = random_schedule(3)
    assert_same(compute_cpm(s), compute_cpm(s, engine="passes"))
    assert_same(compute_cpm(s, engine="one_calendar"), compute_cpm(s, engine="passes"))


@pytest.mark.parametrize("change,reason", [
    (lambda a: replace(a, actual_start=MON), "progress"),
    (lambda a: replace(a, constraints=(Constraint(ConstraintType.START_ON_OR_AFTER, MON),)), "constraints"),
    (lambda a: replace(a, type=ActivityType.LEVEL_OF_EFFORT), "level of effort"),
    (lambda a: replace(a, calendar="24h"), "2 calendars"),
])
def test_other_schedules_go_to_the_general_passes(change, reason):
    s = random_schedule(5, cal="standard")
    first = next(iter(s.activities))
    acts = dict(s.activities) | {first: change(s.activities[first])}
    other = replace(s, activities={k: replace(a, calendar="standard") for k, a in acts.items()}
                    if reason != "2 calendars" else acts)
    assert reason in why_not_one_calendar(other)
    assert compute_cpm_one_calendar(other) is None
    with pytest.raises(ScheduleError, match=reason):
        compute_cpm(other, engine="one_calendar")
    compute_cpm(other)  # auto: the general passes


def test_lags_on_another_calendar_go_to_the_general_passes():
    s = random_schedule(9, cal="standard")
    s = replace(s, options=replace(s.options, lag_calendar="24h"))
    assert "lags" in why_not_one_calendar(s)
    assert compute_cpm_one_calendar(s) is None


def test_errors_are_the_general_passes_errors():
    s = random_schedule(11, n=10, shuffle=False)
    ids = list(s.activities)
    loop = replace(s, relationships=s.relationships + (Relationship(ids[-1], ids[0]),))
    with pytest.raises(ScheduleCycleError):
        compute_cpm(loop)
    assert compute_cpm_one_calendar(loop) is None
    unknown = replace(s, relationships=s.relationships + (Relationship(ids[0], "nobody"),))
    with pytest.raises(ScheduleError, match="unknown activity 'nobody'"):
        compute_cpm(unknown)
    with pytest.raises(ScheduleError, match="unknown calendar 'nowhere'"):
        compute_cpm(replace(s, activities={k: replace(a, calendar="nowhere") for k, a in s.activities.items()}))
    with pytest.raises(ScheduleError, match="unknown CPM engine"):
        compute_cpm(s, engine="fast")
    far = replace(s, activities={k: replace(a, duration_h=8 * 260 * 300) for k, a in s.activities.items()})
    with pytest.raises(ScheduleError, match="horizon|beyond"):
        compute_cpm(far)


def test_no_calendars_at_all_uses_a_standard_default():
    s = random_schedule(13)
    bare = replace(s, calendars={}, default_calendar="std",
                   activities={k: replace(a, calendar="") for k, a in s.activities.items()},
                   options=replace(s.options, lag_calendar="predecessor"))
    assert_same(compute_cpm_one_calendar(bare), compute_cpm(bare, engine="passes"))


@pytest.fixture(scope="module")
def hs2_one_calendar():
    from twin.importers.xer import read_xer

    s = read_xer(shared_path("samples", "schedules", "HS2_SP10_cost_loaded.xer"))
    counts: dict[str, int] = {}
    for a in s.activities.values():
        counts[a.calendar or s.default_calendar] = counts.get(a.calendar or s.default_calendar, 0) + 1
    main = max(counts, key=counts.get)
    acts = {k: replace(a, actual_start=None, actual_finish=None, constraints=(), calendar=main,
                       percent_complete=0.0,
                       type=ActivityType.TASK if a.type in (ActivityType.LEVEL_OF_EFFORT,
                                                                      ActivityType.WBS_SUMMARY) else a.type)
            for k, a in s.activities.items()}
    return replace(s, activities=acts, finish_constraint=None)


@pytest.mark.parametrize("lag_calendar", ["predecessor", "project"])
def test_hs2_logic_on_its_main_calendar_gives_the_general_passes_results(hs2_one_calendar, lag_calendar):
    s = replace(hs2_one_calendar, options=replace(hs2_one_calendar.options, lag_calendar=lag_calendar))
    if lag_calendar == "project":
        s = replace(s, default_calendar=next(iter(s.activities.values())).calendar)
    assert why_not_one_calendar(s) is None
    ref = compute_cpm(s, engine="passes")
    for kernels in ("python", "numba"):
        fast = compute_cpm_one_calendar(s, kernels=kernels)
        assert_same(fast, ref)
    assert len(fast.dates) == 3994 and len(fast.critical_path) >= 5


def test_the_compiled_loops_start_on_the_second_large_schedule_and_can_be_refused(monkeypatch):
    import twin.cpm_arrays as ca

    monkeypatch.setattr(ca, "_jit_state", {"large_calls": 0, "kernels": None})
    monkeypatch.delenv("TWIN_NUMBA", raising=False)
    assert ca.kernels_for(ca.JIT_MIN_ACTIVITIES - 1) is None          # small: never compiled
    assert ca.kernels_for(ca.JIT_MIN_ACTIVITIES) is None              # first large one: Python loops
    jit = ca.kernels_for(ca.JIT_MIN_ACTIVITIES)                       # from the second on: numba
    assert jit is not None and hasattr(jit, "forward")
    assert ca.kernels_for(10, "numba") is jit and ca.kernels_for(10**6, "python") is None
    monkeypatch.setenv("TWIN_NUMBA", "0")
    assert ca.kernels_for(10**6) is None and ca.kernels_for(10**6, "numba") is None
    monkeypatch.delenv("TWIN_NUMBA")
    monkeypatch.setattr(ca, "_jit_state", {"large_calls": 5, "kernels": None})
    monkeypatch.setitem(sys.modules, "twin.cpm_kernels", None)       # numba unavailable
    assert ca.kernels_for(10**6) is None
    s = random_schedule(17)
    assert_same(compute_cpm_one_calendar(s, kernels="numba"), compute_cpm(s, engine="passes"))


def test_a_loop_found_by_the_compiled_loops_goes_to_the_general_passes():
    s = random_schedule(19, n=40, shuffle=False)
    ids = list(s.activities)
    loop = replace(s, relationships=s.relationships + (Relationship(ids[30], ids[5]), Relationship(ids[5], ids[30])))
    assert compute_cpm_one_calendar(loop, kernels="numba") is None
    with pytest.raises(ScheduleCycleError):
        compute_cpm(loop)


def test_schedules_without_links_and_of_one_activity():
    s = random_schedule(21, n=30)
    alone = replace(s, relationships=())
    assert_same(compute_cpm_one_calendar(alone), compute_cpm(alone, engine="passes"))
    first = next(iter(s.activities))
    one = replace(s, activities={first: s.activities[first]}, relationships=())
    assert_same(compute_cpm_one_calendar(one), compute_cpm(one, engine="passes"))
    milestones = replace(s, activities={k: replace(a, type=ActivityType.FINISH_MILESTONE)
                                        for k, a in s.activities.items()})
    assert_same(compute_cpm_one_calendar(milestones), compute_cpm(milestones, engine="passes"))


def test_importing_the_cpm_does_not_start_numba():
    import subprocess

    code = ("import sys, twin.cpm, twin.cpm_arrays; from twin.cpm import compute_cpm; "
            "assert 'numba' not in sys.modules, 'numba imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_failing_compiled_loop_falls_back_to_the_python_loops(monkeypatch):
    import twin.cpm_arrays as ca

    class Broken:
        @staticmethod
        def forward(*args):
            raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(ca, "_jit_state", {"large_calls": 0, "kernels": Broken})
    s = random_schedule(23)
    assert_same(compute_cpm_one_calendar(s, kernels="numba"), compute_cpm(s, engine="passes"))
    assert ca._jit_state["kernels"] is False and ca.kernels_for(10**6, "numba") is None


def test_link_types_as_strings_missing_lags_and_duplicate_links():
    s = random_schedule(29, n=80)
    rels = tuple(Relationship(r.pred, r.succ, r.type.value, r.lag_h or None) for r in s.relationships)
    odd = replace(s, relationships=rels + rels[:5])
    assert_same(compute_cpm_one_calendar(odd), compute_cpm(odd, engine="passes"))
    assert_same(compute_cpm_one_calendar(odd, kernels="numba"), compute_cpm(odd, engine="passes"))
