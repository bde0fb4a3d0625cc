"""Plotly charts of schedules and simulation results, as pure functions of records and arrays.

* :func:`gantt_chart`: current bars (critical path in red), baseline bars under them, actual bars
  over them, milestones as diamonds, a data-date line;
* :func:`s_curve_chart`: cumulative progress with percentile bands (e.g. Monte Carlo P10-P90 and
  P25-P75), the planned curve and the actual curve;
* :func:`finish_histogram`: distribution of simulated finish dates with percentile markers and the
  cumulative probability;
* :func:`utilisation_chart`: resource or crane use over time against capacity (step lines).

Each returns a ``plotly.graph_objects.Figure``; :func:`save_figure` writes PNG/SVG/PDF (kaleido, which
drives a headless Chromium) or HTML, atomically. Dates are naive local date-times, as in twin.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

import numpy as np

from twin.atomic import atomic_path
from twin.errors import InputError, TwinError
from twin.schedule import ActivityType, Schedule

__all__ = [
    "COLOURS",
    "gantt_chart",
    "s_curve_chart",
    "finish_histogram",
    "utilisation_chart",
    "save_figure",
    "s_curve_from_result",
    "finish_histogram_from_result",
    "utilisation_from_result",
]

COLOURS = {
    "current": "#4a7fb5", "critical": "#d62728", "near_critical": "#f0a030", "baseline": "#b8bec6", "actual": "#2a9d4b",
    "band_outer": "rgba(74,127,181,0.18)", "band_inner": "rgba(74,127,181,0.32)", "median": "#1f4e79",
    "planned": "#7f7f7f", "data_date": "#ff7f0e", "capacity": "#333333",
}
_MS_PER_HOUR = 3_600_000.0


def _go():
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - plotly is a dependency
        raise ImportError("twin charts need plotly: pip install plotly") from exc
    return go


def _ms(delta: timedelta) -> float:
    return delta / timedelta(milliseconds=1)


def gantt_chart(
    schedule: Schedule,
    cpm: Any | None = None,
    *,
    baseline: Mapping[str, tuple[datetime, datetime]] | None = None,
    critical: Sequence[str] | None = None,
    data_date: datetime | None = None,
    max_rows: int = 300,
    title: str = "",
) -> Any:
    """Gantt chart of a schedule.

    Parameters
    ----------
    schedule : Schedule
    cpm : CpmResult (``.dates[id].early_start/early_finish/critical``, ``.data_date``), optional;
        without it the activities' planned dates are the current bars
    baseline : activity id -> (start, finish); default with ``cpm``: the planned dates in the file
    critical : ids drawn in red; default: ``cpm.dates[id].critical`` (and ``cpm.near_critical`` in orange)
    data_date : vertical line; default ``cpm.data_date`` or ``schedule.data_date``
    max_rows : the earliest ``max_rows`` activities are drawn (the title says so when cut)

    Returns
    -------
    plotly Figure with traces "Current", "Near-critical" (orange, ``cpm.near_critical``), "Critical",
    "Baseline", "Actual" and "Milestone" (empty traces are left out). Rows run top-down by start date.
    """
    go = _go()
    rows = []
    crit_set = set(critical or ())
    near_set = set(getattr(cpm, "near_critical", ()) or ()) if critical is None else set()
    for aid, act in schedule.activities.items():
        if act.type == ActivityType.WBS_SUMMARY:
            continue
        d = cpm.dates.get(aid) if cpm is not None else None
        start = d.early_start if d is not None else act.planned_start
        finish = d.early_finish if d is not None else act.planned_finish
        if d is not None and act.actual_start is not None:
            start = act.actual_start       # CPM early dates of started work are the remaining dates
        if d is not None and act.actual_finish is not None:
            finish = act.actual_finish
        if start is None:
            continue
        finish = max(finish or start, start)
        if critical is not None:
            crit = "Critical" if aid in crit_set else "Current"
        elif getattr(d, "critical", False):
            crit = "Critical"
        else:
            crit = "Near-critical" if aid in near_set else "Current"
        base = (baseline or {}).get(aid)
        if base is None and baseline is None and cpm is not None and act.planned_start and act.planned_finish:
            base = (act.planned_start, act.planned_finish)
        rows.append((start, aid, act, finish, crit, base))
    if not rows:
        raise InputError(f"schedule '{schedule.name or schedule.source}' has no dated activities to chart")
    rows.sort(key=lambda r: (r[0], r[1]))
    total = len(rows)
    rows = rows[:max_rows]
    labels = [f"{aid}  {act.name[:40]}" for _, aid, act, *_ in rows]

    traces: dict[str, dict[str, list]] = {k: {"x": [], "base": [], "y": [], "text": []}
                                          for k in ("Baseline", "Current", "Near-critical", "Critical", "Actual")}
    ms_x, ms_y, ms_c = [], [], []
    for (start, aid, act, finish, crit, base), label in zip(rows, labels):
        if act.type.is_milestone or finish == start:
            ms_x.append(start)
            ms_y.append(label)
            ms_c.append(COLOURS[{"Critical": "critical", "Near-critical": "near_critical"}.get(crit, "current")])
        else:
            _bar(traces[crit], label, start, finish, f"{aid}: {start:%d %b %Y} - {finish:%d %b %Y}")
        if base is not None and base[0] is not None and base[1] is not None:
            _bar(traces["Baseline"], label, base[0], max(base[1], base[0]),
                 f"{aid} baseline: {base[0]:%d %b %Y} - {base[1]:%d %b %Y}")
        if act.actual_start is not None:
            end = act.actual_finish or data_date or (cpm.data_date if cpm is not None else None) \
                or schedule.data_date
            if end is not None and end > act.actual_start:
                _bar(traces["Actual"], label, act.actual_start, end,
                     f"{aid} actual: {act.actual_start:%d %b %Y} - "
                     f"{'(in progress)' if act.actual_finish is None else f'{end:%d %b %Y}'}")

    fig = go.Figure()
    style = {"Baseline": (0.22, 0.2, COLOURS["baseline"]), "Current": (0.5, -0.3, COLOURS["current"]),
             "Near-critical": (0.5, -0.3, COLOURS["near_critical"]),
             "Critical": (0.5, -0.3, COLOURS["critical"]), "Actual": (0.16, -0.38, COLOURS["actual"])}
    for name in ("Baseline", "Current", "Near-critical", "Critical", "Actual"):
        t = traces[name]
        if not t["x"]:
            continue
        width, offset, colour = style[name]
        fig.add_trace(go.Bar(name=name, orientation="h", x=t["x"], base=t["base"], y=t["y"],
                             width=width, offset=offset, marker_color=colour, hovertext=t["text"],
                             hoverinfo="text"))
    if ms_x:
        fig.add_trace(go.Scatter(name="Milestone", x=ms_x, y=ms_y, mode="markers",
                                 marker=dict(symbol="diamond", size=11, color=ms_c,
                                             line=dict(color="#222", width=1))))
    dd = data_date or (cpm.data_date if cpm is not None else None) or schedule.data_date
    if dd is not None:
        fig.add_vline(x=dd, line=dict(color=COLOURS["data_date"], dash="dash", width=2))
        fig.add_annotation(x=dd, y=1.0, yref="paper", text=f"data date {dd:%d %b %Y}",
                           showarrow=False, yanchor="bottom", font=dict(color=COLOURS["data_date"]))
    shown = f" (first {len(rows)} of {total} by start)" if total > len(rows) else ""
    fig.update_layout(
        title=(title or schedule.name or "Schedule") + shown, barmode="overlay",
        xaxis=dict(type="date", title=None, gridcolor="#e5e5e5"),
        yaxis=dict(autorange="reversed", categoryorder="array", categoryarray=labels, title=None,
                   tickfont=dict(size=11)),
        height=max(320, 80 + 22 * len(rows)), template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1),
        margin=dict(l=10, r=10, t=80, b=30),
    )
    return fig


def _bar(trace: dict[str, list], label: str, start: datetime, finish: datetime, text: str) -> None:
    trace["x"].append(_ms(finish - start))
    trace["base"].append(start)
    trace["y"].append(label)
    trace["text"].append(text)


def _as_times(times: Sequence[Any]) -> list[Any]:
    return list(times)


def s_curve_chart(
    times: Sequence[datetime],
    percentiles: Mapping[float, Sequence[float]] | None = None,
    *,
    planned: Sequence[float] | None = None,
    actual: tuple[Sequence[datetime], Sequence[float]] | None = None,
    data_date: datetime | None = None,
    y_title: str = "% complete",
    title: str = "Progress S-curve",
) -> Any:
    """S-curve: percentile bands of simulated progress, the planned curve and the actual one.

    Parameters
    ----------
    times : length T dates
    percentiles : percentile (e.g. 10, 50, 90) -> values, each of length T. Bands are drawn between
        the outermost pair (e.g. P10-P90) and the next pair inwards (e.g. P25-P75); the median (P50)
        or the middle percentile is a line.
    planned : length T deterministic curve (e.g. :func:`twin.timephase.progress_curve`)
    actual : (dates, values) measured progress, any length
    """
    go = _go()
    t = _as_times(times)
    fig = go.Figure()
    if percentiles:
        keys = sorted(float(k) for k in percentiles)
        series = {k: np.asarray(_lookup(percentiles, k), dtype=float) for k in keys}
        for k, v in series.items():
            if v.shape != (len(t),):
                raise InputError(f"percentile P{k:g} has {v.shape[0] if v.ndim else 0} values, "
                                 f"expected {len(t)} (one per date)")
        lo, hi = 0, len(keys) - 1
        fills = [COLOURS["band_outer"], COLOURS["band_inner"]]
        level = 0
        while lo < hi and level < 2:
            a, b = keys[lo], keys[hi]
            fig.add_trace(go.Scatter(x=t, y=series[a], mode="lines", line=dict(width=0),
                                     showlegend=False, hoverinfo="skip", name=f"P{a:g}"))
            fig.add_trace(go.Scatter(x=t, y=series[b], mode="lines", line=dict(width=0),
                                     fill="tonexty", fillcolor=fills[level], name=f"P{a:g}-P{b:g}"))
            lo, hi, level = lo + 1, hi - 1, level + 1
        mid = 50.0 if 50.0 in series else keys[len(keys) // 2]
        fig.add_trace(go.Scatter(x=t, y=series[mid], mode="lines", name=f"P{mid:g}",
                                 line=dict(color=COLOURS["median"], width=2.5)))
    if planned is not None:
        p = np.asarray(planned, dtype=float)
        if p.shape != (len(t),):
            raise InputError(f"planned curve has {p.size} values, expected {len(t)} (one per date)")
        fig.add_trace(go.Scatter(x=t, y=p, mode="lines", name="Planned",
                                 line=dict(color=COLOURS["planned"], dash="dash", width=2)))
    if actual is not None:
        at, av = list(actual[0]), list(actual[1])
        if len(at) != len(av):
            raise InputError(f"actual curve has {len(at)} dates but {len(av)} values")
        fig.add_trace(go.Scatter(x=at, y=av, mode="lines+markers", name="Actual",
                                 line=dict(color=COLOURS["actual"], width=2.5)))
    if not fig.data:
        raise InputError("an S-curve needs percentiles, a planned curve or actuals")
    if data_date is not None:
        fig.add_vline(x=data_date, line=dict(color=COLOURS["data_date"], dash="dot"))
    fig.update_layout(title=title, template="plotly_white", yaxis=dict(title=y_title, rangemode="tozero"),
                      xaxis=dict(type="date"), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    return fig


def _lookup(mapping: Mapping[Any, Any], key: float) -> Any:
    for k, v in mapping.items():
        if float(k) == key:
            return v
    raise KeyError(key)


def finish_histogram(
    finishes: Sequence[datetime],
    *,
    deterministic: datetime | None = None,
    target: datetime | None = None,
    percentiles: Sequence[float] = (50, 80, 90),
    bin_days: float | None = None,
    title: str = "Project finish date",
) -> Any:
    """Histogram of simulated finish dates with P-value lines and the cumulative probability.

    Parameters
    ----------
    finishes : one finish date per simulation run (at least 2)
    deterministic : the CPM finish, marked for comparison
    target : a contractual date, marked with the probability of finishing by it in its label
    percentiles : P-values to mark
    bin_days : bin width; default: about 30 bins across the range, at least 1 day
    """
    go = _go()
    from plotly.subplots import make_subplots

    if len(finishes) < 2:
        raise InputError(f"a finish histogram needs at least 2 runs, got {len(finishes)}")
    origin = min(finishes)
    days = np.array([(f - origin) / timedelta(days=1) for f in finishes])
    span = float(days.max() - days.min())
    width = bin_days or max(1.0, span / 30.0)
    edges = np.arange(0.0, span + width, width)
    if len(edges) < 2:
        edges = np.array([0.0, width])
    counts, edges = np.histogram(days, bins=edges)
    centres = [origin + timedelta(days=float(c)) for c in (edges[:-1] + edges[1:]) / 2]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=centres, y=counts, width=_ms(timedelta(days=width)) * 0.95, name="Runs",
                         marker_color=COLOURS["current"]), secondary_y=False)
    ordered = np.sort(days)
    cum_x = [origin + timedelta(days=float(d)) for d in ordered]
    cum_y = np.arange(1, len(ordered) + 1) / len(ordered) * 100
    fig.add_trace(go.Scatter(x=cum_x, y=cum_y, mode="lines", name="Cumulative %",
                             line=dict(color=COLOURS["median"], width=2)), secondary_y=True)
    for p in percentiles:
        when = origin + timedelta(days=float(np.percentile(days, p)))
        fig.add_vline(x=when, line=dict(color="#555", dash="dot"))
        fig.add_annotation(x=when, y=1.0, yref="paper", text=f"P{p:g} {when:%d %b %Y}", showarrow=False,
                           textangle=-90, xanchor="right", yanchor="top", font=dict(size=11),
                           bgcolor="rgba(255,255,255,0.85)")
    for when, label, colour in ((deterministic, "CPM", COLOURS["critical"]), (target, "Target", "#2a9d4b")):
        if when is None:
            continue
        text = label
        if label == "Target":
            text += f" ({np.mean(days <= (when - origin) / timedelta(days=1)):.0%} likely)"
        fig.add_vline(x=when, line=dict(color=colour, width=2))
        fig.add_annotation(x=when, y=0.5, yref="paper", text=f"{text} {when:%d %b %Y}", showarrow=False,
                           textangle=-90, xanchor="left", font=dict(color=colour, size=11),
                           bgcolor="rgba(255,255,255,0.85)")
    fig.update_layout(title=title, template="plotly_white", bargap=0.02, showlegend=True,
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    fig.update_yaxes(title_text="runs", secondary_y=False)
    fig.update_yaxes(title_text="cumulative %", range=[0, 101], tickmode="linear", dtick=20,
                     secondary_y=True, showgrid=False)
    fig.update_xaxes(type="date")
    return fig


def utilisation_chart(
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float]],
    *,
    capacity: Mapping[str, float] | None = None,
    y_title: str = "units",
    title: str = "Resource utilisation",
) -> Any:
    """Use of resources (crews, cranes, hoists) over time: one row per resource, capacity dashed.

    Parameters
    ----------
    times : length T dates (the value at ``times[i]`` holds until ``times[i + 1]``)
    series : resource name -> length T units in use (e.g. :func:`twin.timephase.resource_usage`, or a
        mean over simulation runs)
    capacity : resource name -> available units; stretches above it are drawn again in thick red

    Returns
    -------
    plotly Figure with, per resource, a filled step trace named after it, a "<name> capacity" trace
    when a capacity is given, and a "<name> over capacity" trace when it is exceeded.
    """
    go = _go()
    import plotly.colors
    from plotly.subplots import make_subplots

    if not series:
        raise InputError("no resource series to chart")
    t = _as_times(times)
    names = list(series)
    palette = plotly.colors.qualitative.D3
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.25 / max(len(names), 1),
                        subplot_titles=names)
    for i, name in enumerate(names):
        row = i + 1
        v = np.asarray(series[name], dtype=float)
        if v.shape != (len(t),):
            raise InputError(f"resource '{name}' has {v.size} values, expected {len(t)} (one per date)")
        colour = palette[i % len(palette)]
        fig.add_trace(go.Scatter(x=t, y=v, mode="lines", line=dict(shape="hv", color=colour, width=1.5),
                                 fill="tozeroy", name=name, showlegend=False), row=row, col=1)
        cap = (capacity or {}).get(name)
        top = float(np.nanmax(v)) if v.size else 0.0
        if cap is not None:
            top = max(top, float(cap))
            fig.add_trace(go.Scatter(x=[t[0], t[-1]], y=[cap, cap], mode="lines", name=f"{name} capacity",
                                     line=dict(color="#333", dash="dash", width=1.2), showlegend=False),
                          row=row, col=1)
            over = v > cap + 1e-9
            if over.any():
                # over-capacity stretches drawn again, thick and red: one flat segment per step
                seg_x: list[Any] = []
                seg_y: list[float | None] = []
                for j in np.flatnonzero(over):
                    seg_x += [t[j], t[j + 1] if j + 1 < len(t) else t[j], None]
                    seg_y += [float(v[j]), float(v[j]), None]
                fig.add_trace(go.Scatter(x=seg_x, y=seg_y, mode="lines", name=f"{name} over capacity",
                                         line=dict(color=COLOURS["critical"], width=5), showlegend=False),
                              row=row, col=1)
        fig.update_yaxes(range=[0, max(top, 1.0) * 1.15], title_text=y_title if len(names) == 1 else None,
                         row=row, col=1, tickfont=dict(size=10), nticks=4)
    fig.update_layout(title=title, template="plotly_white", hovermode="x unified",
                      height=120 + 110 * len(names), margin=dict(l=50, r=20, t=80, b=40), showlegend=False)
    fig.update_annotations(font_size=12, xanchor="left", x=0.0)
    fig.update_xaxes(type="date")
    return fig


def s_curve_from_result(
    result: Any,
    dates: Sequence[datetime],
    *,
    planned_finish: Mapping[str, datetime] | None = None,
    percentiles: Sequence[float] = (10, 25, 50, 75, 90),
    data_date: datetime | None = None,
    title: str = "Activities complete: simulated vs planned",
) -> Any:
    """S-curve of a Monte Carlo result (``twin.sim.results.MonteCarloResult``).

    The measure is the simulator's (:func:`twin.sim.results.s_curve`): the share of activities
    finished by each date, as percentile bands over runs. ``planned_finish`` (activity id -> CPM early
    finish) adds the same measure for the deterministic plan.
    """
    from twin.sim.results import s_curve

    q = np.asarray(s_curve(result, list(dates), q=list(percentiles)), dtype=float) * 100.0
    bands = {float(p): q[i] for i, p in enumerate(percentiles)}
    planned = None
    if planned_finish is not None:
        fins = [planned_finish[a] for a in result.ids if a in planned_finish]
        if fins:
            planned = np.array([sum(f <= d for f in fins) / len(fins) * 100.0 for d in dates])
    return s_curve_chart(list(dates), bands, planned=planned, data_date=data_date,
                         y_title="% of activities complete", title=title)


def finish_histogram_from_result(result: Any, *, target: datetime | None = None,
                                 title: str = "Project finish date") -> Any:
    """:func:`finish_histogram` of a Monte Carlo result, with the CPM finish marked."""
    from twin.worktime import from_minutes

    finishes = [from_minutes(int(m)) for m in np.asarray(result.project_finish)]
    return finish_histogram(finishes, deterministic=result.cpm_finish, target=target, title=title)


def utilisation_from_result(result: Any, demands: Mapping[str, Mapping[str, float]], dates: Sequence[datetime],
                            *, capacity: Mapping[str, float] | None = None, percentile: float | None = None,
                            title: str | None = None) -> Any:
    """:func:`utilisation_chart` of a Monte Carlo result: mean (or percentile) units demanded over runs.

    ``demands``: activity id -> {resource: units}, e.g. :func:`twin.timephase.schedule_demands`. The
    figure is the demand of the activities under way in each run (as assigned), not the simulator's
    own allocation: a crane assigned to two overlapping activities counts twice even where the
    simulator made their lifts queue (its allocated share is ``MonteCarloResult.utilisation``).
    """
    from twin.timephase import simulated_resource_usage

    series = simulated_resource_usage(result, demands, list(dates), percentile=percentile)
    label = "mean over runs" if percentile is None else f"P{percentile:g} over runs"
    return utilisation_chart(list(dates), series, capacity=capacity,
                             title=title or f"Resource demand of the activities under way, simulated ({label})")


class ChartExportError(TwinError, RuntimeError):
    """A chart could not be written as an image."""


def save_figure(fig: Any, path: str | os.PathLike, *, width: int = 1200, height: int | None = None,
                scale: float = 1.0) -> str:
    """Write a figure to ``path`` (.png, .svg, .pdf via kaleido; .html standalone), atomically.

    For PNG, when kaleido cannot start its browser, the figure is written as HTML and captured with
    ``chromium --headless --screenshot`` instead. Returns the path written.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".svg", ".pdf", ".html"):
        raise InputError(f"chart output must end in .png, .svg, .pdf or .html, got '{path}'")
    height = height or int(fig.layout.height or 600)
    with atomic_path(path, suffix=ext) as tmp_path:
        tmp = str(tmp_path)
        if ext == ".html":
            fig.write_html(tmp, include_plotlyjs=True, full_html=True)
        else:
            try:
                fig.write_image(tmp, width=width, height=height, scale=scale)
            except Exception as exc:  # kaleido raises assorted errors when Chromium is unusable
                if ext != ".png":
                    raise ChartExportError(f"cannot write '{path}' with kaleido: {exc}") from exc
                _chromium_png(fig, tmp, width, height, reason=str(exc))
    return path


def _chromium_png(fig: Any, png: str, width: int, height: int, reason: str = "") -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise ChartExportError(f"cannot write PNG: kaleido failed ({reason}) and no chromium is installed")
    with tempfile.TemporaryDirectory() as tmpdir:
        html = os.path.join(tmpdir, "chart.html")
        fig.write_html(html, include_plotlyjs=True, full_html=True, config={"staticPlot": True},
                       default_width=f"{width}px", default_height=f"{height}px")
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--window-size={width},{height}", f"--screenshot={os.path.abspath(png)}",
               "--virtual-time-budget=5000", f"file://{html}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or not os.path.exists(png):
            raise ChartExportError(f"cannot write PNG: kaleido failed ({reason}); chromium exited "
                                   f"{proc.returncode}: {proc.stderr.strip()[-300:]}")
