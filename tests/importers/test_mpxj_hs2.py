"""The real HS2 programme (3,994 activities, 5,966 links) through MPXJ: not one link may be dropped.

MPXJ (a reference nobody here wrote) reads the P6 XER and writes it as MS Project XML and as P6 XML
into a temporary folder (the XER itself may not be copied into the project); our readers must then
find every activity and every link, with the same types and lags, as MPXJ's own model.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from twin.importers.mspdi import read_mspdi
from twin.importers.p6xml import read_p6xml
from twin.schedule import ActivityType

pytestmark = pytest.mark.slow
HS2 = "schedules/HS2_SP10_cost_loaded.xer"
TYPES = {"FS": "FS", "SS": "SS", "FF": "FF", "SF": "SF"}


@pytest.fixture(scope="module")
def converted(mpxj, shared_samples, tmp_path_factory):
    path = shared_samples / HS2
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    project = mpxj.reader.UniversalProjectReader().read(str(path))
    folder = tmp_path_factory.mktemp("hs2")
    msp, p6 = folder / "hs2.xml", folder / "hs2_p6.xml"
    mpxj.writer.UniversalProjectWriter(mpxj.writer.FileFormat.MSPDI).write(project, str(msp))
    mpxj.writer.UniversalProjectWriter(mpxj.writer.FileFormat.PMXML).write(project, str(p6))
    hours = mpxj.TimeUnit.HOURS
    props = project.getProjectProperties()
    links = []
    for task in project.getTasks():
        for r in task.getPredecessors():
            lag = float(r.getLag().convertUnits(hours, props).getDuration())
            links.append((r.getPredecessorTask(), task, str(r.getType()), round(lag, 4)))
    activities = [t for t in project.getTasks() if not t.getSummary()]
    return {"msp": msp, "p6": p6, "links": links, "activities": activities, "tasks": list(project.getTasks())}


def test_p6_xml_keeps_every_activity_and_link(converted):
    s = read_p6xml(converted["p6"])
    assert len(s.activities) == len(converted["activities"]) == 3994
    expected = sorted((str(p.getActivityID()), str(q.getActivityID()), t, lag) for p, q, t, lag in converted["links"])
    got = sorted((r.pred, r.succ, r.type.value, round(r.lag_h, 4)) for r in s.relationships)
    assert len(got) == len(expected) == 5966
    assert got == expected
    assert sum("corrupt date" in w for w in s.warnings) == 19      # the 19 known bogus dates, each named


def test_mspdi_keeps_every_task_and_link(converted):
    s = read_mspdi(converted["msp"])
    assert len(s.activities) == len(converted["tasks"])
    expected = sorted((str(p.getUniqueID()), str(q.getUniqueID()), t, lag) for p, q, t, lag in converted["links"])
    uid = {a.id: a.uid for a in s.activities.values()}
    got = sorted((uid[r.pred], uid[r.succ], r.type.value, round(r.lag_h, 4)) for r in s.relationships)
    assert len(got) == 5966 and got == expected
    # MPXJ flags as summary only the WBS nodes that have tasks below them: count the file's own flags
    root = ET.parse(converted["msp"]).getroot()
    flagged = sum(1 for e in root.iter("{http://schemas.microsoft.com/project}Summary") if e.text == "1")
    assert sum(a.type is ActivityType.WBS_SUMMARY for a in s.activities.values()) == flagged > 1900
