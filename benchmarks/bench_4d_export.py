"""Benchmark: IFC 4D export with twin.ifc.schedule4d.write_4d against the plain IfcOpenShell api recipe.

The reference is what the ``ifcopenshell.api.sequence`` docstrings show: ``add_task(work_schedule=...)``
per task, ``add_task_time`` + ``edit_task_time`` (start and duration) per task, ``assign_sequence`` +
``assign_lag_time`` per relationship. Both write the same activities and relationships of a real P6
programme (the first N activities of HS2 and the relationships among them) into the same IFC4 model,
in the same process run; the script prints the times and the counts each wrote.

Run: ``.venv/bin/python benchmarks/bench_4d_export.py [N]`` (default N = 1000).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "samples"


def reference_export(model_path: Path, schedule, cpm, out: Path) -> tuple[int, int]:
    """The api recipe from the ifcopenshell.api.sequence docstrings."""
    import ifcopenshell
    import ifcopenshell.api.sequence as seq

    from twin.ifc.schedule4d import SEQUENCE_TYPES, work_duration

    f = ifcopenshell.open(str(model_path))
    ws = seq.add_work_schedule(f, name="reference")
    tasks = {}
    for a in schedule.activities.values():
        t = seq.add_task(f, work_schedule=ws, name=a.name, identification=a.id)
        tt = seq.add_task_time(f, task=t)
        seq.edit_task_time(f, task_time=tt, attributes={
            "ScheduleStart": cpm.dates[a.id].early_start, "ScheduleDuration": work_duration(a.duration_h, 8.0)})
        tasks[a.id] = t
    for r in schedule.relationships:
        rel = seq.assign_sequence(f, relating_process=tasks[r.pred], related_process=tasks[r.succ],
                                  sequence_type=SEQUENCE_TYPES[r.type])
        if r.lag_h:
            seq.assign_lag_time(f, rel_sequence=rel, lag_value=work_duration(r.lag_h, 8.0))
    f.write(str(out))
    return len(tasks), len(schedule.relationships)


def main(n: int) -> None:
    from dataclasses import replace

    from twin.cpm import compute_cpm
    from twin.ifc.schedule4d import write_4d
    from twin.importers import read_schedule
    from twin.links import Links

    model = SHARED / "ifc" / "IfcOpenHouse_IFC4.ifc"
    full = read_schedule(SHARED / "schedules" / "HS2_SP10_cost_loaded.xer")
    keep = list(full.activities)[:n]
    keep_set = set(keep)
    sched = replace(full, activities={k: full.activities[k] for k in keep},
                    relationships=tuple(r for r in full.relationships if r.pred in keep_set and r.succ in keep_set))
    cpm = compute_cpm(sched)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ours = write_4d(model, sched, Links(), Path(tmp) / "ours.ifc", cpm=cpm)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        ref_tasks, ref_seq = reference_export(model, sched, cpm, Path(tmp) / "ref.ifc")
        t_ref = time.perf_counter() - t
    print(f"HS2 subset: {len(sched.activities)} activities, {len(sched.relationships)} relationships "
          f"({sum(1 for r in sched.relationships if r.lag_h)} with lags), into {model.name}")
    print(f"{'':<34}{'twin write_4d':>14}{'api recipe':>12}")
    print(f"{'tasks / sequences written':<34}{f'{ours.tasks} / {ours.sequences}':>14}{f'{ref_tasks} / {ref_seq}':>12}")
    print(f"{'seconds':<34}{t_ours:>14.2f}{t_ref:>12.2f}")
    print("(twin also writes calendars, CPM early/late dates, floats and criticality; the recipe's dates are "
          "snapped to 09:00/17:00 and re-cascaded by the api)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
