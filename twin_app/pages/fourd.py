"""4D page: a date slider and a play button, the model as built on that date (rendered off screen by
``twin.viz``, or drawn interactively with vtk.js), the activities under way, and planned against
simulated progress."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
import streamlit as st

from twin_app.state import current_project, guard, inputs, progress

FRAME_SIZE = (1280, 720)
SIM_RUNS = 200


def plan_span(data: Any) -> tuple[datetime, datetime]:
    """First start and last finish of the linked activities (the 4D view's time range), whole days."""
    linked = {a for a, _ in data.links}
    wins = [w for a, w in data.windows.items() if a in linked] or list(data.windows.values())
    lo = min(w.effective_start for w in wins)
    hi = max(w.effective_finish for w in wins)
    return datetime.combine(lo.date(), time(0)), datetime.combine(hi.date(), time(0)) + timedelta(days=1)


def _values(data: Any, colour_by: str, result: Any) -> Any:
    from twin.fourd import element_values_from_activities
    from twin.viz.inputs import activity_criticality

    if colour_by == "criticality":
        return lambda ids: element_values_from_activities(data.links, activity_criticality(data.cpm), ids, reduce="max")
    if colour_by == "probability" and result is not None:
        from twin.sim import completion_probability

        def probability(ids: Any, at: datetime) -> Any:
            out = np.full(len(ids), np.nan)
            index = {g: i for i, g in enumerate(ids)}
            for gid, p in completion_probability(result, at, list(data.links)).items():
                if gid in index:
                    out[index[gid]] = p
            return out
        return probability
    return None


def show_frame(project: Any, at: datetime, colour_by: str, view_name: str, result: Any = None) -> tuple[bytes, Any]:
    """Render the project's 4D view at ``at``: (PNG bytes, FrameInfo)."""
    from twin.viz.frames import png_bytes
    from twin_app.loaders import get_inputs, get_view

    data = get_inputs(project)
    handle = get_view(project, FRAME_SIZE, view_name)
    ids = handle.view.scene.element_ids
    make = _values(data, colour_by, result)
    values = None
    if make is not None:
        values = (lambda when: make(ids, when)) if colour_by == "probability" else make(ids)
    image, info = handle.call(lambda view: view.render(at, colour_by, values))
    return png_bytes(image), info


def _interactive(project: Any, data: Any, at: datetime) -> Any:
    """The vtk.js view at ``at``: sends one RGBA colour per element (the browser keeps the geometry).
    Returns the FrameInfo of the date (counts, activities under way) without touching the offscreen
    scene: a slider move costs the state vector and n x 4 bytes, nothing per vertex."""
    from twin.fourd import get_active_tasks
    from twin.viz.appearance import appearance_arrays
    from twin.viz.frames import FrameInfo
    from twin_app.loaders import get_geometry, get_view
    from twin_app.viewer import element_colours, viewer

    view = get_view(project, FRAME_SIZE, "iso").view
    geometry = get_geometry(project)
    states = view.timeline.state_at(at, view.late_after)
    rgb, opacity = appearance_arrays(states, view.scene.material_rgb, view.scene.profile)
    index = {g: i for i, g in enumerate(states.element_ids)}
    order = np.array([index.get(g, -1) for g in geometry.ids])
    ok = order >= 0
    colours = np.zeros((len(geometry.ids), 4), dtype=np.uint8)
    colours[ok] = element_colours(rgb[order[ok]], opacity[order[ok]])
    picked = viewer(geometry, colours, height=560, status=f"{at:%a %d %b %Y}", key="fourd_viewer")
    if picked:
        acts = [a for a, g in data.links if g == picked]
        el = data.model.elements.get(picked)
        st.caption(f"Selected {el.name if el else picked} ({picked}): activities {', '.join(acts) or 'none'}")
    return FrameInfo(at, states.count(), tuple(w.activity_id for w in get_active_tasks(view.windows, at)))


def _active_table(data: Any, info: Any, at: datetime) -> list[dict[str, Any]]:
    rows = []
    for aid in info.active:
        w = data.windows[aid]
        span = (w.effective_finish - w.effective_start).total_seconds()
        done = (at - w.effective_start).total_seconds() / span if span > 0 else 1.0
        rows.append({"activity": aid, "name": w.name, "start": w.effective_start, "finish": w.effective_finish,
                     "elapsed %": round(100 * min(max(done, 0.0), 1.0), 1)})
    return rows


def _planned_vs_simulated(project: Any, data: Any, at: datetime, span: tuple[datetime, datetime]) -> Any:
    from twin.timephase import progress_curve
    from twin.viz.charts import s_curve_from_result

    st.subheader("Planned vs simulated")
    result = st.session_state.get(f"sim_fourd_{project.key}")
    if result is None:
        st.caption(f"Simulate the project ({SIM_RUNS} Monte Carlo runs: crews, cranes, weather, duration risk) "
                   "to compare the plan with the simulated progress and colour elements by P(complete).")
        if st.button("Simulate", key="fourd_simulate"):
            from twin_app.loaders import simulate

            with progress("Simulating") as update:
                result = simulate(project, SIM_RUNS, 1, update)
            st.session_state[f"sim_fourd_{project.key}"] = result
            st.rerun()
        planned = progress_curve(data.windows, [at])[0]
        st.metric("Planned % complete (work, by duration)", f"{planned:.1f} %")
        return None
    from twin.sim.results import s_curve

    finishes = {a: d.early_finish for a, d in data.cpm.dates.items()}
    fins = [finishes[a] for a in result.ids if a in finishes]
    planned = 100.0 * sum(f <= at for f in fins) / max(len(fins), 1)
    sim = np.asarray(s_curve(result, [at], q=[10, 50, 90]))[:, 0] * 100.0
    c = st.columns(3)
    c[0].metric("Activities complete, plan", f"{planned:.1f} %")
    c[1].metric("Simulated P50", f"{sim[1]:.1f} %", delta=f"{sim[1] - planned:+.1f} pts")
    c[2].metric("Simulated P10-P90", f"{sim[0]:.0f}-{sim[2]:.0f} %")
    n = 60
    dates = [span[0] + (span[1] - span[0]) * k / n for k in range(n + 1)]
    from twin.worktime import from_minutes

    end = max(from_minutes(int(result.project_finish.max())), span[1])
    dates += [span[1] + (end - span[1]) * k / 10 for k in range(1, 11)] if end > span[1] else []
    st.plotly_chart(s_curve_from_result(result, dates, planned_finish=finishes, data_date=at),
                    width="stretch")
    return result


@guard
def render() -> None:
    project = current_project()
    data = inputs(project)
    st.title("4D")
    if not data.links:
        st.warning("No element is linked to a dated activity: nothing changes over time. Link the schedule to the "
                   "model on the Schedule and links page.")
        return
    span = plan_span(data)
    c = st.columns([2, 2, 2, 1])
    mode = c[0].radio("View", ["Rendered frame", "Interactive 3D (vtk.js)"], horizontal=True, key="fourd_mode")
    labels = {"state": "State", "criticality": "Criticality (CPM)", "probability": "P(complete), simulated"}
    colour_by = c[1].selectbox("Colour by", list(labels), format_func=labels.get, key="fourd_colour")
    from twin.viz.scene import VIEWS

    view_name = c[2].selectbox("Camera", list(VIEWS), key="fourd_camera")
    step_days = c[3].selectbox("Play step (days)", [1, 7, 14], index=1, key="fourd_step")
    default = min(max(datetime.combine(datetime.now().date(), time(0)), span[0]), span[1])
    at = st.slider("Date", min_value=span[0], max_value=span[1], value=default, step=timedelta(days=1),
                   format="ddd DD MMM YYYY", key="fourd_at")
    at = at + timedelta(hours=12)       # mid-day: work of that day under way
    play = st.button("Play from this date", key="fourd_play", icon=":material/play_arrow:")
    result = st.session_state.get(f"sim_fourd_{project.key}")
    if colour_by == "probability" and result is None:
        st.info("P(complete) needs a simulation: press Simulate under 'Planned vs simulated' below. Showing states.")
        colour_by = "state"
    from twin_app.loaders import get_view

    if mode.startswith("Interactive"):
        # a container of its own, not an st.empty() filled with one: when the server flushed the empty
        # before its container (timing), the browser dropped the viewer and remounted it on a rerun
        with st.container():
            info = _interactive(project, data, at)
    else:
        slot = st.empty()
        with progress("Preparing the 3D scene") as update:
            get_view(project, FRAME_SIZE, view_name, update)
        if play:
            from twin.viz.frames import frame_dates

            for when in frame_dates(at, span[1], timedelta(days=int(step_days))):
                png, info = show_frame(project, when, colour_by, view_name, result)
                slot.image(png, caption=f"{when:%a %d %b %Y}", width="stretch")
        png, info = show_frame(project, at, colour_by, view_name, result)
        slot.image(png, caption=f"{at:%a %d %b %Y}", width="stretch")
    counts = info.counts
    c = st.columns(5)
    for col, key in zip(c, ("complete", "in_progress", "not_started", "late", "unlinked")):
        col.metric(key.replace("_", " ").capitalize(), counts.get(key, 0))
    st.subheader(f"Activities under way ({len(info.active)})")
    rows = _active_table(data, info, at)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("None on this date.")
    _planned_vs_simulated(project, data, at, span)
