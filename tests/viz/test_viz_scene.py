"""The offscreen 4D scene: data first (triangle counts per pass), then pixel statistics."""
from __future__ import annotations

from datetime import datetime as dt

import numpy as np
import pytest

pytest.importorskip("pyvista")

from twin.errors import GeometryError, InputError
from twin.fourd import build_timeline
from twin.model import Mesh
from twin.viz.appearance import profile_from_dict
from twin.viz.scene import Scene4D, merge_meshes

pytestmark = pytest.mark.slow

DATES = [dt(2025, 3, 5, 12), dt(2025, 3, 12, 12), dt(2025, 3, 26)]   # storey 1, 2, all 3 built/building


def foreground(image, background=(255, 255, 255), tol=40):
    """Number of pixels that differ clearly from the background colour."""
    return int((np.abs(image.astype(int) - np.array(background)).max(axis=-1) > tol).sum())


@pytest.fixture(scope="module")
def scene(boxes):
    meshes, elements, windows, links = boxes.box_building()
    hidden = profile_from_dict({"construct": {"not_started": "hidden"}, "unlinked": "hidden"})
    s = Scene4D(meshes, elements, profile=hidden, window_size=(400, 300), ground=False, legend=False)
    yield s, build_timeline(windows, links, s.element_ids)
    s.close()


def test_merge_keeps_every_triangle_and_indexes_its_element(boxes):
    meshes = {"a": boxes.box_mesh((0, 0, 0), (1, 1, 1)), "b": boxes.box_mesh((2, 0, 0), (3, 1, 1)),
              "empty": Mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=int))}
    ids, points, faces, cell_el = merge_meshes(meshes)
    assert ids == ("a", "b")
    assert points.shape == (16, 3) and faces.shape == (24, 3)
    assert faces[12:].min() == 8 and cell_el.tolist() == [0] * 12 + [1] * 12


def test_model_without_geometry_is_a_clear_error():
    with pytest.raises(GeometryError, match="no element has a mesh"):
        merge_meshes({})


def test_opaque_triangles_grow_with_the_date(scene):
    s, tl = scene
    counts = []
    for at in DATES:
        s.show_states(tl.state_at(at))
        counts.append(s.counts()["opaque"])
    assert counts[0] < counts[1] < counts[2] == s.n_cells


def test_rendered_building_grows_by_pixel_count(scene):
    s, tl = scene
    pixels = []
    for at in DATES:
        s.show_states(tl.state_at(at))
        s.set_caption("")
        img = s.render()
        assert img.shape == (300, 400, 3) and img.dtype == np.uint8
        pixels.append(foreground(img))
    assert 0 < pixels[0] < pixels[1] < pixels[2]
    assert pixels[2] > 1.5 * pixels[0]


def test_in_progress_elements_are_drawn_in_the_highlight_colour(scene):
    s, tl = scene
    s.show_states(tl.state_at(DATES[0]))
    s.set_caption("")
    img = s.render().astype(int)
    green = s.profile.construct.in_progress.colour
    hue = (img[..., 1] > img[..., 0] + 40) & (img[..., 1] > img[..., 2] + 40)
    assert green[1] > green[0] and hue.sum() > 200


def test_highlight_overrides_state_colours(scene):
    s, tl = scene
    s.show_states(tl.state_at(DATES[2]))
    s.set_caption("")
    assert s.highlight(["slab2", "not-in-model"], "#ff00ff") == 1
    img = s.render().astype(int)
    magenta = (img[..., 0] > 150) & (img[..., 2] > 150) & (img[..., 1] < 100)
    s.clear_highlight()
    img2 = s.render().astype(int)
    magenta2 = (img2[..., 0] > 150) & (img2[..., 2] > 150) & (img2[..., 1] < 100)
    assert magenta.sum() > 500 and magenta2.sum() == 0


def test_values_colour_mode_needs_one_value_per_element(scene):
    s, _ = scene
    with pytest.raises(InputError, match="value array has 2 entries"):
        s.show_values(np.array([0.1, 0.2]), "probability", "P")
    vals = np.linspace(0, 1, len(s.element_ids))
    vals[0] = np.nan
    s.show_values(vals, "criticality", "Criticality")
    assert s.counts()["opaque"] == s.n_cells - 12      # the nan element is drawn as unlinked (hidden)


def test_ghosted_not_started_elements_go_to_the_translucent_pass(boxes):
    meshes, elements, windows, links = boxes.box_building()
    with Scene4D(meshes, elements, window_size=(200, 150), legend=False) as s:
        tl = build_timeline(windows, links, s.element_ids)
        s.show_states(tl.state_at(dt(2025, 3, 1)))
        assert s.counts() == {"opaque": 0, "translucent": 0, "ghost": s.n_cells}
        faint = foreground(s.render(), tol=120)
        s.show_states(tl.state_at(dt(2025, 4, 1)))
        solid = foreground(s.render(), tol=120)
    assert solid > 3 * max(faint, 1)


def test_window_too_small_is_rejected(boxes):
    meshes, elements, _, _ = boxes.box_building(1, 1)
    with pytest.raises(InputError, match="at least 16x16"):
        Scene4D(meshes, elements, window_size=(10, 10))


def test_meshes_are_oriented_for_back_face_culling(boxes):
    from twin.viz.scene import orient_for_culling

    good = boxes.box_mesh((0, 0, 0), (1, 1, 1))
    inside_out = Mesh(good.vertices, good.faces[:, ::-1])
    open_box = Mesh(good.vertices, good.faces[:10])
    touching = boxes.box_mesh((1, 0, 0), (2, 1, 1))            # shares a face's edges with `good`
    ids, points, faces, cell_el = merge_meshes({"good": good, "flip": inside_out, "open": open_box,
                                                "touch": touching})
    out, out_el, report = orient_for_culling(points, faces, cell_el)
    assert report == {"kept": 2, "flipped": 1, "double_sided": 1}
    assert len(out) == len(faces) + 10                           # the open box drawn from both sides
    flipped = out[out_el == 1]
    assert (flipped == faces[cell_el == 1][:, ::-1]).all()       # now wound like the good box


def test_culled_scene_draws_the_same_pixels_as_an_unculled_one(boxes):
    meshes, elements, windows, links = boxes.box_building()
    with Scene4D(meshes, elements, window_size=(300, 200), legend=False) as s:
        tl = build_timeline(windows, links, s.element_ids)
        s.show_states(tl.state_at(dt(2025, 4, 1)))
        culled = s.render().astype(int)
        actors = s.plotter.renderer.GetActors()
        actors.InitTraversal()
        for _ in range(actors.GetNumberOfItems()):
            actors.GetNextActor().GetProperty().BackfaceCullingOff()
        plain = s.render().astype(int)
    assert (np.abs(culled - plain).max(axis=-1) > 30).sum() < 20


def test_named_views_look_from_different_sides_and_bad_names_are_refused(boxes):
    meshes, elements, windows, links = boxes.box_building()
    with Scene4D(meshes, elements, window_size=(200, 150), legend=False, ground=False) as s:
        iso = s.render().astype(int)
        pos_iso = np.array(s.plotter.camera.position)
        s.set_view("top")
        top = s.render().astype(int)
        pos_top = np.array(s.plotter.camera.position)
        with pytest.raises(InputError, match="view must be one of"):
            s.set_view("sideways")
    lo, hi = s.bounds
    centre = (lo + hi) / 2
    assert pos_top[2] > hi[2] and np.allclose(pos_top[:2], centre[:2])      # straight above
    assert pos_iso[0] > centre[0] and pos_iso[1] < centre[1]                # from the south-east
    assert np.abs(iso - top).mean() > 5


def test_demolition_temporary_works_and_late_elements_show_their_colours(boxes):
    from twin.fourd import TaskWindow, WorkKind
    from twin.model import Element

    meshes, elements, windows, links = boxes.box_building(3, 2)
    meshes["shed"] = boxes.box_mesh((14, 0, 0), (18, 5, 3))
    elements["shed"] = Element("shed", "IfcBuildingElementProxy", materials=("Brick",))
    meshes["scaf"] = boxes.box_mesh((-1.2, -1.2, 0), (-0.4, 12.4, 11))
    elements["scaf"] = Element("scaf", "IfcMember")
    windows["D1"] = TaskWindow("D1", dt(2025, 3, 10), dt(2025, 3, 14), WorkKind.DEMOLISH, "Demolish shed")
    windows["T1"] = TaskWindow("T1", dt(2025, 3, 3), dt(2025, 3, 28), WorkKind.TEMPORARY, "Scaffold")
    s3 = windows["S3"]
    windows["S3"] = TaskWindow("S3", s3.start, s3.finish, s3.kind, s3.name,
                               baseline_start=dt(2025, 3, 10), baseline_finish=dt(2025, 3, 14))
    links += [("D1", "shed"), ("T1", "scaf")]

    def share(img, colour):
        target = np.array(colour) * 255
        return int((np.abs(img - target).max(axis=-1) < 60).sum())

    with Scene4D(meshes, elements, window_size=(400, 250), legend=False) as s:
        tl = build_timeline(windows, links, s.element_ids)
        s.show_states(tl.state_at(dt(2025, 3, 12)))
        mid = s.render().astype(int)
        s.show_states(tl.state_at(dt(2025, 4, 1)))
        end = s.render().astype(int)
    p = s.profile
    for colour in (p.demolish.in_progress.colour, p.temporary.in_progress.colour, p.construct.late.colour):
        assert share(mid, colour) > 300 and share(end, colour) < 20


def test_time_bar_fills_with_the_programme(boxes):
    from twin.viz.frames import FourDView

    meshes, elements, windows, links = boxes.box_building()
    fill = np.array([0.18, 0.45, 0.75]) * 255
    with Scene4D(meshes, elements, window_size=(400, 300), legend=False) as s:
        view = FourDView(s, windows, links)
        widths = []
        for at in (dt(2025, 3, 4), dt(2025, 3, 12), dt(2025, 3, 20)):
            view.show(at)
            top = s.render()[:80].astype(int)
            widths.append(int((np.abs(top - fill).max(axis=-1) < 30).sum()))
        s.set_time_bar(None)
        hidden = s.render()[:80].astype(int)
    assert 0 < widths[0] < widths[1] < widths[2]
    assert int((np.abs(hidden - fill).max(axis=-1) < 30).sum()) == 0
