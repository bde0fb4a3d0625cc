"""Element states by date (twin.fourd): the pure rules, vectorised and as records."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime as dt, timedelta

import numpy as np
import pytest

from twin.errors import InputError
from twin.fourd import (
    Status,
    TaskWindow,
    WorkKind,
    build_timeline,
    classify_work_kind,
    element_values_from_activities,
    get_active_tasks,
    get_element_states,
    task_windows,
)
from twin.schedule import Activity, ActivityType, Schedule

D = dt(2025, 3, 3)


def w(aid, s, f, kind=WorkKind.CONSTRUCT, **kw):
    return TaskWindow(aid, dt(2025, 3, s), dt(2025, 3, f), kind, **kw)


def test_construct_element_goes_not_started_in_progress_complete():
    wins = {"A": w("A", 3, 7)}
    got = [get_element_states(wins, [("A", "e")], dt(2025, 3, d))["e"].status for d in (2, 5, 7, 9)]
    assert got == [Status.NOT_STARTED, Status.IN_PROGRESS, Status.COMPLETE, Status.COMPLETE]


def test_progress_is_the_elapsed_fraction_of_the_window():
    st = get_element_states({"A": w("A", 3, 7)}, [("A", "e")], dt(2025, 3, 4))["e"]
    assert st.progress == pytest.approx(0.25)
    assert st.activities == ("A",)


def test_demolished_element_exists_then_is_demolished_then_gone():
    wins = {"X": w("X", 10, 12, WorkKind.DEMOLISH)}
    got = [get_element_states(wins, [("X", "old")], dt(2025, 3, d))["old"] for d in (1, 11, 13)]
    assert [(s.status, s.kind) for s in got] == [
        (Status.NOT_STARTED, WorkKind.DEMOLISH), (Status.IN_PROGRESS, WorkKind.DEMOLISH),
        (Status.COMPLETE, WorkKind.DEMOLISH)]


def test_built_then_demolished_element_passes_through_both_phases():
    wins = {"B": w("B", 3, 5), "R": w("R", 20, 21, WorkKind.DEMOLISH)}
    links = [("B", "e"), ("R", "e")]
    got = [get_element_states(wins, links, dt(2025, 3, d))["e"] for d in (1, 4, 10, 20, 25)]
    assert [(s.status.value, s.kind.value) for s in got] == [
        ("not_started", "construct"), ("in_progress", "construct"), ("complete", "construct"),
        ("in_progress", "demolish"), ("complete", "demolish")]


def test_temporary_element_exists_only_during_its_window():
    wins = {"T": w("T", 5, 15, WorkKind.TEMPORARY)}
    got = [get_element_states(wins, [("T", "sc")], dt(2025, 3, d))["sc"].status for d in (1, 10, 16)]
    assert got == [Status.NOT_STARTED, Status.IN_PROGRESS, Status.COMPLETE]


def test_element_with_several_activities_spans_earliest_start_to_latest_finish():
    wins = {"A": w("A", 3, 5), "B": w("B", 10, 12)}
    links = [("A", "e"), ("B", "e")]
    assert get_element_states(wins, links, dt(2025, 3, 7))["e"].status == Status.IN_PROGRESS
    assert get_element_states(wins, links, dt(2025, 3, 12))["e"].status == Status.COMPLETE


def test_element_is_late_when_behind_its_baseline():
    win = w("A", 10, 14, baseline_start=dt(2025, 3, 3), baseline_finish=dt(2025, 3, 7))
    states = [get_element_states({"A": win}, [("A", "e")], dt(2025, 3, d))["e"].status for d in (2, 5, 11, 15)]
    assert states == [Status.NOT_STARTED, Status.LATE, Status.LATE, Status.COMPLETE]


def test_actual_dates_replace_planned_ones():
    win = w("A", 3, 7, actual_start=dt(2025, 3, 4), actual_finish=dt(2025, 3, 5))
    assert get_element_states({"A": win}, [("A", "e")], dt(2025, 3, 6))["e"].status == Status.COMPLETE
    assert get_element_states({"A": win}, [("A", "e")], dt(2025, 3, 3, 12))["e"].status == Status.NOT_STARTED


def test_unlinked_elements_are_reported_unlinked():
    tl = build_timeline({"A": w("A", 3, 7)}, [("A", "e")], ["e", "other"])
    assert tl.state_at(dt(2025, 3, 4)).to_records()["other"].status == Status.UNLINKED
    assert tl.state_at(dt(2025, 3, 4)).count()["unlinked"] == 1


def test_link_to_unknown_activity_names_it():
    with pytest.raises(InputError, match="activity 'NOPE'"):
        build_timeline({}, [("NOPE", "e")], ["e"])


def test_window_with_finish_before_start_is_rejected_naming_the_activity():
    with pytest.raises(InputError, match="activity 'A'.*before"):
        w("A", 7, 3)


def test_vectorised_states_agree_with_a_scalar_reimplementation():
    rng = np.random.default_rng(7)
    wins, links = {}, []
    for i in range(60):
        s = int(rng.integers(1, 25))
        kind = list(WorkKind)[int(rng.integers(0, 3))]
        wins[f"A{i}"] = w(f"A{i}", s, s + int(rng.integers(0, 5)), kind)
    for j in range(80):
        for aid in rng.choice(list(wins), size=int(rng.integers(0, 3)), replace=False):
            links.append((str(aid), f"e{j}"))
    ids = [f"e{j}" for j in range(80)]
    tl = build_timeline(wins, links, ids)
    for day in range(1, 31, 2):
        at = dt(2025, 3, day, 12)
        rec = tl.state_at(at).to_records()
        for gid in ids:
            assert rec[gid].status == _scalar_status(wins, links, gid, at), (gid, at)


def _scalar_status(wins, links, gid, at):
    mine = [wins[a] for a, g in links if g == gid]
    if not mine:
        return Status.UNLINKED
    by = {k: [x for x in mine if x.kind == k] for k in WorkKind}
    if by[WorkKind.TEMPORARY]:
        t = by[WorkKind.TEMPORARY]
        s, f = min(x.start for x in t), max(x.finish for x in t)
        return Status.NOT_STARTED if at < s else Status.IN_PROGRESS if at < f else Status.COMPLETE
    c, d = by[WorkKind.CONSTRUCT], by[WorkKind.DEMOLISH]
    if c:
        cs, cf = min(x.start for x in c), max(x.finish for x in c)
        if at < cs:
            return Status.NOT_STARTED
        if at < cf:
            return Status.IN_PROGRESS
    if d:
        ds, df = min(x.start for x in d), max(x.finish for x in d)
        if at < ds:
            return Status.COMPLETE if c else Status.NOT_STARTED
        return Status.IN_PROGRESS if at < df else Status.COMPLETE
    return Status.COMPLETE


@pytest.mark.parametrize("name,kind", [
    ("Pour level 2 slab", WorkKind.CONSTRUCT),
    ("Demolish existing garage", WorkKind.DEMOLISH),
    ("Strip out ground floor", WorkKind.DEMOLISH),
    ("Erect scaffold north", WorkKind.TEMPORARY),
    ("Install temporary propping", WorkKind.TEMPORARY),
])
def test_work_kind_from_the_activity_name(name, kind):
    assert classify_work_kind(Activity("A", name)) == kind


def test_explicit_work_kind_wins_and_bad_value_is_named():
    assert classify_work_kind(Activity("A", "Demolish", attributes={"work_kind": "construct"})) == WorkKind.CONSTRUCT
    assert classify_work_kind(Activity("A", "x", attributes={"predefined_type": "DISMANTLE"})) == WorkKind.DEMOLISH
    with pytest.raises(InputError, match="activity 'A'.*work_kind"):
        classify_work_kind(Activity("A", "x", attributes={"work_kind": "paint"}))


def test_task_windows_use_cpm_dates_and_keep_planned_dates_as_baseline():
    class Dates:  # the shape of CpmResult.dates[id]
        early_start, early_finish = dt(2025, 3, 10), dt(2025, 3, 12)

    sched = Schedule({
        "A": Activity("A", "Wall", 16, planned_start=dt(2025, 3, 3), planned_finish=dt(2025, 3, 4)),
        "W": Activity("W", "Summary", type=ActivityType.WBS_SUMMARY, planned_start=D, planned_finish=D),
        "N": Activity("N", "Undated"),
    })
    wins = task_windows(sched, {"A": Dates()})
    assert list(wins) == ["A"]
    assert (wins["A"].start, wins["A"].finish) == (dt(2025, 3, 10), dt(2025, 3, 12))
    assert wins["A"].baseline_finish == dt(2025, 3, 4)
    assert task_windows(sched)["A"].baseline_finish is None


def test_active_tasks_are_sorted_by_start():
    wins = {"B": w("B", 5, 9), "A": w("A", 3, 9), "C": w("C", 20, 21)}
    assert [x.activity_id for x in get_active_tasks(wins, dt(2025, 3, 6))] == ["A", "B"]


def test_element_values_take_the_max_or_min_over_linked_activities():
    links = [("A", "e1"), ("B", "e1"), ("B", "e2")]
    vals = {"A": 0.2, "B": 0.9}
    assert element_values_from_activities(links, vals, ["e1", "e2", "e3"]).tolist()[:2] == [0.9, 0.9]
    got = element_values_from_activities(links, vals, ["e1", "e2", "e3"], reduce="min")
    assert got[0] == 0.2 and np.isnan(got[2])


def test_core_module_imports_no_rendering_library():
    code = "import sys, twin.fourd, twin.timephase, twin.viz.appearance; print(sorted(m for m in ('pyvista','vtk','plotly') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_resource_usage_sums_units_of_activities_under_way():
    from twin.timephase import resource_usage

    wins = {"A": w("A", 3, 7), "B": w("B", 5, 10, actual_start=dt(2025, 3, 6))}
    use = resource_usage(wins, {"A": {"crane": 1, "crew:steel": 2}, "B": {"crane": 1}, "Z": {"crane": 5}},
                         [dt(2025, 3, d) for d in (2, 4, 6, 8, 12)])
    assert use["crane"].tolist() == [0, 1, 2, 1, 0]      # B starts on its actual date, the 6th
    assert use["crew:steel"].tolist() == [0, 2, 2, 0, 0]


def test_schedule_demands_prefer_assignments_then_crew_and_lift_attributes():
    from twin.timephase import schedule_demands
    from twin.schedule import Assignment

    sched = Schedule({"A": Activity("A", attributes={"crew": "concrete", "lifts": 3}),
                      "B": Activity("B", attributes={"crew": "steel"}),
                      "C": Activity("C")},
                     assignments=(Assignment("B", "CREW-9", 2.0),))
    assert schedule_demands(sched) == {"B": {"CREW-9": 2.0}, "A": {"crew:concrete": 1.0, "crane": 1.0}}


def test_viz_package_imports_without_loading_pyvista_or_plotly():
    code = ("import sys, twin.viz as v; v.Scene4D; v.gantt_chart; "
            "print(sorted(m for m in ('pyvista', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_late_tolerance_forgives_small_delays():
    win = w("A", 10, 14, baseline_start=dt(2025, 3, 9), baseline_finish=dt(2025, 3, 13))
    tl = build_timeline({"A": win}, [("A", "e")], ["e"])
    at = dt(2025, 3, 9, 12)                                # 12 h after the baseline start, not started
    assert tl.state_at(at).to_records()["e"].status == Status.LATE
    assert tl.state_at(at, timedelta(days=1)).to_records()["e"].status == Status.NOT_STARTED
    with pytest.raises(InputError, match="must not be negative"):
        tl.state_at(at, timedelta(hours=-1))


def test_simulated_resource_usage_averages_over_runs():
    from types import SimpleNamespace

    from twin.timephase import simulated_resource_usage
    from twin.worktime import to_minutes as clock

    origin = clock(dt(2025, 3, 3))
    day = 1440
    # activity A uses the crane on days 0-2 in run 0 and days 1-3 in run 1
    result = SimpleNamespace(ids=("A", "B"), origin=origin,
                             start=np.array([[0, 0], [1 * day, 0]]), finish=np.array([[2 * day, 0], [3 * day, 0]]))
    times = [dt(2025, 3, 3, 12) + timedelta(days=d) for d in range(4)]
    mean = simulated_resource_usage(result, {"A": {"crane": 1}}, times)
    assert mean["crane"].tolist() == [0.5, 1.0, 0.5, 0.0]
    high = simulated_resource_usage(result, {"A": {"crane": 2}}, times, percentile=100)
    assert high["crane"].tolist() == [2.0, 2.0, 2.0, 0.0]
