"""A schedule made by ``twin plan`` survives the CSV and MS Project XML writers and readers."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def plan_schedule(shared_samples):
    pytest.importorskip("ifcopenshell")
    plan_mod = pytest.importorskip("twin.plan")
    from twin.ifc import load_model

    path = shared_samples / "ifc" / "Duplex_A_20110907.ifc"
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    return plan_mod.generate_plan(load_model(path, geometry=False), "storey-by-storey").schedule


def _links(s):
    return sorted((r.pred, r.succ, r.type, round(r.lag_h, 6)) for r in s.relationships)


def test_plan_round_trips_through_csv(plan_schedule, tmp_path):
    from twin.importers import read_schedule, write_schedule

    s = plan_schedule
    assert write_schedule(s, tmp_path / "plan.csv") == []
    back = read_schedule(tmp_path / "plan.csv", start=s.start, calendars=dict(s.calendars))
    assert list(back.activities) == list(s.activities)
    for aid, a in s.activities.items():
        b = back.activities[aid]
        assert (b.name, b.type, b.calendar, b.wbs, b.constraints, b.three_point, dict(b.attributes)) == (
            a.name, a.type, a.calendar, a.wbs, a.constraints, a.three_point, dict(a.attributes)), aid
        assert b.duration_h == pytest.approx(a.duration_h, abs=1e-6)
    assert _links(back) == _links(s)


def test_plan_round_trips_through_ms_project_xml(plan_schedule, tmp_path):
    from twin.importers import read_schedule, write_schedule

    s = plan_schedule
    lost = write_schedule(s, tmp_path / "plan.xml")
    assert all("attributes" in line or "resource" in line for line in lost)
    back = read_schedule(tmp_path / "plan.xml")
    assert set(back.activities) == set(s.activities)
    for aid, a in s.activities.items():
        b = back.activities[aid]
        assert (b.name, b.type, b.wbs, b.constraints, b.duration_h) == (a.name, a.type, a.wbs, a.constraints, a.duration_h)
        assert back.get_calendar(b).week == s.get_calendar(a).week
    assert _links(back) == _links(s)
