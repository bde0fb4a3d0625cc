"""Clashes and conflicts page: geometric clashes between two selections (``twin.ifc.clash``, dated in
4D from the project's schedule) and sequence conflicts (``twin.conflicts``), as tables with filters;
the selected one is highlighted in the 3D viewer; clashes download as BCF."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from twin_app.state import current_project, guard, inputs, progress

DEFAULT_A = "IfcDuctSegment,IfcPipeSegment"
DEFAULT_B = "IfcBeam,IfcColumn,IfcSlab,IfcWall"


def highlight_colours(geometry: Any, model: Any, first: list[str], second: list[str]) -> np.ndarray:
    """Every element ghosted in its material colour; ``first`` magenta and ``second`` orange, opaque."""
    from twin.viz.appearance import material_colours
    from twin_app.viewer import element_colours

    colours = element_colours(material_colours(geometry.ids, model.elements), 0.08)
    index = {g: i for i, g in enumerate(geometry.ids)}
    for ids, rgba in ((second, (255, 127, 0, 255)), (first, (231, 41, 138, 255))):
        for g in ids:
            if g in index:
                colours[index[g]] = rgba
    return colours


def _show_3d(project: Any, model: Any, first: list[str], second: list[str], key: str, status: str) -> None:
    from twin_app.loaders import get_geometry
    from twin_app.viewer import viewer

    geometry = get_geometry(project)
    viewer(geometry, highlight_colours(geometry, model, first, second), height=460,
           focus=[g for g in first + second if g in set(geometry.ids)], status=status, key=key)


def _clash_tab(project: Any, data: Any) -> None:
    from twin_app.loaders import get_clashes

    c = st.columns([3, 3, 2, 1, 1])
    a = c[0].text_input("Selection A", DEFAULT_A, key="clash_a", help="IFC classes, '*', filters like "
                        "IfcWall[storey=Level 01]; see docs/clash.md")
    b = c[1].text_input("Selection B (empty: A against A)", DEFAULT_B, key="clash_b")
    mode = c[2].selectbox("Mode", ["hard", "touch", "clearance"], key="clash_mode")
    tol = c[3].number_input("Tolerance m", 0.0, 1.0, 0.002, step=0.001, format="%.3f", key="clash_tol")
    clr = c[4].number_input("Clearance m", 0.001, 5.0, 0.05, step=0.01, format="%.3f", key="clash_clr")
    if st.button("Run clash detection", key="clash_run", type="primary"):
        with progress("Clash detection") as update:
            st.session_state["clash_params"] = (a, b or None, mode, float(tol), float(clr))
            get_clashes(project, *st.session_state["clash_params"],
                        progress=lambda what, d, t: update(d / max(t, 1), what))
    params = st.session_state.get("clash_params")
    if params is None:
        st.info("Choose two selections and press Run clash detection.")
        return
    doc = get_clashes(project, *params)
    for w in doc["warnings"]:
        st.warning(w)
    clashes = doc["clashes"]
    m = st.columns(4)
    m[0].metric("Clashes", len(clashes))
    m[1].metric("Groups", len(doc["groups"]))
    m[2].metric("Selected A", doc["selected"]["a"])
    m[3].metric("Selected B", doc["selected"]["b"])
    if not clashes:
        st.success("No clash between the selections.")
        return
    f = st.columns(3)
    types = f[0].multiselect("Type", sorted({x["type"] for x in clashes}), key="clash_types")
    groups = f[1].multiselect("Group", sorted({x["group"] or "" for x in clashes}), key="clash_groups")
    text = f[2].text_input("Class or name contains", key="clash_text").lower()
    rows = [x for x in clashes if (not types or x["type"] in types) and (not groups or (x["group"] or "") in groups)
            and (not text or any(text in str(x[k] or "").lower() for k in ("a_class", "b_class", "a_name", "b_name")))]
    st.caption(f"{len(rows)} of {len(clashes)} clashes shown; select one to see it in 3D.")
    table = [{"id": x["id"], "type": x["type"], "A": x["a_name"] or x["a_class"], "B": x["b_name"] or x["b_class"],
              "depth/distance m": x["distance"], "group": x["group"], "first day": x["first"], "days": x["days"],
              "A GlobalId": x["a"], "B GlobalId": x["b"]} for x in rows]
    event = st.dataframe(table, hide_index=True, width="stretch", height=260, on_select="rerun",
                         selection_mode="single-row", key="clash_table")
    picked = getattr(getattr(event, "selection", None), "rows", []) if event is not None else []
    chosen = rows[picked[0]] if picked and picked[0] < len(rows) else rows[0]
    st.markdown(f"**{chosen['id']}**: {chosen['a_name'] or chosen['a']} (magenta) and "
                f"{chosen['b_name'] or chosen['b']} (orange), {chosen['type']}, "
                f"{chosen['distance'] if chosen['distance'] is not None else '-'} m at {chosen['point']}")
    _show_3d(project, data.model, [chosen["a"]], [chosen["b"]], "clash_viewer", chosen["id"])
    _bcf(project, doc)


def _bcf(project: Any, doc: dict[str, Any]) -> None:
    from twin_app.project import work_dir

    c = st.columns([1, 1, 2])
    version = c[0].selectbox("BCF version", ["2.1", "3.0"], key="bcf_version")
    per = c[1].selectbox("Topics", ["clash", "group"], key="bcf_per")
    if c[2].button("Prepare BCF (with snapshots)", key="bcf_make"):
        from twin.bcf import write_bcf

        out = work_dir() / "bcf" / f"{project.key}-{per}-{version}.bcf"
        out.parent.mkdir(parents=True, exist_ok=True)
        model = doc["_model"]
        meshes, elements = dict(model.meshes), dict(model.elements)
        for k, (mesh, el) in doc.get("_extra", {}).items():
            meshes[k], elements[k] = mesh, el
        with progress("Writing BCF") as update:
            write_bcf(out, doc["_clashes"], version=version, groups=doc["_groups"], per=per, meshes=meshes,
                      elements=elements, project=project.label, progress=lambda d, t: update(d / max(t, 1), "topics"))
        st.session_state["bcf_file"] = str(out)
    path = st.session_state.get("bcf_file")
    if path:
        from pathlib import Path

        p = Path(path)
        if p.is_file():
            st.download_button(f"Download {p.name}", p.read_bytes(), file_name="clashes.bcf",
                               mime="application/octet-stream", key="bcf_download")


def _conflicts_tab(project: Any, data: Any) -> None:
    from twin_app.loaders import get_conflicts

    margin = st.number_input("Work-zone margin (m)", 0.0, 10.0, 1.0, step=0.5, key="conf_margin")
    if st.button("Check sequence conflicts", key="conf_run", type="primary"):
        with progress("Support, workspace, crane and logic checks") as update:
            update(0.2, "checking")
            get_conflicts(project, float(margin))
        st.session_state["conf_margin_used"] = float(margin)
    used = st.session_state.get("conf_margin_used")
    if used is None:
        st.info("Press Check sequence conflicts: elements starting before their supports, overlapping work "
                "zones, lifts beyond a crane's reach or load, and logic gaps.")
        return
    doc = get_conflicts(project, used)
    for w in doc["warnings"]:
        st.warning(w)
    kinds = ("support", "workspace", "crane", "logic")
    c = st.columns(4)
    for col, k in zip(c, kinds):
        col.metric(k.capitalize(), doc["counts"][k])
    kind = st.radio("Findings", kinds, horizontal=True, key="conf_kind")
    findings = doc[kind]
    if not findings:
        st.success(f"No {kind} conflict.")
        return
    codes = st.multiselect("Code", sorted({f["code"] for f in findings}), key="conf_codes")
    rows = [f for f in findings if not codes or f["code"] in codes]
    event = st.dataframe([{"code": f["code"], "message": f["message"], "activities": ", ".join(f["activities"]),
                           "elements": len(f["elements"])} for f in rows], hide_index=True, width="stretch",
                         height=260, on_select="rerun", selection_mode="single-row", key="conf_table")
    picked = getattr(getattr(event, "selection", None), "rows", []) if event is not None else []
    if rows:
        chosen = rows[picked[0]] if picked and picked[0] < len(rows) else rows[0]
        st.markdown(f"**{chosen['code']}**: {chosen['message']}")
        els = list(chosen["elements"])
        _show_3d(project, data.model, els[:1], els[1:], "conflict_viewer", chosen["code"])


@guard
def render() -> None:
    project = current_project()
    data = inputs(project)
    st.title("Clashes and conflicts")
    tabs = st.tabs(["Clashes", "Sequence conflicts"])
    with tabs[0]:
        _clash_tab(project, data)
    with tabs[1]:
        _conflicts_tab(project, data)
