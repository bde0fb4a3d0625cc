"""Digital twin page: record site progress, status with traffic lights, re-forecast, planned vs actual.

Tabs: **Record progress** (upload a progress CSV or a P6/MS Project file, or paste CSV rows, at a data
date: ``twin.store.updates.record_progress``, one transaction, a file with bad rows refused whole),
**Status** (traffic lights per activity, storey and zone, SPI, planned vs as-built S-curve, top
slipping activities), **Forecast** (P50/P80 and their history), **3D** (as planned, as built and
traffic lights at the data date) and **Plan** (the plan's S-curve on a status date and the progress
the schedule file carries). State is read back from the store (SQLite beside the scenario), so the
page shows the same as ``twin progress`` and ``twin report``.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import streamlit as st

from twin_app.state import current_project, guard, inputs


def activity_status(data: Any, at: datetime) -> dict[str, int]:
    """Activities (dated, not milestones) complete, in progress and not started at ``at``, by plan."""
    out = {"complete": 0, "in_progress": 0, "not_started": 0}
    for aid, w in data.windows.items():
        act = data.schedule.activities.get(aid)
        if act is not None and act.type.is_milestone:
            continue
        if w.effective_finish <= at:
            out["complete"] += 1
        elif w.effective_start <= at:
            out["in_progress"] += 1
        else:
            out["not_started"] += 1
    return out


def _plan_tab(project: Any, data: Any) -> None:
    import plotly.graph_objects as go

    from twin.timephase import progress_curve
    from twin_app.pages.fourd import plan_span

    span = plan_span(data)
    today = datetime.combine(datetime.now().date(), time(17, 0))
    default = data.schedule.data_date or min(max(today, span[0]), span[1])
    day = st.date_input("Status date", default.date(), key="dt_status_date")
    at = datetime.combine(day, time(17, 0))
    status = activity_status(data, at)
    planned = float(progress_curve(data.windows, [at])[0])
    actual = float(progress_curve(data.windows, [at], which="effective")[0])
    c = st.columns(5)
    c[0].metric("Planned % complete", f"{planned:.1f} %")
    c[1].metric("Activities complete", status["complete"])
    c[2].metric("In progress", status["in_progress"])
    c[3].metric("Not started", status["not_started"])
    c[4].metric("Finish (CPM)", f"{data.cpm.finish:%Y-%m-%d}")
    n = 80
    times = [span[0] + (span[1] - span[0]) * k / n for k in range(n + 1)]
    curve = progress_curve(data.windows, times)
    fig = go.Figure()
    fig.add_scatter(x=times, y=curve, name="planned (CPM dates)", mode="lines", line=dict(color="#1f77b4"))
    base = progress_curve(data.windows, times, which="baseline")
    if any(w.baseline_start is not None for w in data.windows.values()) and base.any():
        fig.add_scatter(x=times, y=base, name="baseline", mode="lines", line=dict(color="#999", dash="dash"))
    fig.add_vline(x=at, line=dict(color="#d62728", dash="dot"))
    fig.update_layout(title="Planned S-curve (work by duration)", yaxis_title="% complete", height=420,
                      margin=dict(l=40, r=20, t=50, b=40))
    st.plotly_chart(fig, width="stretch")
    acts = [a for a in data.schedule.activities.values() if a.actual_start or a.actual_finish]
    if acts:
        st.subheader(f"Recorded progress ({len(acts)} activities)")
        st.metric("Effective % complete (actual dates where known)", f"{actual:.1f} %", delta=f"{actual - planned:+.1f} pts")
        st.dataframe([{"id": a.id, "name": a.name, "actual start": a.actual_start, "actual finish": a.actual_finish,
                       "percent complete": a.percent_complete} for a in acts], hide_index=True, width="stretch")
    else:
        st.info("No progress recorded in this schedule yet (no actual dates).")
    late = [w for w in data.windows.values() if w.baseline_finish is not None and w.finish > w.baseline_finish + timedelta(hours=1)]
    if late:
        st.subheader(f"Behind baseline ({len(late)})")
        st.dataframe([{"id": w.activity_id, "name": w.name, "baseline finish": w.baseline_finish, "finish": w.finish}
                      for w in late], hide_index=True, width="stretch")


# ----------------------------------------------------------------------- progress, status, forecast

LIGHT_STYLE = {"green": "background-color: #2fbf4a; color: white", "yellow": "background-color: #f2b705",
               "red": "background-color: #e31a1c; color: white"}


def lights_table(rows: list[dict[str, Any]]) -> Any:
    """A table whose ``status`` column is painted with its traffic light (pandas Styler)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty or "status" not in df.columns:
        return df
    return df.style.map(lambda v: LIGHT_STYLE.get(v, ""), subset=["status"]).format(precision=2, na_rep="n/a")


def db_url(project: Any) -> str:
    """The project's database: the scenario's ``[progress] db``, else SQLite beside its scenario file,
    else in the app's work folder."""
    from twin.store import default_url
    from twin.store.updates import progress_settings
    from twin_app.project import work_dir

    configured = progress_settings(project.scenario).get("db")
    if configured:
        return configured
    path = getattr(project.scenario, "path", None)
    return default_url(path) if path is not None else f"sqlite:///{work_dir() / f'twin-{project.key}.sqlite'}"


def twin_project(project: Any, data: Any) -> Any:
    """The store-side view of the app's project (``twin.store.updates.Project``), keyed by scenario file."""
    from twin.store.updates import project_from_scenario_model

    key = ("twin_store_project", project.key)
    if key not in st.session_state:   # resolved as twin progress resolves it, so both see the same plan
        path = getattr(project.scenario, "path", None)
        st.session_state[key] = project_from_scenario_model(
            project.scenario, data.model, key=None if path is not None else f"app:{project.key}")
    return st.session_state[key]


def _store(project: Any) -> Any:
    from twin.store import open_store

    return open_store(db_url(project))


ENTRY_COLUMNS = ("activity_id", "actual_start", "actual_finish", "percent_complete", "remaining_days", "reported_by")


def _entry_frame() -> Any:
    import pandas as pd

    return pd.DataFrame({"activity_id": pd.Series(dtype="object"), "actual_start": pd.Series(dtype="object"),
                         "actual_finish": pd.Series(dtype="object"), "percent_complete": pd.Series(dtype="float"),
                         "remaining_days": pd.Series(dtype="float"), "reported_by": pd.Series(dtype="object")})


def _entry_columns(ids: list[str]) -> dict[str, Any]:
    cc = st.column_config
    return {"activity_id": cc.SelectboxColumn("activity", options=ids, required=True),
            "actual_start": cc.DateColumn("actual start"), "actual_finish": cc.DateColumn("actual finish"),
            "percent_complete": cc.NumberColumn("% complete", min_value=0.0, max_value=100.0),
            "remaining_days": cc.NumberColumn("remaining days", min_value=0.0),
            "reported_by": cc.TextColumn("reported by")}


def entry_csv(frame: Any) -> str:
    """Rows typed into the entry table as progress CSV text ("" when there are none)."""
    import csv
    import io
    import math

    rows = []
    for rec in frame.to_dict("records") if frame is not None else []:
        aid = rec.get("activity_id")
        if aid is None or (isinstance(aid, float) and math.isnan(aid)) or not str(aid).strip():
            continue
        cells = []
        for col in ENTRY_COLUMNS:
            v = rec.get(col)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("")
            elif hasattr(v, "isoformat"):
                cells.append(v.isoformat()[:10])
            else:
                cells.append(f"{v:g}" if isinstance(v, float) else str(v))
        rows.append(cells)
    if not rows:
        return ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([list(ENTRY_COLUMNS), *rows])
    return out.getvalue()


def _record_tab(project: Any, data: Any, tp: Any) -> None:
    from twin.progress import ProgressRejectedError, parse_data_date, show_data_date
    from twin.store.updates import record_progress
    from twin_app.project import save_upload
    from twin_app.state import progress

    st.markdown("Report what was done by a data date: a progress CSV (`activity_id, actual_start, actual_finish, "
                "percent_complete`, optional `global_id, remaining_days, reported_by`), the actuals of a P6 / "
                "MS Project update, or CSV rows pasted below. A file with any bad row is refused whole.")
    c = st.columns([2, 1, 1, 1])
    default = (data.schedule.data_date or data.schedule.start or datetime.now()).date()
    last = _last_data_date(project, tp)
    if last is not None:   # a week after the last update (stored as the next midnight)
        default = (last + timedelta(days=6)).date()
    day = c[0].date_input("Data date (progress up to the end of this day)", default, key="dt_data_date")
    runs = int(c[1].number_input("Forecast runs", 10, 5000, int(tp.runs or 200), step=50, key="dt_runs"))
    seed = int(c[2].number_input("Seed", 0, 2**31 - 1, int(tp.seed or 1), key="dt_seed"))
    tol = float(c[3].number_input("Yellow band, % behind", 0.0, 100.0, 5.0, key="dt_tol"))
    upload = st.file_uploader("Progress file", type=["csv", "xer", "xml"], key="dt_upload")
    st.caption("... or enter rows (dates are days; a finish means 100 %):")
    entered = st.data_editor(_entry_frame(), num_rows="dynamic", key="dt_entry", width="stretch",
                             column_config=_entry_columns(list(data.schedule.activities)))
    text = st.text_area("... or paste CSV rows", key="dt_paste", height=140,
                        placeholder="activity_id,actual_start,actual_finish,percent_complete\n"
                                    f"{next(iter(data.schedule.activities), 'A100')},{default},,40")
    if not st.button("Record update", type="primary", key="dt_record"):
        return
    if upload is not None:
        path = save_upload(upload.name, upload.getvalue())
    elif entry_csv(entered):
        path = save_upload("entered.csv", entry_csv(entered).encode("utf-8"))
    elif text.strip():
        path = save_upload("pasted.csv", text.strip().encode("utf-8") + b"\n")
    else:
        st.error("Upload a progress file, enter rows or paste CSV rows first.")
        return
    when = parse_data_date(day)
    store = _store(project)
    try:
        with progress("Recording and re-forecasting") as update:
            out = record_progress(tp, path, when, store, runs=runs, seed=seed, tolerance=tol / 100.0,
                                  progress=lambda done: update(done / runs, f"{done}/{runs} runs"))
    except ProgressRejectedError as exc:
        st.error(f"{len(exc.rejected)} bad row(s): nothing was recorded. Fix them and record again.")
        st.dataframe([r.to_dict() for r in exc.rejected], hide_index=True, width="stretch")
        return
    finally:
        store.close()
    if out.already_imported:
        st.info(f"This file was already recorded for {show_data_date(when)}: nothing changed.")
    else:
        st.success(f"Recorded {out.accepted} rows at {show_data_date(when)} "
                   f"(forecast P50 {out.forecast.p50:%Y-%m-%d}, P80 {out.forecast.p80:%Y-%m-%d}).")


def _last_data_date(project: Any, tp: Any) -> datetime | None:
    from twin.store import list_imports

    store = _store(project)
    try:
        imports = list_imports(store, tp.key)
    finally:
        store.close()
    return max((i["data_date"] for i in imports), default=None)


def _state(project: Any, tp: Any) -> Any:
    from twin.progress import show_data_date
    from twin.store import list_imports
    from twin.store.updates import twin_state

    store = _store(project)
    try:
        imports = list_imports(store, tp.key)
        if not imports:
            return None
        dates = list(dict.fromkeys(i["data_date"] for i in imports))
        pick = st.selectbox("Data date", dates[::-1], format_func=show_data_date, key="dt_as_of")
        return twin_state(tp, store, as_of=pick, tolerance=float(st.session_state.get("dt_tol", 5.0)) / 100.0)
    finally:
        store.close()


def status_rows(state: Any) -> list[dict[str, Any]]:
    """One table row per activity: light, planned and actual percent, SV, SPI, finish slip."""
    return [{"id": s.activity_id, "name": s.name, "status": s.light, "planned %": round(s.planned_percent, 1),
             "actual %": round(s.actual_percent, 1), "SV days": round(s.sv_days, 2),
             "SPI": s.spi, "critical": s.critical,
             "finish slip days": round(s.finish_slip_days, 1), "storey": s.storey, "zone": s.zone}
            for s in state.status.activities.values()]


def _status_tab(state: Any) -> None:
    from twin.report import progress_s_curve

    p, fc = state.status.project, state.forecast
    c = st.columns(5)
    c[0].metric("Planned % complete", f"{p.planned_percent:.1f} %")
    c[1].metric("Actual % complete", f"{p.actual_percent:.1f} %", delta=f"{p.actual_percent - p.planned_percent:+.1f} pts")
    c[2].metric("SPI", "n/a" if p.spi is None else f"{p.spi:.2f}")
    c[3].metric("Status", p.light)
    c[4].metric("Forecast P50", "n/a" if fc is None else f"{fc.p50:%Y-%m-%d}")
    st.plotly_chart(progress_s_curve(state), width="stretch", key="dt_scurve")
    slipping = state.status.slipping(15)
    if slipping:
        st.subheader(f"Top slipping activities ({len(slipping)})")
        ids = [s.activity_id for s in slipping]
        rows = {r["id"]: r for r in status_rows(state)}
        st.dataframe(lights_table([rows[i] for i in ids]), hide_index=True, width="stretch")
    for kind, groups in state.status.groups.items():
        if groups:
            st.subheader(f"By {kind}")
            st.dataframe(lights_table([{kind: k, "status": g.light, "planned %": round(g.planned_percent, 1),
                                        "actual %": round(g.actual_percent, 1), "SPI": g.spi,
                                        "red": g.counts.get("red", 0), "yellow": g.counts.get("yellow", 0)}
                                       for k, g in sorted(groups.items())]), hide_index=True, width="stretch")
    st.subheader("Every activity")
    st.dataframe(lights_table(status_rows(state)), hide_index=True, width="stretch")


def _forecast_tab(state: Any) -> None:
    from twin.progress import show_data_date
    from twin.report import forecast_history_chart

    fc = state.forecast
    if fc is None:
        st.info("No forecast stored for this data date.")
        return
    prev = [s for s in state.forecasts if (s.data_date, s.id) < (fc.data_date, fc.id)]
    c = st.columns(5)
    delta = None if not prev else f"{(fc.p50 - prev[-1].p50).total_seconds() / 86400:+.1f} days"
    c[0].metric("P50 finish", f"{fc.p50:%Y-%m-%d}", delta=delta, delta_color="inverse")
    c[1].metric("P80 finish", f"{fc.p80:%Y-%m-%d}")
    c[2].metric("Plan P50 (simulated)", "n/a" if fc.plan_p50 is None else f"{fc.plan_p50:%Y-%m-%d}")
    c[3].metric("Planned finish (CPM)", "n/a" if fc.plan_finish is None else f"{fc.plan_finish:%Y-%m-%d}")
    c[4].metric("Runs", fc.runs)
    st.plotly_chart(forecast_history_chart(state.forecasts, plan_finish=state.plan_finish), width="stretch",
                    key="dt_history")
    st.dataframe([{"data date": show_data_date(s.data_date), "P10": s.finish["p10"], "P50": s.p50, "P80": s.p80,
                   "P90": s.finish["p90"], "plan P50 (simulated)": s.plan_p50, "SPI": s.spi}
                  for s in state.forecasts], hide_index=True, width="stretch")
    st.caption("Duration factors applied to work not started (shrinkage estimate per trade; * = project): "
               + ", ".join(f"{k} {v:.3f}" for k, v in sorted(fc.factors.items())))


def _views_tab(state: Any) -> None:
    from twin.report import status_views

    st.caption("As planned, as built (late against the plan in red) and traffic lights of the work due or under "
               "way, at the data date.")
    if st.button("Render the 3D views", key="dt_views"):
        with st.spinner("Rendering"):
            shots = status_views(state, size=(900, 560))
        for col, (cap, png) in zip(st.columns(len(shots)), shots):
            col.image(png, caption=cap)


@guard
def render() -> None:
    project = current_project()
    data = inputs(project)
    st.title("Digital twin")
    st.caption(f"Progress against plan and forecast; stored in {db_url(project)}")
    tp = twin_project(project, data)
    tabs = st.tabs(["Status", "Forecast", "3D", "Record progress", "Plan"])
    with tabs[3]:   # recorded first, so that the other tabs already show this update
        _record_tab(project, data, tp)
    state = None
    with tabs[0]:
        state = _state(project, tp)
        if state is None:
            st.info("No progress recorded yet: record an update in the 'Record progress' tab.")
        else:
            _status_tab(state)
    with tabs[1]:
        if state is not None:
            _forecast_tab(state)
    with tabs[2]:
        if state is not None:
            _views_tab(state)
    with tabs[4]:
        _plan_tab(project, data)
