"""Sequence conflicts of a 4D scenario (pure): supports, work zones, cranes and schedule logic.

Inputs are plain records: element boxes (``Element.bbox``, metres), element-activity links, and
activity windows (:class:`twin.fourd.TaskWindow`, from CPM dates). Findings are returned as
:class:`Finding` records naming activities and GlobalIds. ``run_conflicts`` (the ``twin conflicts``
command) loads a scenario and calls the four checks.

Assumptions:

- **Support graph** (:func:`support_graph`): element P supports element S when their boxes touch
  within ``contact`` metres and a class rule allows it. Vertical contact: S's underside on P's top
  (S above), with plan overlap. End contact: a beam's end on a column face. A stair flight also
  bears on the slab it arrives at (its top within the slab's depth). A column that stands on a
  column or footing is not taken as standing on the slab it passes through. A wall whose
  ``LoadBearing`` property is false supports nothing. Rules (supported <- supporters): column <- footing, column, slab, beam,
  wall; beam <- column, wall, beam; slab <- beam, wall, column, footing; wall <- slab, beam,
  footing, wall; stair flight <- slab, beam, wall; member/plate <- beam, column, member, wall, slab.
- **Support conflict**: S's first construct activity starts before P's last one finishes. Pairs
  built by the same activity are not compared (the crew orders its own work).
- **Workspace**: two activities overlapping in time whose element boxes, grown by ``margin``,
  overlap. One finding per activity pair.
- **Crane**: an element is lifted when its activity plans lifts (``attributes["lifts"]`` > 0) or
  has no such attribute, and it is not cast in place (``ConstructionMethod`` In-Situ). Its weight is
  a weight quantity (kg), else a volume quantity (or the mesh volume) times a density from its
  material names (else ``density``). Its radius is the plan distance from the mast to the box centre.
  The capacity at a radius interpolates the load chart linearly (conservatively flat before the first
  point). Two cranes conflict when their slew circles overlap and activities they lift for overlap in
  time; each lift is given to the reaching crane with the most spare capacity.
- **Logic**: cycles in the relationships, elements linked to no activity, elements built by several
  activities, and tasks with no elements (milestones and summaries are not tasks here).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from twin.model import Element

__all__ = ["Finding", "SUPPORT_RULES", "role_of", "support_graph", "element_construct_windows",
           "support_conflicts", "workspace_conflicts", "element_weight", "capacity_at", "crane_conflicts",
           "logic_conflicts", "run_conflicts", "DENSITIES"]

SUPPORT_RULES: Mapping[str, tuple[str, ...]] = {
    "column": ("footing", "column", "slab", "beam", "wall"),
    "beam": ("column", "wall", "beam"),
    "slab": ("beam", "wall", "column", "footing"),
    "wall": ("slab", "beam", "footing", "wall"),
    "stair": ("slab", "beam", "wall"),
    "member": ("beam", "column", "member", "wall", "slab"),
}
# end (horizontal) contacts that carry load: (supported role, supporter role)
_END_RULES = {("beam", "column"), ("beam", "wall"), ("stair", "slab"), ("member", "column"), ("member", "beam")}
DENSITIES = (("concrete", 2400.0), ("steel", 7850.0), ("copper", 8940.0), ("alumin", 2700.0), ("timber", 500.0),
             ("wood", 500.0), ("glass", 2500.0), ("brick", 1800.0), ("masonry", 1800.0), ("gypsum", 1000.0),
             ("plaster", 1000.0), ("insulation", 50.0))


@dataclass(frozen=True, slots=True)
class Finding:
    """One conflict: ``kind`` (support, workspace, crane, logic), a ``code`` (e.g. ``starts_before_support``),
    a readable ``message``, the activities and GlobalIds involved, and details for the JSON."""

    kind: str
    code: str
    message: str
    activities: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "activities": list(self.activities),
                "elements": list(self.elements), **dict(self.details)}


def role_of(element: Element) -> str | None:
    """Structural role from the IFC class: footing, column, beam, slab, wall, stair, member, or None."""
    c = element.ifc_class.lower()
    for prefix, role in (("ifcfooting", "footing"), ("ifcpile", "footing"), ("ifccolumn", "column"),
                         ("ifcbeam", "beam"), ("ifcslab", "slab"), ("ifcwall", "wall"),
                         ("ifcstairflight", "stair"), ("ifcmember", "member"), ("ifcplate", "member")):
        if c.startswith(prefix):
            return role
    return None


# -------------------------------------------------------------------------------- support graph

def support_graph(elements: Mapping[str, Element], *, contact: float = 0.01,
                  rules: Mapping[str, Sequence[str]] = SUPPORT_RULES) -> list[tuple[str, str]]:
    """(supported, supporter) GlobalId pairs from box contact and class rules (module docstring).

    Parameters
    ----------
    elements : GlobalId -> Element (boxes in metres; elements without a box or a role are skipped)
    contact : metres; faces this close count as touching
    """
    ids = [g for g, e in elements.items() if e.bbox is not None and role_of(e) is not None]
    if len(ids) < 2:
        return []
    roles = [role_of(elements[g]) for g in ids]
    # a wall the model says is not load-bearing carries nothing (it may still stand on something)
    carries = [not (r == "wall" and _load_bearing(elements[g]) is False) for g, r in zip(ids, roles)]
    box = np.array([elements[g].bbox for g in ids], dtype=float)       # (n, 2, 3)
    lo, hi = box[:, 0], box[:, 1]
    order = np.argsort(lo[:, 0])
    xs = lo[order, 0]
    out: list[tuple[str, str]] = []
    end = np.searchsorted(xs, hi[order, 0] + contact, side="right")
    for k in range(len(ids)):
        i = order[k]
        js = order[k + 1:end[k]]
        if not len(js):
            continue
        ov = np.minimum(hi[i], hi[js]) - np.maximum(lo[i], lo[js])     # (m, 3) overlap per axis
        touching = np.all(ov >= -contact, axis=1)
        for j in js[touching]:
            for s, p in ((i, j), (j, i)):
                if roles[p] not in rules.get(roles[s], ()) or not carries[p]:
                    continue
                if _bears(lo[s], hi[s], lo[p], hi[p], contact, (roles[s], roles[p]) in _END_RULES,
                          roles[s] == "stair" and roles[p] == "slab"):
                    out.append((ids[s], ids[p]))
    # a column standing on a column or footing bears on it, not on the slab it passes through
    direct = {s for s, p in out if roles[ids.index(s)] == "column" and role_of(elements[p]) in ("column", "footing")} \
        if out else set()
    return [(s, p) for s, p in out if not (s in direct and role_of(elements[p]) == "slab")]


def _load_bearing(element: Element) -> bool | None:
    """The element's ``LoadBearing`` property (any property set), None when it has none."""
    for k, v in element.properties.items():
        if k.rsplit(".", 1)[-1] == "LoadBearing" and isinstance(v, bool):
            return v
    return None


def _bears(slo, shi, plo, phi, tol: float, end_ok: bool, arrival: bool = False) -> bool:
    ov = np.minimum(shi, phi) - np.maximum(slo, plo)
    # vertical: S's underside on P's top, overlapping in plan
    if abs(slo[2] - phi[2]) <= tol and ov[0] > tol and ov[1] > tol:
        return True
    # a stair flight arriving at a slab: its top lies within the slab's depth, under it in plan
    if arrival and plo[2] - tol <= shi[2] <= phi[2] + tol and slo[2] < plo[2] and ov[0] > tol and ov[1] > tol:
        return True
    if not end_ok:
        return False
    # end contact: touching across x or y, overlapping on the other plan axis and in height,
    # S not hanging below P
    for ax, other in ((0, 1), (1, 0)):
        if abs(ov[ax]) <= tol and ov[other] > tol and ov[2] > tol and slo[2] >= plo[2] - tol:
            return True
    return False


def element_construct_windows(windows: Mapping[str, Any], links: Iterable[tuple[str, str]]
                              ) -> dict[str, tuple[datetime, datetime, tuple[str, ...]]]:
    """GlobalId -> (first construct start, last construct finish, construct activity ids)."""
    out: dict[str, list] = {}
    for aid, gid in links:
        w = windows.get(aid)
        if w is None or getattr(w.kind, "value", str(w.kind)) != "construct":
            continue
        cur = out.get(gid)
        if cur is None:
            out[gid] = [w.effective_start, w.effective_finish, [aid]]
        else:
            cur[0] = min(cur[0], w.effective_start)
            cur[1] = max(cur[1], w.effective_finish)
            cur[2].append(aid)
    return {g: (v[0], v[1], tuple(dict.fromkeys(v[2]))) for g, v in out.items()}


def support_conflicts(pairs: Sequence[tuple[str, str]], ewin: Mapping[str, tuple[datetime, datetime, tuple[str, ...]]],
                      elements: Mapping[str, Element] | None = None) -> list[Finding]:
    """Elements that start before an element they rest on is finished, one finding per pair of
    activities (supported, support), listing the element pairs."""
    groups: dict[tuple[str, str], list] = {}
    for s, p in pairs:
        ws, wp = ewin.get(s), ewin.get(p)
        if ws is None or wp is None or set(ws[2]) & set(wp[2]):
            continue
        if ws[0] < wp[1]:
            groups.setdefault((ws[2][0], wp[2][-1]), []).append((s, p, ws[0], wp[1]))
    out = []
    for (a_s, a_p), items in sorted(groups.items(), key=lambda kv: min(x[2] for x in kv[1])):
        start = min(x[2] for x in items)
        finish = max(x[3] for x in items)
        s0, p0 = items[0][0], items[0][1]

        def name(g: str) -> str:
            e = elements.get(g) if elements else None
            return f"{e.ifc_class} {e.name or g}" if e else g
        msg = (f"activity {a_s} starts {start:%Y-%m-%d %H:%M} before {a_p} finishes {finish:%Y-%m-%d %H:%M}, "
               f"but {len(items)} of its element(s) rest on that work (e.g. {name(s0)} on {name(p0)})")
        out.append(Finding("support", "starts_before_support", msg, (a_s, a_p),
                           tuple(dict.fromkeys(x for it in items for x in it[:2])),
                           {"activity": a_s, "support_activity": a_p, "starts": start, "support_finishes": finish,
                            "pairs": [[s, p] for s, p, _, _ in items]}))
    return out


# ---------------------------------------------------------------------------------- workspace

def workspace_conflicts(windows: Mapping[str, Any], by_activity: Mapping[str, Sequence[str]],
                        elements: Mapping[str, Element], *, margin: float = 1.0) -> list[Finding]:
    """Activities overlapping in time whose work zones (element boxes grown by ``margin``) overlap."""
    acts = []
    for aid, gids in by_activity.items():
        w = windows.get(aid)
        boxes = [elements[g].bbox for g in gids if g in elements and elements[g].bbox is not None]
        if w is None or not boxes or w.effective_finish <= w.effective_start:
            continue
        b = np.array(boxes, dtype=float)
        acts.append((aid, w.effective_start, w.effective_finish, b[:, 0] - margin, b[:, 1] + margin,
                     [g for g in gids if g in elements and elements[g].bbox is not None]))
    acts.sort(key=lambda a: a[1])
    out = []
    for i, (ai, si, fi, loi, hii, gi) in enumerate(acts):
        ulo_i, uhi_i = loi.min(axis=0), hii.max(axis=0)
        for aj, sj, fj, loj, hij, gj in acts[i + 1:]:
            if sj >= fi:
                break
            if np.any(loj.min(axis=0) > uhi_i) or np.any(hij.max(axis=0) < ulo_i):
                continue
            ov = np.all((loi[:, None, :] < hij[None, :, :]) & (loj[None, :, :] < hii[:, None, :]), axis=2)
            if not ov.any():
                continue
            k, m = np.nonzero(ov)
            start, finish = max(si, sj), min(fi, fj)
            els = tuple(dict.fromkeys([gi[x] for x in k[:5]] + [gj[x] for x in m[:5]]))
            msg = (f"activities {ai} and {aj} work in the same zone from {start:%Y-%m-%d %H:%M} to "
                   f"{finish:%Y-%m-%d %H:%M} ({int(ov.sum())} element pair(s) within {margin:g} m)")
            out.append(Finding("workspace", "overlapping_work_zones", msg, (ai, aj), els,
                               {"from": start, "to": finish, "element_pairs": int(ov.sum()), "margin": margin}))
    return out


# --------------------------------------------------------------------------------------- crane

def _density(element: Element, default: float) -> float:
    for k, v in element.properties.items():
        if k.endswith("MassDensity") and isinstance(v, (int, float)) and v > 0:
            return float(v)
    text = " ".join(element.materials).lower()
    for word, rho in DENSITIES:
        if word in text:
            return rho
    return default


def element_weight(element: Element, volume: float | None = None, *, density: float = 2400.0
                   ) -> tuple[float | None, str]:
    """Weight in kg and where it came from: a weight quantity, a volume quantity times density, the
    mesh ``volume`` times density, or (None, "unknown")."""
    for key in sorted(element.quantities):
        if key.endswith(("GrossWeight", "NetWeight", ".Weight")) and element.quantities[key] > 0:
            return float(element.quantities[key]), f"quantity {key}"
    rho = _density(element, density)
    for key in sorted(element.quantities):
        if key.endswith(("NetVolume", "GrossVolume", ".Volume")) and element.quantities[key] > 0:
            return float(element.quantities[key]) * rho, f"{key} x {rho:g} kg/m3"
    if volume is not None and volume > 0:
        return volume * rho, f"mesh volume x {rho:g} kg/m3"
    return None, "unknown"


def capacity_at(chart: Sequence[tuple[float, float]], radius: float) -> float | None:
    """Tonnes a crane lifts at ``radius`` m: linear between chart points, the first point's load
    closer in, None beyond the last point (and None for an empty chart)."""
    if not chart:
        return None
    r = np.array([c[0] for c in chart], dtype=float)
    t = np.array([c[1] for c in chart], dtype=float)
    if radius > r[-1] + 1e-9:
        return None
    return float(np.interp(radius, r, t))


def _in_situ(element: Element) -> bool:
    for k, v in element.properties.items():
        if k.endswith("ConstructionMethod") and isinstance(v, str) and re.sub(r"[^a-z]", "", v.lower()) == "insitu":
            return True
    return False


def crane_conflicts(cranes: Sequence[Any], activities: Mapping[str, Any], windows: Mapping[str, Any],
                    by_activity: Mapping[str, Sequence[str]], elements: Mapping[str, Element],
                    volumes: Mapping[str, float] | None = None, *, density: float = 2400.0) -> list[Finding]:
    """Lifts out of reach or over capacity, and cranes with overlapping slew circles lifting at once.

    ``cranes``: records with ``name``, ``x``, ``y``, ``radius_m``, ``capacity`` ((m, t), ...), as
    :class:`twin.scenario.CraneSpec`.
    """
    if not cranes:
        return []
    out: list[Finding] = []
    uses: dict[str, set[str]] = {}          # crane name -> activities lifting with it
    for aid, gids in by_activity.items():
        act = activities.get(aid)
        lifts = (getattr(act, "attributes", None) or {}).get("lifts") if act is not None else None
        if lifts is not None and not (isinstance(lifts, (int, float)) and lifts > 0):
            continue
        for g in gids:
            e = elements.get(g)
            if e is None or e.bbox is None or _in_situ(e):
                continue
            cx, cy = (e.bbox[0][0] + e.bbox[1][0]) / 2, (e.bbox[0][1] + e.bbox[1][1]) / 2
            kg, how = element_weight(e, (volumes or {}).get(g), density=density)
            best = None
            reach = []
            for c in cranes:
                r = math.hypot(cx - c.x, cy - c.y)
                if r > c.radius_m:
                    continue
                cap = capacity_at(c.capacity, r)
                spare = math.inf if cap is None or kg is None else cap * 1000.0 - kg
                reach.append((c, r, cap))
                if best is None or spare > best[3]:
                    best = (c, r, cap, spare)
            name = f"{e.ifc_class} {e.name or g}"
            if best is None:
                near = min(cranes, key=lambda c: math.hypot(cx - c.x, cy - c.y) - c.radius_m)
                d = math.hypot(cx - near.x, cy - near.y)
                out.append(Finding("crane", "out_of_reach",
                                   f"{name} ({aid}) is {d:.1f} m from crane {near.name}, beyond its {near.radius_m:g} m reach",
                                   (aid,), (g,), {"crane": near.name, "radius_m": round(d, 3), "reach_m": near.radius_m}))
                continue
            c, r, cap, spare = best
            uses.setdefault(c.name, set()).add(aid)
            if spare < 0:
                out.append(Finding("crane", "overload",
                                   f"{name} ({aid}) weighs {kg / 1000:.2f} t ({how}); crane {c.name} lifts "
                                   f"{cap:.2f} t at {r:.1f} m", (aid,), (g,),
                                   {"crane": c.name, "radius_m": round(r, 3), "weight_t": round(kg / 1000, 3),
                                    "capacity_t": round(cap, 3), "weight_from": how}))
    names = [c.name for c in cranes]
    for i, c1 in enumerate(cranes):
        for c2 in cranes[i + 1:]:
            d = math.hypot(c1.x - c2.x, c1.y - c2.y)
            if d >= c1.radius_m + c2.radius_m:
                continue
            for a1 in sorted(uses.get(c1.name, ())):
                w1 = windows.get(a1)
                for a2 in sorted(uses.get(c2.name, ())):
                    w2 = windows.get(a2)
                    if w1 is None or w2 is None or a1 == a2:
                        continue
                    s, f = max(w1.effective_start, w2.effective_start), min(w1.effective_finish, w2.effective_finish)
                    if s < f:
                        out.append(Finding("crane", "slew_overlap",
                                           f"cranes {c1.name} and {c2.name} (masts {d:.1f} m apart, reaches "
                                           f"{c1.radius_m:g} + {c2.radius_m:g} m) both lift from {s:%Y-%m-%d %H:%M} to "
                                           f"{f:%Y-%m-%d %H:%M}: {a1} and {a2}", (a1, a2), (),
                                           {"cranes": [c1.name, c2.name], "from": s, "to": f}))
    del names
    return out


# --------------------------------------------------------------------------------------- logic

def logic_conflicts(schedule: Any, links: Iterable[tuple[str, str]], elements: Mapping[str, Element],
                    *, with_geometry: Iterable[str] | None = None, max_cycles: int = 20) -> list[Finding]:
    """Cycles, unlinked elements, elements in several construct activities, tasks without elements."""
    import networkx as nx

    from twin.schedule import ActivityType

    out: list[Finding] = []
    g = nx.DiGraph()
    g.add_nodes_from(schedule.activities)
    g.add_edges_from((r.pred, r.succ) for r in schedule.relationships)
    for k, cyc in enumerate(nx.simple_cycles(g)):
        if k >= max_cycles:
            break
        out.append(Finding("logic", "cycle", "logic loop: " + " -> ".join([*cyc, cyc[0]]), tuple(cyc)))
    pairs = list(links)
    by_el: dict[str, list[str]] = {}
    by_act: dict[str, list[str]] = {}
    for a, e in pairs:
        by_el.setdefault(e, []).append(a)
        by_act.setdefault(a, []).append(e)
    pool = list(with_geometry) if with_geometry is not None else list(elements)
    unlinked = [e for e in pool if e not in by_el]
    if unlinked:
        out.append(Finding("logic", "unlinked_elements",
                           f"{len(unlinked)} element(s) are linked to no activity (e.g. {', '.join(unlinked[:3])})",
                           (), tuple(unlinked), {"count": len(unlinked)}))
    for e, acts in by_el.items():
        acts = list(dict.fromkeys(acts))
        kinds = [schedule.activities[a] for a in acts if a in schedule.activities]
        construct = [a.id for a in kinds if "demol" not in a.name.lower() and "temporary" not in a.name.lower()
                     and str(a.attributes.get("work_kind", "construct")) == "construct"]
        if len(construct) > 1:
            el = elements.get(e)
            out.append(Finding("logic", "element_in_several_activities",
                               f"{el.ifc_class + ' ' + (el.name or e) if el else e} is built by {len(construct)} "
                               f"activities: {', '.join(construct)}", tuple(construct), (e,)))
    for aid, act in schedule.activities.items():
        if act.type in (ActivityType.WBS_SUMMARY, ActivityType.START_MILESTONE, ActivityType.FINISH_MILESTONE,
                        ActivityType.LEVEL_OF_EFFORT):
            continue
        if aid not in by_act:
            out.append(Finding("logic", "activity_without_elements",
                               f"activity {aid} '{act.name}' has no elements linked", (aid,)))
    return out


# ---------------------------------------------------------------------------------- the command

def _volumes(model: Any, by_activity: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Mesh volumes (m3) of linked elements that have no volume or weight quantity."""
    from twin.clashgeom import mesh_info, mesh_volume

    out = {}
    for gids in by_activity.values():
        for g in gids:
            e, m = model.elements.get(g), model.meshes.get(g)
            if e is None or m is None or g in out:
                continue
            if any(k.endswith(("Weight", "Volume")) for k in e.quantities):
                continue
            if mesh_info(m.vertices, m.faces).closed:
                out[g] = mesh_volume(m.vertices, m.faces)
    return out



def run_conflicts(path: str | Path, *, margin: float = 1.0, contact: float = 0.01, density: float = 2400.0,
                  progress: Callable[[str, int], None] | None = None, resolved: Any = None) -> dict[str, Any]:
    """Load a scenario and run the four checks; the ``twin conflicts --json`` document
    (keys ``support``, ``workspace``, ``crane``, ``logic``, ``counts``, ``support_graph``, ``warnings``)."""
    from twin.cpm import compute_cpm
    from twin.errors import InputError
    from twin.fourd import task_windows
    from twin.scenario import load_scenario, resolve

    if margin < 0 or contact < 0 or density <= 0:
        raise InputError(f"margin and contact must be >= 0 and density > 0, got {margin}, {contact}, {density}")
    say = progress or (lambda _w, _d: None)
    r = resolved
    if r is None:
        scenario = load_scenario(path)
        say("loading scenario", 0)
        r = resolve(scenario, geometry=True)           # element boxes come from the meshes
    cpm = compute_cpm(r.schedule)
    windows = task_windows(r.schedule, cpm.dates)
    elements = r.model.elements
    by_activity = r.links.by_activity()
    warnings: list[str] = []
    say("support graph", 1)
    graph = support_graph(elements, contact=contact)
    ewin = element_construct_windows(windows, r.links.pairs)
    support = support_conflicts(graph, ewin, elements)
    say("work zones", 2)
    workspace = workspace_conflicts(windows, by_activity, elements, margin=margin)
    say("cranes", 3)
    cranes = list(r.scenario.cranes)
    if not cranes:
        warnings.append("the scenario has no [[resources.cranes]]: crane checks skipped")
    volumes = _volumes(r.model, by_activity) if cranes else {}
    crane = crane_conflicts(cranes, r.schedule.activities, windows, by_activity, elements, volumes, density=density)
    say("logic", 4)
    with_box = [g for g, e in elements.items() if e.bbox is not None]
    logic = logic_conflicts(r.schedule, r.links.pairs, elements, with_geometry=with_box)
    say("done", 5)
    doc = {"scenario": str(path), "support": [f.to_dict() for f in support],
           "workspace": [f.to_dict() for f in workspace], "crane": [f.to_dict() for f in crane],
           "logic": [f.to_dict() for f in logic],
           "counts": {"support": len(support), "workspace": len(workspace), "crane": len(crane), "logic": len(logic)},
           "support_graph": {"pairs": len(graph), "elements": len({x for p in graph for x in p})},
           "warnings": warnings}
    return doc
