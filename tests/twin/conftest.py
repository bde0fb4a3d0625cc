"""Fixtures of the digital-twin tests: a small trade-tagged schedule and progress CSVs."""
from __future__ import annotations

from pathlib import Path

import pytest

SCHEDULE = """id,name,duration_days,predecessors,start,trade,storey,zone
A,Excavate,5,,2027-03-01,earthworks,L00,Z1
B,Foundations,4,A,,concrete,L00,Z1
C,Frame,10,B,,concrete,L01,Z1
D,Services,6,B,,mep,L01,Z2
E,Finishes,8,C;D,,finishes,L01,Z2
M,Handover,0,E,,,,
"""


@pytest.fixture
def schedule_csv(tmp_path: Path) -> Path:
    p = tmp_path / "plan.csv"
    p.write_text(SCHEDULE)
    return p


@pytest.fixture
def schedule(schedule_csv):
    from twin.importers import read_schedule

    return read_schedule(schedule_csv)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p
