"""Digital twin page: the plan's S-curve and the status on a status date (what exists today).

The digital-twin work (progress records, status against plan, forecast) extends this page: it shows
the planned percent complete over time (``twin.timephase.progress_curve``), the status of activities
and elements on the status date from the schedule's actual dates and the CPM (``twin.fourd``), and
the actual progress the schedule file carries (actual starts and finishes, percent complete).
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


@guard
def render() -> None:
    import plotly.graph_objects as go

    from twin.timephase import progress_curve
    from twin_app.pages.fourd import plan_span

    project = current_project()
    data = inputs(project)
    st.title("Digital twin")
    st.caption("Progress against plan and forecast. Today the page shows the plan and the progress recorded in "
               "the schedule file; progress records and re-forecasts come with the digital-twin module.")
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
