"""Benchmark: the demo-building generator beside ``ifcopenshell.api`` authoring and IfcOpenShell reading.

Run from the project root:

    .venv/bin/python benchmarks/bench_generate.py            # up to ~50,000 elements
    .venv/bin/python benchmarks/bench_generate.py --quick    # up to ~5,000 elements

Prints, in one process run:
1. ours: ``generate_building`` for buildings of ~435 to ~50,000 elements: seconds, elements per
   second, file size, IFC entity count;
2. the reference way of authoring the same parts with ``ifcopenshell.api`` (``root.create_entity``,
   ``spatial.assign_container``, ``geometry.edit_object_placement``, ``add_profile_representation``,
   ``material.assign_material``, ``pset.add_qto``/``edit_qto``: one call chain per element, as
   Bonsai does) for the first elements of the same layout: elements per second, so the two rates
   can be compared;
3. the reading side on our files: ``ifcopenshell.open`` and tessellation of every element with
   ``ifcopenshell.geom.iterator`` (shows the file is realistic, not trivially cached work).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ifcopenshell  # noqa: E402
import ifcopenshell.api  # noqa: E402
import ifcopenshell.api.aggregate  # noqa: E402
import ifcopenshell.api.context  # noqa: E402
import ifcopenshell.api.geometry  # noqa: E402
import ifcopenshell.api.material  # noqa: E402
import ifcopenshell.api.project  # noqa: E402
import ifcopenshell.api.pset  # noqa: E402
import ifcopenshell.api.root  # noqa: E402
import ifcopenshell.api.spatial  # noqa: E402
import ifcopenshell.api.unit  # noqa: E402
import ifcopenshell.geom  # noqa: E402

from twin.ifc.generate import BuildingSpec, generate_building, plan_building, size_for_elements  # noqa: E402


def ours(out: Path, target: int) -> tuple[int, float, float, Path]:
    """Elements, wall seconds, CPU seconds of this process, file."""
    storeys, bays = size_for_elements(target)
    path = out / f"gen_{target}.ifc"
    t, c = time.perf_counter(), time.process_time()
    s = generate_building(path, storeys=storeys, bays=bays)
    return s.elements, time.perf_counter() - t, time.process_time() - c, path


def api_reference(n_parts: int) -> tuple[int, float, float]:
    """Author the first ``n_parts`` shaped parts of a big layout the ifcopenshell.api way."""
    storeys, bays = size_for_elements(max(n_parts * 2, 500))
    layout = plan_building(BuildingSpec(storeys=storeys, bays=bays))
    api = ifcopenshell.api
    t, c = time.perf_counter(), time.process_time()
    f = api.project.create_file(version="IFC4")
    project = api.root.create_entity(f, ifc_class="IfcProject", name="ref")
    api.unit.assign_unit(f)
    model = api.context.add_context(f, context_type="Model")
    body = api.context.add_context(f, context_type="Model", context_identifier="Body", target_view="MODEL_VIEW",
                                   parent=model)
    building = api.root.create_entity(f, ifc_class="IfcBuilding", name="B")
    api.aggregate.assign_object(f, products=[building], relating_object=project)
    levels = []
    for name, elev in layout.storeys:
        st = api.root.create_entity(f, ifc_class="IfcBuildingStorey", name=name)
        api.aggregate.assign_object(f, products=[st], relating_object=building)
        levels.append((st, elev))
    mats: dict[str, object] = {}
    done = 0
    for part in layout.parts:
        if part.shape is None or part.shape.profile.kind != "rect" or part.parent:
            continue
        el = api.root.create_entity(f, ifc_class=part.ifc_class, predefined_type=part.predefined_type, name=part.name)
        storey, elev = levels[part.storey]
        api.spatial.assign_container(f, products=[el], relating_structure=storey)
        m = np.eye(4)
        m[:3, 3] = (part.origin[0], part.origin[1], elev + part.origin[2])
        api.geometry.edit_object_placement(f, product=el, matrix=m)
        xd, yd, _, _ = part.shape.profile.params
        profile = f.create_entity("IfcRectangleProfileDef", "AREA", None, None, xd, yd)
        rep = api.geometry.add_profile_representation(f, context=body, profile=profile, depth=part.shape.depth)
        api.geometry.assign_representation(f, product=el, representation=rep)
        if part.material not in mats:
            mats[part.material] = api.material.add_material(f, name=part.material)
        api.material.assign_material(f, products=[el], material=mats[part.material])
        if part.qto:
            qto = api.pset.add_qto(f, product=el, name=part.qto[0])
            api.pset.edit_qto(f, qto=qto, properties={q[0]: q[2] for q in part.qto[1]})
        done += 1
        if done >= n_parts:
            break
    return done, time.perf_counter() - t, time.process_time() - c


def reading(path: Path) -> tuple[float, float, int]:
    t = time.perf_counter()
    f = ifcopenshell.open(str(path))
    t_open = time.perf_counter() - t
    t = time.perf_counter()
    it = ifcopenshell.geom.iterator(ifcopenshell.geom.settings(), f, 1)
    n = 0
    if it.initialize():
        while True:
            n += 1
            if not it.next():
                break
    return t_open, time.perf_counter() - t, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at ~5,000 elements")
    args = parser.parse_args()
    targets = [435, 5_000] if args.quick else [435, 5_000, 20_000, 50_000]
    print(f"ifcopenshell {ifcopenshell.version}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = []
        print("\n1. ours: generate_building (create_entity, shared representation maps)")
        print(f"{'elements':>9} {'wall s':>8} {'CPU s':>8} {'elem/CPU s':>10} {'MB':>7} {'entities':>9}")
        for target in targets:
            n, sec, cpu, path = ours(out, target)
            entities = sum(1 for _ in ifcopenshell.open(str(path))) if target <= 5_000 else None
            print(f"{n:>9} {sec:>8.2f} {cpu:>8.2f} {n / cpu:>10.0f} {path.stat().st_size / 1e6:>7.1f} "
                  f"{entities if entities is not None else '-':>9}")
            files.append((n, path))
        print("\n2. reference: the same parts authored with ifcopenshell.api (one call chain per element)")
        print(f"{'elements':>9} {'wall s':>8} {'CPU s':>8} {'elem/CPU s':>10}")
        for n_parts in ([200, 1000] if args.quick else [200, 1000, 3000]):
            n, sec, cpu = api_reference(n_parts)
            print(f"{n:>9} {sec:>8.2f} {cpu:>8.2f} {n / cpu:>10.0f}")
        print("\n3. reading our files with IfcOpenShell: open, then tessellate every element (1 thread)")
        print(f"{'elements':>9} {'open s':>8} {'geom s':>8} {'shapes':>8}   (wall seconds)")
        for n, path in files:
            t_open, t_geom, shapes = reading(path)
            print(f"{n:>9} {t_open:>8.2f} {t_geom:>8.2f} {shapes:>8}")


if __name__ == "__main__":
    main()
