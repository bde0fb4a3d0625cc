"""BCF 2.1 / 3.0 export of clashes with bcf-client: one topic per clash (or per smart group), a
perspective viewpoint looking at the clash point with both elements selected, and a rendered
snapshot (PNG, ``twin.viz.scene.Scene4D`` off screen) in which element A is see-through red, B is blue and the
rest of the model is a faint ghost.

bcf-client and the renderer are imported inside the functions (this module is part of the core,
which loads neither at import time).
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from twin.atomic import atomic_path
from twin.clash import Clash, ClashGroup
from twin.errors import InputError

__all__ = ["write_bcf", "camera_for", "BCF_VERSIONS", "read_bcf_topics"]

BCF_VERSIONS = ("2.1", "3.0")
_STATUS = {"new": "Open", "active": "Active", "reviewed": "Reviewed", "approved": "Closed", "resolved": "Resolved"}


def camera_for(point: Sequence[float], boxes: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera (position, direction, up) looking at ``point`` from the south-east and above, far
    enough back that the clashing elements' boxes (the smaller one, at least 1.5 m) fill the view.
    """
    p = np.asarray(point, dtype=float)
    size = 1.5
    sizes = [float(np.linalg.norm(np.subtract(b[1], b[0]))) for b in boxes if b is not None]
    if sizes:
        size = max(1.5, min(min(sizes), 12.0))
    offset = np.array([1.0, -1.0, 0.8])
    offset = offset / np.linalg.norm(offset) * size * 1.6
    direction = -offset / np.linalg.norm(offset)
    right = np.cross(direction, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, direction)
    return p + offset, direction, up


def _check_target(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.suffix.lower() not in (".bcf", ".bcfzip"):
        raise InputError(f"{path}: a BCF file must end in .bcf or .bcfzip")
    if not folder.is_dir():
        raise InputError(f"{path}: cannot write BCF: folder '{folder}' does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{path}: cannot write BCF: folder '{folder}' is not writable")
    if path.exists() and path.is_dir():
        raise InputError(f"{path}: cannot write BCF: it is a folder")


def write_bcf(
    path: str | os.PathLike[str],
    clashes: Sequence[Clash],
    *,
    version: str = "2.1",
    groups: Sequence[ClashGroup] = (),
    per: str = "clash",
    meshes: Mapping[str, Any] | None = None,
    elements: Mapping[str, Any] | None = None,
    snapshots: bool = True,
    size: tuple[int, int] = (800, 600),
    project: str = "twin clash",
    author: str = "twin",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write clashes to a BCF file (atomically: a temporary file in the same folder, then renamed).

    Parameters
    ----------
    path : target ``.bcf`` file; its folder must exist and be writable (checked first)
    version : ``"2.1"`` or ``"3.0"``
    per : ``"clash"`` (one topic per clash) or ``"group"`` (one per smart group, selecting every
        element of the group, the viewpoint at the group centre)
    meshes, elements : the model (``BuildingModel.meshes``/``elements``) for snapshots and boxes
    snapshots : render a PNG per viewpoint (needs ``meshes``)

    Returns
    -------
    dict with ``path``, ``version``, ``topics``, ``snapshots``.
    """
    if version not in BCF_VERSIONS:
        raise InputError(f"BCF version must be 2.1 or 3.0, got '{version}'")
    if per not in ("clash", "group"):
        raise InputError(f"BCF topics per must be clash or group, got '{per}'")
    target = Path(path)
    _check_target(target)
    if version == "2.1":
        from bcf.v2.bcfxml import BcfXml
        from bcf.v2.visinfo import VisualizationInfoHandler, build_camera_from_vectors
    else:
        from bcf.v3.bcfxml import BcfXml
        from bcf.v3.visinfo import VisualizationInfoHandler, build_camera_from_vectors
    items = _topics(clashes, groups, per, elements)
    bcf = BcfXml.create_new(project)
    scene = None
    if snapshots and meshes and items:
        from twin.viz.scene import Scene4D

        scene = Scene4D(meshes, elements, window_size=size, ground=False, legend=False, multi_samples=4)
    n_snap = 0
    try:
        for k, (title, description, status, point, guids, labels) in enumerate(items):
            topic = bcf.add_topic(title, description, author, topic_type="Clash", topic_status=status)
            boxes = [elements[g].bbox for g in guids if elements and g in elements]
            pos, direction, up = camera_for(point, boxes)
            handler = VisualizationInfoHandler.create_from_point_and_guids(np.asarray(point), *guids)
            handler.visualization_info.perspective_camera = build_camera_from_vectors(
                pos.tolist(), direction.tolist(), up.tolist())
            name = None
            if scene is not None:
                scene.set_caption(title, description.splitlines()[0] if description else "")
                handler.snapshot = _snapshot(scene, pos, point, up, guids)
                name = "snapshot.png"
                n_snap += 1
            topic.add_visinfo_handler(handler, name)
            if progress:
                progress(k + 1, len(items))
    finally:
        if scene is not None:
            scene.close()
    try:
        with atomic_path(target, suffix=".part") as tmp:
            bcf.save(tmp)
    except OSError as exc:
        raise InputError(f"{target}: cannot write BCF: {exc.strerror or exc}") from None
    return {"path": str(target), "version": version, "topics": len(items), "snapshots": n_snap}


def _topics(clashes, groups, per, elements):
    def label(g: str) -> str:
        e = elements.get(g) if elements else None
        if e is None:
            return g
        return f"{e.ifc_class} '{e.name or ''}' ({g})"
    out = []
    if per == "clash":
        for c in clashes:
            dist = "" if not math.isfinite(c.distance) else f"{c.distance * 1000:.0f} mm"
            what = {"hard": "depth", "duplicate": "depth", "touch": "gap", "clearance": "distance"}.get(c.type, "")
            title = f"{c.type.capitalize()} clash {c.id}: {c.a_class} x {c.b_class}"
            lines = [f"{label(c.a)} and {label(c.b)}", f"type {c.type}, {what} {dist}",
                     f"point {', '.join(f'{x:.3f}' for x in c.point)}"]
            if c.first is not None:
                lines.append(f"both exist from {c.first:%Y-%m-%d %H:%M} to {c.last:%Y-%m-%d %H:%M}")
            out.append((title, "\n".join(lines), _STATUS.get(c.status, "Open"), c.point, (c.a, c.b), None))
    else:
        by_id = {c.id: c for c in clashes}
        for g in groups:
            members = [by_id[i] for i in g.clash_ids if i in by_id]
            if not members:
                continue
            guids = tuple(dict.fromkeys(x for c in members for x in (c.a, c.b)))
            title = f"Clash group {g.id}: {g.key} ({len(members)} clashes)"
            desc = "\n".join(f"{c.id}: {label(c.a)} x {label(c.b)}" for c in members[:50])
            status = _STATUS.get(members[0].status, "Open")
            out.append((title, desc, status, g.centre, guids, None))
    return out


def _snapshot(scene, pos, point, up, guids) -> bytes:
    from twin.viz.frames import png_bytes

    others = [g for g in scene.element_ids if g not in set(guids)]
    scene.clear_highlight()
    scene.highlight(others, "#c8ccd2", 0.12)
    scene.highlight(guids[:1], "#e31a1c", 0.6)          # see-through, so B shows where they overlap
    if len(guids) > 1:
        scene.highlight(guids[1:], "#1f78b4", 1.0)
    cam = scene.plotter.camera
    cam.position = tuple(map(float, pos))
    cam.focal_point = tuple(map(float, point))
    cam.up = tuple(map(float, up))
    cam.view_angle = 60.0
    scene.plotter.renderer.ResetCameraClippingRange()
    image = scene.render()
    return png_bytes(image)


def read_bcf_topics(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a BCF file back with bcf-client (2.1 or 3.0, whichever it is): per topic its title,
    status, selected GlobalIds, camera position and snapshot size in bytes."""
    from bcf.bcfxml import load

    bcf = load(Path(path))
    if bcf is None:
        raise InputError(f"{path}: not a BCF file")
    out = []
    try:
        for guid, th in bcf.topics.items():
            t = th.topic if hasattr(th, "topic") else th.markup.topic
            vps = []
            for vp in th.viewpoints.values():
                vi = vp.visualization_info
                cam = vi.perspective_camera
                pos = cam.camera_view_point
                vps.append({"selected": vp.get_selected_guids() or [],
                            "camera": [pos.x, pos.y, pos.z], "snapshot_bytes": len(vp.snapshot or b"")})
            out.append({"guid": guid, "title": t.title, "status": t.topic_status, "viewpoints": vps})
    finally:
        bcf.close()
    return out
