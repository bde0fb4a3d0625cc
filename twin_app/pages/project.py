"""Project page: open the bundled demo, upload IFC files and a schedule, generate a demo building, or
open a scenario file. Bad files give a message naming the file; the previous project stays open."""
from __future__ import annotations

import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Any

import streamlit as st

from twin.errors import InputError, TwinError
from twin_app.project import (check_ifc_upload, default_start, project_from_files,
                              project_from_scenario, save_upload, work_dir)
from twin_app.state import current_project, demo_project, guard, inputs, progress, set_project

MESSAGES = "project_messages"


def link_problems(report: Any, n_links: int) -> list[str]:
    """Warnings a planner must see before trusting the 4D model (shown on this page)."""
    out = []
    overlap = dict(report.overlap or {})
    if overlap.get("schedule_global_ids") and overlap.get("found_in_model", 0) == 0:
        out.append(f"The schedule does not match the model: none of the {overlap['schedule_global_ids']} elements "
                   "the schedule links to is in the model (different projects?).")
    if n_links == 0:
        out.append("No model element is linked to a dated activity: the schedule does not match the model. "
                   "Add a links CSV or link rules (Schedule and links page), or check that the files belong together.")
    return out


def _show_summary(project: Any) -> None:
    data = inputs(project)
    model, schedule, cpm = data.model, data.schedule, data.cpm
    st.subheader(f"Current project: {project.label}")
    c = st.columns(5)
    c[0].metric("Elements", len(model.elements))
    c[1].metric("Activities", len(schedule.activities))
    c[2].metric("Linked elements", len({g for _, g in data.links}))
    c[3].metric("Start", f"{cpm.start:%Y-%m-%d}")
    c[4].metric("Finish (CPM)", f"{cpm.finish:%Y-%m-%d}")
    sc = project.scenario
    how = (f"schedule file `{Path(sc.schedule_file).name}`" if sc.schedule_file
           else f"generated plan, strategy `{sc.plan.strategy}`, {sc.plan.zones} zone(s)")
    st.caption(f"Model: {', '.join(f'`{Path(f).name}`' for f in sc.model_files)}; {how}; "
               f"{len(model.meshes)} elements with geometry.")
    for msg in link_problems(data.report, len(data.links)):
        st.warning(msg)
    for msg in list(data.report.warnings)[:10]:
        st.caption(f"link report: {msg}")
    st.download_button("Download scenario.toml", project.scenario_text or "", file_name="scenario.toml",
                       mime="application/toml", help="Use it with the command line: twin simulate scenario.toml")


def _open(project: Any) -> None:
    set_project(project)
    data = inputs(project)
    st.session_state[MESSAGES] = link_problems(data.report, len(data.links))


def _demo_tab() -> None:
    from twin.plan import STRATEGIES

    st.write("The parametric demo building shipped with twin (4 storeys, 435 elements, MEP clashing with beams), "
             "with a schedule generated from the model.")
    strategy = st.selectbox("Sequence strategy", STRATEGIES, key="demo_strategy")
    zones = st.number_input("Zones", 1, 8, 2, key="demo_zones")
    start = st.date_input("Start", default_start().date(), key="demo_start")
    if st.button("Open the demo", key="open_demo", type="primary"):
        with progress("Opening the demo") as update:
            project = demo_project(strategy, int(zones), datetime.combine(start, time(8, 0)), update)
        _open(project)
        st.rerun()


def _rules_from_upload(upload: Any) -> list[dict[str, Any]]:
    try:
        raw = tomllib.loads(upload.getvalue().decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{upload.name}: not valid TOML: {exc}") from None
    rules = raw.get("links", {}).get("rules", raw.get("rules", []))
    if not isinstance(rules, list) or not rules:
        raise InputError(f"{upload.name}: no [[links.rules]] tables found")
    return rules


def _upload_tab() -> None:
    from twin.plan import STRATEGIES

    ifcs = st.file_uploader("IFC model file(s) (several files form one federated model)", type=None,
                            accept_multiple_files=True, key="up_ifc")
    sched = st.file_uploader("Schedule (P6 .xer / .xml, MS Project .xml, twin .csv, IFC 4D); leave empty to "
                             "generate one from the model", key="up_schedule")
    links = st.file_uploader("Links CSV (GlobalId,activity_id), optional", key="up_links")
    rules = st.file_uploader("Link rules (a TOML with [[links.rules]], e.g. a scenario file), optional",
                             key="up_rules")
    strategy = st.selectbox("Strategy when no schedule is given", STRATEGIES, key="up_strategy")
    if not st.button("Open these files", key="open_upload", type="primary"):
        return
    if not ifcs:
        st.error("Choose at least one IFC file.")
        return
    from twin_app.loaders import get_model, model_key

    paths = []
    for up in ifcs:
        data = up.getvalue()
        try:
            check_ifc_upload(up.name, data)
        except TwinError as exc:
            st.error(str(exc))
            return
        paths.append(save_upload(up.name, data))
    try:
        with progress("Reading the model") as update:
            model = get_model([str(p) for p in paths], model_key(paths), update)
        schedule_path = schedule = None
        if sched is not None:
            from twin.importers import read_schedule

            schedule_path = save_upload(sched.name, sched.getvalue())
            schedule = read_schedule(schedule_path)
        links_path = save_upload(links.name, links.getvalue()) if links is not None else None
        rule_list = _rules_from_upload(rules) if rules is not None else []
        project = project_from_files(paths, model, schedule_file=schedule_path, schedule=schedule,
                                     strategy=strategy, links_csv=links_path, rules=rule_list,
                                     name=Path(ifcs[0].name).stem, source="upload")
        _open(project)
    except TwinError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _generate_tab() -> None:
    st.write("A new parametric building (`twin sample`): frame, core, envelope and MEP, with designed clashes.")
    c = st.columns(4)
    storeys = c[0].number_input("Storeys", 1, 40, 3, key="gen_storeys")
    bx = c[1].number_input("Bays along x", 2, 30, 3, key="gen_bx")
    by = c[2].number_input("Bays along y", 1, 30, 2, key="gen_by")
    zones = c[3].number_input("Zones", 1, 8, 2, key="gen_zones")
    mep = st.checkbox("Ducts and pipes", True, key="gen_mep")
    if not st.button("Generate and open", key="open_generate", type="primary"):
        return
    from twin.ifc.generate import count_elements, generate_building
    from twin_app.loaders import get_model, model_key

    name = f"building_{storeys}s_{bx}x{by}{'' if mep else '_nomep'}"
    out = work_dir() / "generated" / f"{name}.ifc"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        stairs = storeys >= 2
        total = count_elements(int(storeys), (int(bx), int(by)), mep=mep, stairs=stairs)
        with progress(f"Generating {total} elements") as update:
            generate_building(out, storeys=int(storeys), bays=(int(bx), int(by)), zones=int(zones), mep=mep,
                              stairs=stairs, progress=lambda d, t: update(d / max(t, 1), "writing"))
        with progress("Reading the model") as update:
            model = get_model([str(out)], model_key([out]), update)
        project = project_from_files([out], model, zones=int(zones), start=default_start(), name=name,
                                     source="generated")
        _open(project)
    except TwinError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _scenario_tab() -> None:
    st.write("A scenario file written by `twin init` (paths inside it are relative to the file).")
    path = st.text_input("Scenario file path", key="scenario_path")
    if st.button("Open the scenario", key="open_scenario", type="primary") and path:
        try:
            _open(project_from_scenario(Path(path).expanduser()))
        except TwinError as exc:
            st.error(str(exc))
            return
        st.rerun()


@guard
def render() -> None:
    st.title("Project")
    project = current_project()
    for msg in st.session_state.pop(MESSAGES, []):
        st.warning(msg)
    _show_summary(project)
    st.divider()
    st.subheader("Open another project")
    tabs = st.tabs(["Bundled demo", "Upload files", "Generate a building", "Scenario file"])
    with tabs[0]:
        _demo_tab()
    with tabs[1]:
        _upload_tab()
    with tabs[2]:
        _generate_tab()
    with tabs[3]:
        _scenario_tab()
