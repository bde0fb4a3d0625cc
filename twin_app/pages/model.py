"""Model page: the building in interactive 3D (vtk.js in the browser), the element table with filters,
and the properties and quantities of the selected element."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from twin_app.state import current_project, guard, inputs

SELECTED = "model_selected"
PICK = "model_pick"


def _select(gid: str) -> None:
    """Select an element (from the 3D view or the table): the properties follow."""
    st.session_state[SELECTED] = gid
    st.session_state[PICK] = gid


def _picked_in_list() -> None:
    st.session_state[SELECTED] = st.session_state[PICK]


def _filters(table: Any) -> Any:
    c = st.columns([2, 2, 2, 3])
    classes = c[0].multiselect("Class", sorted(table["class"].unique()), key="model_classes")
    storeys = c[1].multiselect("Storey", sorted(table["storey"].unique()), key="model_storeys")
    materials = sorted({m for ms in table["materials"] for m in ms.split(", ") if m})
    mats = c[2].multiselect("Material", materials, key="model_materials")
    text = c[3].text_input("Name or GlobalId contains", key="model_text")
    mask = np.ones(len(table), dtype=bool)
    if classes:
        mask &= table["class"].isin(classes).to_numpy()
    if storeys:
        mask &= table["storey"].isin(storeys).to_numpy()
    if mats:
        mask &= table["materials"].map(lambda s: any(m in s.split(", ") for m in mats)).to_numpy()
    if text:
        t = text.lower()
        mask &= (table["name"].str.lower().str.contains(t, regex=False)
                 | table["GlobalId"].str.lower().str.contains(t, regex=False)).to_numpy()
    return table[mask]


COLOUR_BY = ("class", "storey", "material")


def _colours(geometry: Any, model: Any, shown: set[str], selected: str | None, by: str = "class"
             ) -> tuple[np.ndarray, dict[str, str]]:
    from twin.viz.appearance import material_colours
    from twin_app.viewer import category_colours, element_colours

    legend: dict[str, str] = {}
    if by == "material":
        rgb = material_colours(geometry.ids, model.elements)
    else:
        els = [model.elements.get(g) for g in geometry.ids]
        labels = [(e.ifc_class if by == "class" else (e.storey or "(no storey)")) if e else "?" for e in els]
        rgb, legend = category_colours(labels)
    keep = np.fromiter((g in shown for g in geometry.ids), dtype=bool, count=len(geometry.ids))
    colours = element_colours(rgb, np.where(keep, 1.0, 0.08))
    if selected in geometry.ids:
        i = geometry.ids.index(selected)
        colours[i] = (231, 41, 138, 255)
    return colours, legend


def _properties(model: Any, gid: str) -> None:
    el = model.elements.get(gid)
    if el is None:
        st.info(f"No element with GlobalId {gid} in this model.")
        return
    st.markdown(f"**{el.name or el.ifc_class}**  \n`{gid}`")
    st.table({"field": ["class", "type", "object type", "storey", "materials", "systems", "file"],
              "value": [el.ifc_class, el.predefined_type or "", el.object_type or "", el.storey or "",
                        ", ".join(el.materials), ", ".join(el.systems), str(el.file).rsplit("/", 1)[-1]]})
    if el.quantities:
        st.markdown("Quantities (SI)")
        st.dataframe({"quantity": list(el.quantities), "value": [round(v, 4) for v in el.quantities.values()]},
                     hide_index=True, width="stretch")
    if el.properties:
        st.markdown("Properties")
        st.dataframe({"property": list(el.properties), "value": [str(v) for v in el.properties.values()]},
                     hide_index=True, width="stretch")


@guard
def render() -> None:
    from twin_app.loaders import element_table, get_geometry
    from twin_app.viewer import viewer

    project = current_project()
    data = inputs(project)
    model = data.model
    st.title("Model")
    c = st.columns(4)
    c[0].metric("Elements", len(model.elements))
    c[1].metric("With geometry", len(model.meshes))
    c[2].metric("Storeys", len(model.storeys))
    c[3].metric("Geometry failures", len(model.geometry_failures))
    table = element_table(model)
    shown = _filters(table)
    st.caption(f"{len(shown)} of {len(table)} elements match the filters (the others are ghosted in 3D).")
    left, right = st.columns([3, 2])
    with left:
        geometry = get_geometry(project)
        selected = st.session_state.get(SELECTED)
        if geometry.ids:
            by = st.radio("Colour by", COLOUR_BY, horizontal=True, key="model_colour_by")
            colours, legend = _colours(geometry, model, set(shown["GlobalId"]), selected, by)
            picked = viewer(geometry, colours,
                            height=520, status=f"{len(geometry.ids)} elements, {len(geometry.triangles)} triangles",
                            key="model_viewer")
            if legend:
                st.markdown("  ".join(f"<span style='color:{c}'>&#9632;</span> {k}" for k, c in legend.items()),
                            unsafe_allow_html=True)
            if picked and picked != selected:
                _select(picked)
        else:
            st.info("The model has no tessellated geometry to draw.")
        event = st.dataframe(shown, hide_index=True, width="stretch", height=300,
                             on_select="rerun", selection_mode="single-row", key="model_table")
        rows = getattr(getattr(event, "selection", None), "rows", []) if event is not None else []
        if rows:
            gid = shown.iloc[rows[0]]["GlobalId"]
            if gid != st.session_state.get(SELECTED):
                _select(gid)
    with right:
        st.subheader("Properties")
        ids = list(shown["GlobalId"]) or list(table["GlobalId"])
        current = st.session_state.get(SELECTED)
        if current is not None and current not in ids:
            ids = [current] + ids
        choice = st.selectbox("Element", ids, format_func=lambda g: f"{model.elements[g].name or model.elements[g].ifc_class}"
                              f"  ({g})" if g in model.elements else g, key=PICK, on_change=_picked_in_list)
        _properties(model, choice)
        if model.geometry_failures:
            with st.expander(f"{len(model.geometry_failures)} element(s) without geometry"):
                st.dataframe([{"GlobalId": f.global_id, "file": f.file, "message": f.message}
                              for f in model.geometry_failures], hide_index=True)
