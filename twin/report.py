"""The weekly progress report: one self-contained HTML file (images embedded), and a PDF from it.

Sections: headline figures (data date, planned vs actual percent, SPI, forecast P50/P80 and the change
since the previous update), the forecast history chart, the planned / as-built / forecast S-curve,
status by storey, zone and trade with traffic lights, the top slipping activities, the Gantt chart
with baseline and actual bars, 3D snapshots at the data date (as planned, as built, traffic lights)
and the productivity factors used by the forecast.

Charts are plotly figures written as PNG (``twin.viz.charts.save_figure``: kaleido, else headless
Chromium); 3D views are rendered off screen by ``twin.viz`` (left out, with a warning, when the model
has no geometry or no OpenGL backend works). The PDF is printed by headless Chromium
(:func:`write_pdf`). plotly and twin.viz are imported only when a report is built.
"""
from __future__ import annotations

import base64
import html
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Sequence

from twin.atomic import atomic_path, atomic_write
from twin.errors import TwinError

__all__ = ["Report", "ReportError", "build_report", "write_report", "write_pdf", "forecast_history_chart",
           "progress_s_curve", "status_views", "element_windows", "LIGHT_COLOURS"]

LIGHT_COLOURS = {"green": "#2fbf4a", "yellow": "#f2b705", "red": "#e31a1c"}


class ReportError(TwinError, RuntimeError):
    """The report or its PDF could not be written."""


@dataclass(frozen=True, slots=True)
class Report:
    """A built report: the HTML text, its section titles, how many images it embeds, and warnings."""

    html: str
    sections: list[str] = field(default_factory=list)
    images: int = 0
    warnings: tuple[str, ...] = ()


def _e(x: Any) -> str:
    return html.escape(str(x))


def _d(x: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    return "" if x is None else x.strftime(fmt)


def _img(png: bytes, alt: str, width: str = "100%") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" style="width:{width}" src="data:image/png;base64,{data}">'


def _fig_png(fig: Any, width: int = 1100, height: int = 450) -> bytes:
    from twin.viz.charts import save_figure

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "chart.png")
        save_figure(fig, path, width=width, height=height)
        return Path(path).read_bytes()


def forecast_history_chart(snapshots: Sequence[Any], *, plan_finish: datetime | None = None) -> Any:
    """P50 and P80 finish (with the P10-P90 band) at each data date, and the plan's finish.

    ``snapshots``: stored forecasts (``twin.store.ForecastSnapshot``) or anything with ``data_date``
    and ``finish`` ({p10, p50, p80, p90}); returns a plotly Figure.
    """
    import plotly.graph_objects as go

    x = [s.data_date for s in snapshots]
    fig = go.Figure()
    if snapshots:
        fig.add_trace(go.Scatter(x=x, y=[s.finish["p10"] for s in snapshots], mode="lines", line=dict(width=0),
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=[s.finish["p90"] for s in snapshots], mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor="rgba(31,119,180,0.15)", name="P10-P90"))
        fig.add_trace(go.Scatter(x=x, y=[s.finish["p50"] for s in snapshots], mode="lines+markers", name="P50",
                                 line=dict(color="#1f77b4", width=2.5)))
        fig.add_trace(go.Scatter(x=x, y=[s.finish["p80"] for s in snapshots], mode="lines+markers", name="P80",
                                 line=dict(color="#ff7f0e", width=2, dash="dash")))
    plan_sim = [s for s in snapshots if getattr(s, "plan_p50", None) is not None]
    if plan_sim:
        p = plan_sim[-1].plan_p50
        xs = [x[0], x[-1]] if len(x) > 1 else [x[0] - timedelta(days=3), x[0] + timedelta(days=3)]
        fig.add_trace(go.Scatter(x=xs, y=[p, p], mode="lines", name="Plan P50 (simulated)",
                                 line=dict(color="#1f77b4", dash="dot", width=1.5)))
    if plan_finish is not None and snapshots:
        fig.add_trace(go.Scatter(x=[x[0], x[-1]] if len(x) > 1 else [x[0] - timedelta(days=3), x[0] + timedelta(days=3)],
                                 y=[plan_finish, plan_finish], mode="lines", name="Planned finish (CPM)",
                                 line=dict(color="#555", dash="dot")))
    fig.update_layout(title="Forecast finish at each update", template="plotly_white",
                      xaxis=dict(title="data date", type="date"), yaxis=dict(title="finish", type="date"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    return fig


def progress_s_curve(state: Any, n: int = 60) -> Any:
    """Planned (baseline), as-built (earned) and forecast (CPM from the data date) percent complete."""
    from twin.fourd import TaskWindow, task_windows
    from twin.status import earned_curve
    from twin.timephase import progress_curve
    from twin.viz.charts import s_curve_chart
    import plotly.graph_objects as go

    sched, dd = state.progressed, state.data_date
    weights = {aid: a.duration_h for aid, a in sched.activities.items() if not a.type.is_milestone}
    base = {aid: TaskWindow(aid, s, max(f, s)) for aid, (s, f) in state.baseline.items() if s is not None}
    current = task_windows(sched, state.cpm.dates)
    t0 = min([w.start for w in base.values()] + [w.effective_start for w in current.values()])
    t1 = max([w.finish for w in base.values()] + [w.effective_finish for w in current.values()] + [dd])
    times = [t0 + (t1 - t0) * i / (n - 1) for i in range(n)]
    planned = progress_curve(base, times, weights)
    past = [t for t in times if t <= dd] + [dd]
    earned = earned_curve(sched, past, dd)
    fig = s_curve_chart(times, planned=planned, actual=(past, earned), data_date=dd,
                        title="Planned vs as-built progress (budget: planned working hours)")
    future = [dd] + [t for t in times if t > dd]
    forecast = progress_curve(current, future, weights, which="effective")
    fig.add_trace(go.Scatter(x=future, y=forecast, mode="lines", name="Forecast (CPM from the data date)",
                             line=dict(color="#ff7f0e", width=2, dash="dot")))
    return fig


def element_windows(windows: dict, links: Sequence[tuple[str, str]], records: Sequence[Any]
                    ) -> tuple[dict, list[tuple[str, str]]]:
    """Give elements reported on their own (progress rows with a GlobalId) their own 4D window.

    Each such element gets a window ``"<activity>@<GlobalId>"`` with its own actual dates (its
    activity's current dates where it has none), and its link moves to it; other elements keep their
    activity's window. Returns (windows, links), new objects.
    """
    from dataclasses import replace

    own = {(r.activity_id, r.global_id): r for r in records if getattr(r, "global_id", None)}
    if not own:
        return dict(windows), list(links)
    out, new_links = dict(windows), []
    for aid, g in links:
        r = own.get((aid, g))
        w = windows.get(aid)
        if r is None or w is None or r.actual_start is None:
            new_links.append((aid, g))
            continue
        key = f"{aid}@{g}"
        finish = r.actual_finish or max(w.finish, r.actual_start)
        out[key] = replace(w, activity_id=key, start=r.actual_start, finish=finish, actual_start=r.actual_start,
                           actual_finish=r.actual_finish)
        new_links.append((key, g))
    return out, new_links


def status_views(state: Any, *, size: tuple[int, int] = (960, 600)) -> list[tuple[str, bytes]]:
    """3D snapshots at the data date: as planned, as built (late in red), traffic lights. PNG bytes.

    In the as-built view, elements reported on their own take their own actual dates
    (:func:`element_windows`).

    Raises
    ------
    InputError
        The model has no geometry or nothing is linked.
    """
    from twin.errors import InputError
    from twin.fourd import TaskWindow, classify_work_kind, task_windows
    from twin.status import element_lights
    from twin.viz.frames import FourDView, png_bytes
    from twin.viz.scene import Scene4D

    model, links = state.project.model, list(state.project.links)
    if model is None or not model.meshes:
        raise InputError("the model has no tessellated geometry to draw (a schedule file has no model)")
    sched, dd = state.progressed, state.data_date
    planned = {aid: TaskWindow(aid, s, max(f, s), classify_work_kind(sched.activities[aid]), sched.activities[aid].name)
               for aid, (s, f) in state.baseline.items() if s is not None and aid in sched.activities}
    built = task_windows(sched, state.cpm.dates, baseline=state.baseline)
    links = [(a, g) for a, g in links if a in built]
    built_windows, built_links = element_windows(built, links, state.records)
    if not links:
        raise InputError("no element is linked to a dated activity")
    out = []
    with Scene4D(model.meshes, model.elements, window_size=size, multi_samples=4) as scene:
        name = state.project.name
        view = FourDView(scene, planned, links, title=f"{name}: as planned")
        out.append(("As planned at the data date", png_bytes(view.render(dd)[0])))
        view = FourDView(scene, built_windows, built_links, title=f"{name}: as built")
        out.append(("As built at the data date (late against the plan in red)", png_bytes(view.render(dd)[0])))
        lights = element_lights(state.status, links)
        view.show(dd)
        for light in ("green", "yellow", "red"):
            scene.highlight([g for g, v in lights.items() if v == light], LIGHT_COLOURS[light])
        _lights_legend(scene)
        scene.set_caption(f"{name}: status  |  {dd:%a %d %b %Y}",
                          f"{sum(v == 'green' for v in lights.values())} on plan, "
                          f"{sum(v == 'yellow' for v in lights.values())} behind (yellow), "
                          f"{sum(v == 'red' for v in lights.values())} late (red)")
        out.append(("Traffic lights of the work due or under way", png_bytes(scene.render())))
        scene.clear_highlight()
    return out


def _lights_legend(scene: Any) -> None:
    """Replace the 4D legend by the traffic lights' (Scene4D has no public legend setter yet)."""
    from twin.viz.appearance import parse_colour

    setter = getattr(scene, "_set_legend", None)
    if setter is None:
        return
    entries = [("On plan", "green"), ("Behind, within tolerance", "yellow"), ("Late / critical behind", "red")]
    setter(("lights",), [(label, parse_colour(LIGHT_COLOURS[k], "light")) for label, k in entries]
           + [("Not due yet", (0.75, 0.75, 0.75))])


_CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1150px}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:28px;page-break-after:avoid}
table{border-collapse:collapse;font-size:13px;margin:8px 0;page-break-inside:avoid}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.dot{display:inline-block;width:11px;height:11px;border-radius:6px;
margin-right:5px;vertical-align:middle}.kpi{display:inline-block;margin:6px 18px 6px 0}.kpi b{font-size:22px;display:block}
.muted{color:#777;font-size:12px}figure{margin:8px 0;page-break-inside:avoid}figcaption{font-size:12px;color:#555}
.views{display:flex;flex-wrap:wrap;gap:8px}.views figure{width:49%}
"""


def _dot(light: str) -> str:
    return f'<span class="dot" style="background:{LIGHT_COLOURS[light]}"></span>{_e(light)}'


def _f(x: float | None, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int] = frozenset()) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _headline(state: Any) -> str:
    st, fc = state.status, state.forecast
    p = st.project
    from twin.progress import show_data_date

    kpis = [("Data date", show_data_date(state.data_date)), ("Planned", f"{p.planned_percent:.1f} %"),
            ("Actual", f"{p.actual_percent:.1f} %"), ("SPI", _f(p.spi)), ("Status", _dot(p.light)),
            ("Planned finish (CPM)", _d(state.plan_finish))]
    if fc is not None:
        kpis += [("Forecast P50", _d(fc.p50)), ("Forecast P80", _d(fc.p80))]
        if fc.plan_p50 is not None:
            kpis.append(("Plan P50 (simulated)", _d(fc.plan_p50)))
        prev = [s for s in state.forecasts if (s.data_date, s.id) < (fc.data_date, fc.id)]
        if prev:
            ch = (fc.p50 - prev[-1].p50).total_seconds() / 86400.0
            kpis.append(("P50 since last update", f"{ch:+.1f} days"))
    return "".join(f'<div class="kpi">{_e(k)}<b>{v}</b></div>' for k, v in kpis)


def _groups(state: Any) -> str:
    parts = []
    for kind, groups in state.status.groups.items():
        if not groups:
            continue
        rows = [[_e(k), _dot(g.light), f"{g.planned_percent:.1f}", f"{g.actual_percent:.1f}", _f(g.spi),
                 f"{g.sv_h:.1f}", str(g.counts.get("red", 0)), str(g.counts.get("yellow", 0))]
                for k, g in sorted(groups.items())]
        parts.append(f"<h3>By {kind}</h3>" + _table([kind, "status", "planned %", "actual %", "SPI", "SV h", "red",
                                                     "yellow"], rows, {2, 3, 4, 5, 6, 7}))
    return "".join(parts) or '<p class="muted">No storey, zone or trade attributes on the activities.</p>'


def _slipping(state: Any, top: int) -> str:
    rows = [[_e(s.activity_id), _e(s.name), _dot(s.light), f"{s.planned_percent:.0f}", f"{s.actual_percent:.0f}",
             f"{s.sv_days:.1f}", f"{s.finish_slip_days:.1f}", "yes" if s.critical else "", _d(s.baseline_finish),
             _d(s.forecast_finish)] for s in state.status.slipping(top)]
    if not rows:
        return "<p>No activity is behind its plan.</p>"
    return _table(["id", "name", "status", "planned %", "actual %", "SV days", "finish slip days", "critical",
                   "planned finish", "forecast finish"], rows, {3, 4, 5, 6})


def _productivity(state: Any) -> str:
    fc = state.forecast
    if fc is None or not fc.factors:
        return '<p class="muted">No forecast stored.</p>'
    rows = [[_e("project (all trades)" if k == "*" else k), f"{v:.3f}"] for k, v in sorted(fc.factors.items())]
    return ('<p class="muted">Shrinkage estimate of working hours spent per planned hour earned, applied to the '
            'durations of work not started (docs/digital-twin.md).</p>'
            + _table(["trade", "duration factor"], rows, {1}))


def build_report(state: Any, *, top: int = 15, views: bool = True, gantt_rows: int = 80) -> Report:
    """Build the report of a :class:`twin.store.updates.TwinState` (see the module docstring)."""
    from twin.viz.charts import gantt_chart

    warnings: list[str] = []
    sections: list[str] = []
    body: list[str] = []
    images = 0

    def section(title: str, content: str) -> None:
        sections.append(title)
        body.append(f"<h2>{_e(title)}</h2>{content}")

    def chart(fig: Any, alt: str, height: int = 450) -> str:
        nonlocal images
        try:
            png = _fig_png(fig, height=height)
        except TwinError as exc:
            warnings.append(f"{alt}: {exc}")
            return f'<p class="muted">{_e(alt)}: chart not drawn ({_e(exc)})</p>'
        images += 1
        return f"<figure>{_img(png, alt)}</figure>"

    section("Summary", _headline(state))
    if state.forecasts:
        section("Forecast", chart(forecast_history_chart(state.forecasts, plan_finish=state.plan_finish),
                                  "Forecast history") + _forecast_table(state))
    section("Progress S-curve", chart(progress_s_curve(state), "S-curve"))
    section("Status by storey, zone and trade", _groups(state))
    section("Top slipping activities", _slipping(state, top))
    if views:
        try:
            shots = status_views(state)
            figs = "".join(f"<figure>{_img(png, cap)}<figcaption>{_e(cap)}</figcaption></figure>" for cap, png in shots)
            images += len(shots)
            section("3D at the data date", f'<div class="views">{figs}</div>')
        except TwinError as exc:
            warnings.append(f"3D snapshots left out: {exc}")
    g = gantt_chart(state.progressed, state.cpm, baseline=state.baseline, data_date=state.data_date,
                    max_rows=gantt_rows, title="Programme: current (critical in red), baseline (grey), actual (green)")
    rows = min(gantt_rows, len(state.progressed.activities))
    section("Gantt", chart(g, "Gantt", height=max(400, 120 + 18 * rows)))
    section("Productivity used by the forecast", _productivity(state))
    name = state.project.name or "project"
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(name)}: progress report "
           f"{_d(state.data_date)}</title><style>{_CSS}</style></head><body>"
           f"<h1>{_e(name)}: weekly progress report</h1><p class='muted'>Data date "
           f"{_e(_show(state.data_date))}; written {datetime.now():%Y-%m-%d %H:%M} by twin</p>"
           + "".join(body) + "</body></html>")
    return Report(doc, sections, images, tuple(warnings))


def _show(when: datetime) -> str:
    from twin.progress import show_data_date

    return show_data_date(when)


def _forecast_table(state: Any) -> str:
    from twin.progress import show_data_date

    rows = [[show_data_date(s.data_date), _d(s.finish["p10"]), _d(s.p50), _d(s.p80), _d(s.finish["p90"]),
             _d(s.plan_p50), _f(s.spi), str(s.runs)] for s in state.forecasts]
    return _table(["data date", "P10", "P50", "P80", "P90", "plan P50 (simulated)", "SPI", "runs"], rows, {6, 7})


def write_report(report: Report, path: str | os.PathLike) -> Path:
    """Write the HTML atomically (temp file, then rename); returns the path."""
    p = Path(path)
    if not p.parent.is_dir():
        raise ReportError(f"folder does not exist: '{p.parent}'")
    return atomic_write(p, report.html, suffix=".part")


def write_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike, *, browser: str | None = None) -> Path:
    """Print an HTML file to PDF with headless Chromium (A4, backgrounds, no header); atomic.

    Raises
    ------
    ReportError
        No Chromium found, or it failed.
    """
    exe = browser or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        raise ReportError("cannot write a PDF: no chromium is installed (the HTML report is written)")
    out = Path(pdf_path)
    if not out.parent.is_dir():
        raise ReportError(f"folder does not exist: '{out.parent}'")
    try:
        with atomic_path(out, suffix=".pdf") as tmp:
            cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                   "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
                   f"--print-to-pdf={tmp.resolve()}", Path(html_path).resolve().as_uri()]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
            if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                raise ReportError(f"chromium could not print '{html_path}' (exit {proc.returncode}): "
                                  f"{proc.stderr.strip()[-300:]}")
    except subprocess.TimeoutExpired:
        raise ReportError("chromium took more than 180 s to print the PDF") from None
    return out
