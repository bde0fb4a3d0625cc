"""Plotly charts: data assertions on the figures, and one real PNG export."""
from __future__ import annotations

from datetime import datetime as dt, timedelta

import numpy as np
import pytest

pytest.importorskip("plotly")

from twin.cpm import compute_cpm
from twin.errors import InputError
from twin.fourd import task_windows
from twin.timephase import progress_curve
from twin.schedule import Activity, ActivityType, Calendar, Relationship, Schedule
from twin.viz.charts import (
    COLOURS,
    finish_histogram,
    gantt_chart,
    s_curve_chart,
    save_figure,
    utilisation_chart,
)


@pytest.fixture
def schedule():
    acts = [
        Activity("A10", "Set-up", 40, planned_start=dt(2025, 3, 3, 8), planned_finish=dt(2025, 3, 7, 17),
                 actual_start=dt(2025, 3, 3, 8), actual_finish=dt(2025, 3, 7, 17)),
        Activity("A20", "Dig", 80, planned_start=dt(2025, 3, 10, 8), planned_finish=dt(2025, 3, 21, 17),
                 actual_start=dt(2025, 3, 11, 8)),
        Activity("A30", "Pour", 40), Activity("A40", "Fit-out", 16),
        Activity("M1", "Handover", type=ActivityType.FINISH_MILESTONE),
    ]
    rels = (Relationship("A10", "A20"), Relationship("A20", "A30"), Relationship("A10", "A40"),
            Relationship("A30", "M1"), Relationship("A40", "M1"))
    return Schedule({a.id: a for a in acts}, rels, {"standard": Calendar("standard")},
                    start=dt(2025, 3, 3, 8), name="Test", data_date=dt(2025, 3, 17, 8))


def _trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_gantt_draws_the_critical_path_in_red_and_the_rest_in_blue(schedule):
    cpm = compute_cpm(schedule, data_date=schedule.data_date)
    fig = gantt_chart(schedule, cpm)
    crit = _trace(fig, "Critical")
    assert crit.marker.color == COLOURS["critical"]
    assert {y.split()[0] for y in crit.y} == {a for a in cpm.critical_path if a != "M1"}
    assert "A40  Fit-out" in _trace(fig, "Current").y
    assert list(_trace(fig, "Milestone").y) == ["M1  Handover"]


def test_gantt_shows_baseline_and_actual_bars(schedule):
    cpm = compute_cpm(schedule, data_date=schedule.data_date)
    fig = gantt_chart(schedule, cpm)
    base = _trace(fig, "Baseline")
    assert len(base.y) == 2                                   # only A10, A20 have planned dates
    actual = _trace(fig, "Actual")
    i = list(actual.y).index("A20  Dig")
    assert actual.base[i] == dt(2025, 3, 11, 8)
    assert actual.x[i] == pytest.approx((dt(2025, 3, 17, 8) - dt(2025, 3, 11, 8)).total_seconds() * 1000)


def test_gantt_rows_run_by_start_and_are_capped(schedule):
    fig = gantt_chart(schedule, compute_cpm(schedule), max_rows=2)
    assert list(fig.layout.yaxis.categoryarray) == ["A10  Set-up", "A20  Dig"]
    assert "first 2 of 5" in fig.layout.title.text


def test_gantt_of_an_undated_schedule_is_a_clear_error():
    with pytest.raises(InputError, match="no dated activities"):
        gantt_chart(Schedule({"A": Activity("A")}, name="empty"))


def test_s_curve_has_nested_bands_median_and_planned(schedule):
    cpm = compute_cpm(schedule)
    times = [dt(2025, 3, 1) + timedelta(days=i) for i in range(40)]
    planned = progress_curve(task_windows(schedule, cpm.dates), times)
    assert planned[0] == 0 and planned[-1] == 100 and np.all(np.diff(planned) >= 0)
    pct = {10: planned * 0.8, 25: planned * 0.9, 50: planned * 0.95, 75: planned, 90: planned}
    fig = s_curve_chart(times, pct, planned=planned)
    names = [t.name for t in fig.data]
    assert names.count("P10-P90") == 1 and names.count("P25-P75") == 1 and "P50" in names and "Planned" in names
    with pytest.raises(InputError, match="P50 has 3 values, expected 40"):
        s_curve_chart(times, {50: [1, 2, 3]})


def test_finish_histogram_counts_every_run_and_marks_percentiles():
    rng = np.random.default_rng(3)
    base = dt(2025, 6, 1)
    finishes = [base + timedelta(days=float(x)) for x in rng.normal(20, 5, 400)]
    fig = finish_histogram(finishes, deterministic=base, target=base + timedelta(days=20))
    assert sum(_trace(fig, "Runs").y) == 400
    texts = [a.text for a in fig.layout.annotations]
    assert any(t.startswith("P80") for t in texts)
    target = next(t for t in texts if t.startswith("Target"))
    assert "(5" in target or "(4" in target          # about half the runs finish by the mean
    with pytest.raises(InputError, match="at least 2 runs"):
        finish_histogram([base])


def test_utilisation_marks_over_capacity_stretches():
    times = [dt(2025, 3, 1) + timedelta(days=i) for i in range(5)]
    fig = utilisation_chart(times, {"Crane": [1, 3, 3, 1, 0], "Crew": [1, 1, 0, 0, 0]}, capacity={"Crane": 2})
    over = _trace(fig, "Crane over capacity")
    assert [y for y in over.y if y is not None] == [3, 3, 3, 3]
    assert over.x[0] == times[1] and over.x[1] == times[2]      # one flat segment per step
    assert [a.text for a in fig.layout.annotations] == ["Crane", "Crew"]   # one row per resource
    assert not any(t.name == "Crew over capacity" for t in fig.data)
    with pytest.raises(InputError, match="'Crane' has 2 values, expected 5"):
        utilisation_chart(times, {"Crane": [1, 2]})


@pytest.mark.slow
def test_chart_exports_to_a_real_png(tmp_path, schedule):
    import imageio.v3 as iio

    out = save_figure(gantt_chart(schedule, compute_cpm(schedule)), tmp_path / "g.png", width=800, height=400)
    img = iio.imread(out)
    assert img.shape[:2] == (400, 800)
    red = (img[..., 0] > 180) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 300                                  # critical bars are there
    assert not list(tmp_path.glob("*.part-*"))


def test_unknown_chart_format_is_rejected(tmp_path, schedule):
    with pytest.raises(InputError, match=r"\.png, \.svg"):
        save_figure(gantt_chart(schedule), tmp_path / "g.jpg")


class _FakeResult:
    """The fields of twin.sim.results.MonteCarloResult the chart adapters read."""

    def __init__(self):
        from twin.worktime import to_minutes

        self.ids = ("A", "B")
        self.runs = 4
        self.origin = to_minutes(dt(2025, 3, 3))
        day = 1440
        self.finish = np.array([[1 * day, 3 * day], [2 * day, 4 * day], [1 * day, 5 * day], [2 * day, 6 * day]],
                               dtype=np.int32)
        self.project_finish = self.origin + self.finish.max(axis=1).astype(np.int64)
        self.cpm_finish = dt(2025, 3, 5)


def test_finish_histogram_from_a_simulation_result_marks_the_cpm_finish():
    from twin.viz.charts import finish_histogram_from_result

    fig = finish_histogram_from_result(_FakeResult())
    assert sum(_trace(fig, "Runs").y) == 4
    assert any(a.text.startswith("CPM 05 Mar 2025") for a in fig.layout.annotations)


def test_s_curve_from_a_simulation_result_has_bands_and_the_planned_share():
    from twin.viz.charts import s_curve_from_result

    dates = [dt(2025, 3, 3) + timedelta(days=i) for i in range(8)]
    fig = s_curve_from_result(_FakeResult(), dates, planned_finish={"A": dt(2025, 3, 4), "B": dt(2025, 3, 6)})
    med = _trace(fig, "P50")
    assert med.y[0] == 0 and med.y[-1] == 100
    assert list(_trace(fig, "Planned").y) == [0, 50, 50, 100, 100, 100, 100, 100]


def test_gantt_marks_near_critical_activities_in_orange(schedule):
    from dataclasses import replace

    from twin.schedule import ScheduleOptions

    schedule = replace(schedule, options=ScheduleOptions(near_critical_float_h=120.0))
    cpm = compute_cpm(schedule, data_date=schedule.data_date)
    near = [a for a in cpm.near_critical if not cpm.dates[a].critical]
    assert near == ["A40"]                 # 104 h of float, under the 120 h threshold
    fig = gantt_chart(schedule, cpm)
    nc = _trace(fig, "Near-critical")
    assert nc.marker.color == COLOURS["near_critical"]
    assert [y.split()[0] for y in nc.y] == ["A40"]
    explicit = gantt_chart(schedule, cpm, critical=["A40"])
    assert [y.split()[0] for y in _trace(explicit, "Critical").y] == ["A40"]
    assert not any(t.name == "Near-critical" for t in explicit.data)


@pytest.mark.slow
def test_png_falls_back_to_headless_chromium_when_kaleido_fails(tmp_path, schedule, monkeypatch):
    import shutil

    import imageio.v3 as iio

    if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
        pytest.skip("no chromium on this machine")
    fig = gantt_chart(schedule, compute_cpm(schedule))

    def broken(*args, **kwargs):
        raise RuntimeError("kaleido could not start its browser")

    monkeypatch.setattr(fig, "write_image", broken)
    img = iio.imread(save_figure(fig, tmp_path / "g.png", width=700, height=360))
    assert img.shape[:2] == (360, 700)
    red = (img[..., 0] > 180) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 300


def test_utilisation_from_a_simulation_result_is_the_mean_over_runs():
    from twin.viz.charts import utilisation_from_result

    result = _FakeResult()                       # A finishes on day 1 or 2, B on day 3 to 6; both start at 0
    result.start = np.zeros_like(result.finish)
    dates = [dt(2025, 3, 3, 12) + timedelta(days=i) for i in range(6)]
    fig = utilisation_from_result(result, {"A": {"crane": 1}, "B": {"crane": 1}}, dates, capacity={"crane": 1})
    crane = _trace(fig, "crane")
    assert list(crane.y) == [2.0, 1.5, 1.0, 0.75, 0.5, 0.25]
    assert "mean over runs" in fig.layout.title.text and "demand" in fig.layout.title.text
    assert _trace(fig, "crane over capacity")
