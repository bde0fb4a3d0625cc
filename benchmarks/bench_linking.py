"""Benchmark: rule-based linking with twin.links against IfcOpenShell's selector (what Bonsai uses).

Both sides select the same element sets on a real model (storey x class selections, and a property
selection), in the same process run: twin on its element records, IfcOpenShell's
``ifcopenshell.util.selector.filter_elements`` on the opened IFC file. The script checks that the
selected GlobalIds agree, then prints the times. Also times plan generation per strategy.

Run: ``.venv/bin/python benchmarks/bench_linking.py [MODEL.ifc]`` (default: ../shared Office_A).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "samples" / "ifc" / "Office_A_20110811.ifc"
CLASSES = ("IfcWall", "IfcDoor", "IfcWindow", "IfcCovering", "IfcFlowTerminal", "IfcSlab", "IfcRailing")


def main(path: Path) -> None:
    import ifcopenshell
    import ifcopenshell.util.selector

    from twin.ifc import load_model
    from twin.links import LinkRule, apply_rules
    from twin.plan import STRATEGIES, generate_plan
    from twin.schedule import Activity, Schedule

    t = time.perf_counter()
    model = load_model(str(path), geometry=True)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    f = ifcopenshell.open(str(path))
    t_open = time.perf_counter() - t
    storeys = sorted({s.name for s in model.storeys})
    queries = [(f"{s}|{c}", {"class": c, "storey": s}, f'{c}, location="{s}"') for s in storeys for c in CLASSES]
    queries.append(("external walls", {"class": "IfcWall", "Pset_WallCommon.IsExternal": True},
                    "IfcWall, Pset_WallCommon.IsExternal=TRUE"))
    schedule = Schedule({q[0]: Activity(q[0]) for q in queries})
    rules = [LinkRule(q[0], q[1]) for q in queries]

    t = time.perf_counter()
    links, report = apply_rules(model, schedule, rules, mode="all")
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ref = {q[0]: {e.GlobalId for e in ifcopenshell.util.selector.filter_elements(f, q[2])} for q in queries}
    t_ref = time.perf_counter() - t

    ours = links.by_activity()
    mismatches = [k for k in ref if set(ours.get(k, ())) != ref[k]]
    print(f"model: {path.name} ({f.schema}), {len(model.elements)} elements, {len(storeys)} storeys")
    print(f"selections: {len(queries)}; elements selected: twin {len(links)}, "
          f"IfcOpenShell {sum(len(v) for v in ref.values())}; mismatching selections: {len(mismatches)}")
    for k in mismatches[:5]:
        print(f"  {k}: twin {len(ours.get(k, ()))}, IfcOpenShell {len(ref[k])}")
    print(f"{'step':<44}{'twin':>10}{'IfcOpenShell':>14}")
    print(f"{'read model (twin: cached records + boxes)':<44}{t_load:>10.3f}{t_open:>14.3f}")
    print(f"{'apply selections':<44}{t_ours:>10.3f}{t_ref:>14.3f}")
    for strategy in STRATEGIES:
        t = time.perf_counter()
        plan = generate_plan(model, strategy, zones=2)
        print(f"{'plan ' + strategy:<44}{time.perf_counter() - t:>10.3f}{'-':>14}   "
              f"{len(plan.schedule.activities)} activities, {len(plan.schedule.relationships)} links")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not target.is_file():
        sys.exit(f"model not found: {target}")
    main(target)
