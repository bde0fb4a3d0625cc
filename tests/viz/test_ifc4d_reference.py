"""The buildingSMART IFC4.3 construction-scheduling example, read, linked and rendered day by day.

Ground truth (samples/README.md): a slab first, then four walls one after another.
"""
from __future__ import annotations

from datetime import datetime as dt

import numpy as np
import pytest

pytest.importorskip("pyvista")

from twin.fourd import Status

pytestmark = pytest.mark.slow


@pytest.fixture
def inputs(shared):
    from twin.viz.inputs import load_4d_inputs

    path = shared / "samples" / "ifc4d" / "construction-scheduling-task.ifc"
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    return load_4d_inputs([path])


def test_slab_then_four_walls_one_a_day(inputs):
    from twin.fourd import build_timeline

    ids = list(inputs.model.meshes)
    tl = build_timeline(inputs.windows, inputs.links, ids)
    classes = {g: inputs.model.elements[g].ifc_class for g in ids}
    complete_each_evening = []
    for day in range(20, 25):
        states = tl.state_at(dt(2010, 9, day, 18)).to_records()
        done = sorted(classes[g] for g, s in states.items() if s.status == Status.COMPLETE)
        complete_each_evening.append(done)
    assert complete_each_evening[0] == ["IfcSlab"]
    assert [len(d) for d in complete_each_evening] == [1, 2, 3, 4, 5]
    assert complete_each_evening[-1].count("IfcWall") == 4
    midday = tl.state_at(dt(2010, 9, 21, 12)).to_records()
    assert sorted(classes[g] for g, s in midday.items() if s.status == Status.IN_PROGRESS) == ["IfcWall"]


def test_rendered_frames_grow_day_by_day(inputs):
    """Pixels that differ from the empty site (nothing built yet, not-started hidden) grow each day."""
    from twin.viz.appearance import profile_from_dict
    from twin.viz.frames import FourDView
    from twin.viz.scene import Scene4D

    hidden = profile_from_dict({"construct": {"not_started": "hidden"}, "unlinked": "hidden"})
    with Scene4D(inputs.model.meshes, inputs.model.elements, profile=hidden, window_size=(320, 240),
                 legend=False) as scene:
        view = FourDView(scene, inputs.windows, inputs.links)
        frames = []
        for when in (dt(2010, 9, 19), dt(2010, 9, 20, 18), dt(2010, 9, 22, 18), dt(2010, 9, 25)):
            view.show(when)
            scene.set_caption("")
            frames.append(scene.render().astype(int))
    empty = frames[0]
    built = [int((np.abs(f - empty).max(axis=-1) > 25).sum()) for f in frames[1:]]
    assert 0 < built[0] < built[1] < built[2]


@pytest.mark.parametrize("name", ["Duplex_A_20110907.ifc", "IfcOpenHouse_IFC4.ifc"])
def test_back_face_culling_changes_no_pixel_of_real_models(shared, name):
    """Real exports (Revit, IfcOpenShell) have open and inconsistent meshes: culling must not show it."""
    from twin.ifc import load_model
    from twin.viz.scene import Scene4D

    path = shared / "samples" / "ifc" / name
    if not path.exists():
        pytest.skip(f"reference file {path} is absent")
    model = load_model([path], geometry=True)
    with Scene4D(model.meshes, model.elements, window_size=(400, 300), legend=False) as scene:
        culled = scene.render().astype(int)
        actors = scene.plotter.renderer.GetActors()
        actors.InitTraversal()
        for _ in range(actors.GetNumberOfItems()):
            actors.GetNextActor().GetProperty().BackfaceCullingOff()
        plain = scene.render().astype(int)
        report = scene.orientation
    assert sum(report.values()) == len(scene.element_ids)
    assert (np.abs(culled - plain).max(axis=-1) > 40).sum() <= 0.0005 * culled[..., 0].size
