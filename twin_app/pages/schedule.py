"""Schedule and links page: Gantt chart and CPM figures, the link report, link rules to try and apply,
and the four sequence strategies compared on the project's model."""
from __future__ import annotations

import tomllib
from typing import Any

import streamlit as st

from twin.errors import InputError
from twin_app.project import rebuild_project
from twin_app.state import current_project, guard, inputs, progress, set_project

RULES_EXAMPLE = """# [[links.rules]] tables, as in a scenario file (docs/linking-and-planning.md)
[[links.rules]]
activity = "L{storey_index:02d}-{zone}-SLB"
where = { class = "IfcSlab" }
"""


def cpm_table(schedule: Any, cpm: Any) -> list[dict[str, Any]]:
    """One row per activity: id, name, CPM dates, floats (h), critical."""
    rows = []
    for aid, d in cpm.dates.items():
        act = schedule.activities.get(aid)
        rows.append({"id": aid, "name": act.name if act else "", "early start": d.early_start,
                     "early finish": d.early_finish, "late start": d.late_start, "late finish": d.late_finish,
                     "total float h": d.total_float_h, "free float h": d.free_float_h, "critical": bool(d.critical)})
    return rows


def _cpm_section(data: Any) -> None:
    from twin.viz.charts import gantt_chart

    schedule, cpm = data.schedule, data.cpm
    c = st.columns(5)
    c[0].metric("Activities", len(schedule.activities))
    c[1].metric("Relationships", len(schedule.relationships))
    c[2].metric("Start", f"{cpm.start:%Y-%m-%d}")
    c[3].metric("Finish (CPM)", f"{cpm.finish:%Y-%m-%d}")
    c[4].metric("Critical activities", len(cpm.critical))
    st.caption(f"Start {cpm.start:%a %d %b %Y %H:%M}, finish {cpm.finish:%a %d %b %Y %H:%M}, "
               f"{len(cpm.near_critical)} near-critical"
               + (f"; data date {cpm.data_date:%Y-%m-%d %H:%M}." if cpm.data_date else "."))
    st.plotly_chart(gantt_chart(schedule, cpm, title=schedule.name or ""), width="stretch")
    with st.expander("Activities with CPM dates and floats"):
        st.dataframe(cpm_table(schedule, cpm), hide_index=True, width="stretch")
    if cpm.warnings or schedule.warnings:
        with st.expander(f"{len(cpm.warnings) + len(schedule.warnings)} schedule warning(s)"):
            for w in list(schedule.warnings) + list(cpm.warnings):
                st.write(w)


def _report_section(report: Any) -> None:
    d = report.to_dict()
    counts = d["counts"]
    c = st.columns(6)
    for col, key in zip(c, ("elements", "linked", "unlinked", "unlinked_with_geometry", "multiple", "empty_activities")):
        col.metric(key.replace("_", " ").capitalize(), counts[key])
    for w in d["warnings"]:
        st.warning(w)
    if d["rules"]:
        st.dataframe([{"rule": r["rule"], "matched": r["matched"], "linked": r["linked"],
                       "unknown activities": ", ".join(r["unknown_activities"][:5])} for r in d["rules"]],
                     hide_index=True, width="stretch")
    with st.expander("Report lists"):
        for key in ("unlinked_with_geometry", "empty_activities", "unknown_global_ids", "unknown_activities"):
            st.markdown(f"**{key.replace('_', ' ')}** ({len(d[key])})")
            st.write(", ".join(d[key][:200]) or "none")
        st.markdown(f"**elements on several activities** ({len(d['multiple'])})")
        st.write(d["multiple"] or "none")


def parse_rules(text: str) -> list[dict[str, Any]]:
    """``[[links.rules]]`` (or ``[[rules]]``) tables from TOML text; errors name the line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"link rules: not valid TOML: {exc}") from None
    rules = raw.get("links", {}).get("rules", raw.get("rules", []))
    if not isinstance(rules, list) or not rules:
        raise InputError("link rules: no [[links.rules]] table found")
    return rules


def _rules_section(project: Any, data: Any) -> None:
    from twin.links import apply_rules, rules_from_config
    from twin.plan import load_rates

    st.write("Try link rules on this model and schedule; the report below shows what they would link. "
             "A generated plan already links every element, so use mode `all` to add links to it.")
    text = st.text_area("Link rules (TOML)", RULES_EXAMPLE, height=140, key="rules_text")
    mode = st.radio("Mode", ["first", "all"], horizontal=True, key="rules_mode")
    c = st.columns(2)
    if c[0].button("Try the rules", key="rules_try"):
        items = parse_rules(text)
        rules = rules_from_config(items)
        zones = data.resolved.plan.zones if data.resolved.plan is not None else project.scenario.zones
        _links, report = apply_rules(data.model, data.schedule, rules, zones=zones, mode=mode,
                                     classify=load_rates().trade_of)
        st.session_state["rules_report"] = report
    if c[1].button("Apply the rules to the project", key="rules_apply"):
        items = parse_rules(text)
        new = rebuild_project(project, data.model, data.schedule, rules=items)
        set_project(new)
        st.rerun()
    report = st.session_state.get("rules_report")
    if report is not None:
        st.markdown("**Report of the rules tried**")
        _report_section(report)


def _strategies_section(project: Any, data: Any) -> None:
    from twin_app.loaders import get_strategies

    with progress("Planning the four strategies") as update:
        update(0.1, "generating plans")
        rows = get_strategies(project)
    table = [{"strategy": r["strategy"], "activities": r["activities"], "relationships": r["relationships"],
              "finish": r["finish"], "calendar days": r["calendar_days"], "work hours": r["work_hours"],
              "crane lifts": r["crane_lifts"]} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    fastest = min(rows, key=lambda r: r["finish"])
    st.caption(f"Fastest by CPM: **{fastest['strategy']}** ({fastest['finish']:%Y-%m-%d}). The CPM ignores shared "
               "cranes and weather: compare the strategies on the Simulation page.")
    current = project.scenario.plan.strategy if project.scenario.plan else None
    names = [r["strategy"] for r in rows]
    pick = st.selectbox("Plan the project with", names, index=names.index(current) if current in names else 0,
                        key="strategy_pick")
    if st.button("Use this strategy", key="strategy_use", disabled=pick == current):
        set_project(rebuild_project(project, data.model, strategy=pick))
        st.rerun()


@guard
def render() -> None:
    project = current_project()
    data = inputs(project)
    st.title("Schedule and links")
    tabs = st.tabs(["Schedule (CPM)", "Link report", "Link rules", "Sequence strategies"])
    with tabs[0]:
        _cpm_section(data)
    with tabs[1]:
        _report_section(data.report)
    with tabs[2]:
        _rules_section(project, data)
    with tabs[3]:
        _strategies_section(project, data)
