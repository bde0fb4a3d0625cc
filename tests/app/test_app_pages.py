"""AppTest tests of every page: widgets work, and the values shown are the library's results."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from tests.app.conftest import APP, SAMPLE, TIMEOUT


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def no_problem(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ----------------------------------------------------------------------------------- entry point

def test_the_entry_point_opens_the_demo_on_the_project_page(demo):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_problem(at)
    assert at.title[0].value == "Project"
    m = metrics(at)
    assert m["Elements"] == str(len(demo.model.elements))
    assert m["Activities"] == str(len(demo.resolved.schedule.activities))
    assert m["Finish (CPM)"] == f"{demo.cpm.finish:%Y-%m-%d}"
    assert m["Linked elements"] == str(len({g for a, g in demo.resolved.links.pairs if a in demo.windows}))


# ----------------------------------------------------------------------------------- project page

def test_a_non_ifc_upload_is_refused_by_name_and_the_project_stays(page_test, demo):
    at = page_test("project", demo.project).run()
    at.file_uploader(key="up_ifc").set_value(("notes.txt", b"hello, not a model", "text/plain"))
    at.button(key="open_upload").click().run()
    assert not at.exception
    assert any("notes.txt" in e.value and "not an IFC file" in e.value for e in at.error)
    assert at.session_state["twin_project"] is demo.project
    assert metrics(at)["Elements"] == str(len(demo.model.elements))


def test_a_file_named_ifc_that_is_not_ifc_is_refused(page_test, demo):
    at = page_test("project", demo.project).run()
    at.file_uploader(key="up_ifc").set_value(("model.ifc", b"PK\x03\x04 a zip, not STEP", "application/octet-stream"))
    at.button(key="open_upload").click().run()
    assert any("model.ifc" in e.value for e in at.error)
    assert at.session_state["twin_project"] is demo.project


def test_a_schedule_that_does_not_match_the_model_gives_a_warning(page_test, demo):
    csv = ("id,name,duration_days,predecessors\nA10,Excavate,5,\nA20,Pour footings,3,A10\n"
           "A30,Erect frame,10,A20\n").encode()
    at = page_test("project", demo.project).run()
    at.file_uploader(key="up_ifc").set_value(("demo_building.ifc", SAMPLE.read_bytes(), "application/octet-stream"))
    at.file_uploader(key="up_schedule").set_value(("other-job.csv", csv, "text/csv"))
    at.button(key="open_upload").click().run()
    no_problem(at)
    assert any("does not match the model" in w.value for w in at.warning)
    project = at.session_state["twin_project"]
    assert project is not demo.project and project.scenario.schedule_file.name == "other-job.csv"
    m = metrics(at)
    assert m["Activities"] == "3" and m["Linked elements"] == "0"
    # the app keeps working: the 4D page says why nothing moves instead of failing
    at4 = page_test("fourd", project).run()
    no_problem(at4)
    assert any("No element is linked" in w.value for w in at4.warning)


def test_a_bad_schedule_file_is_named_in_the_message(page_test, demo):
    at = page_test("project", demo.project).run()
    at.file_uploader(key="up_ifc").set_value(("demo_building.ifc", SAMPLE.read_bytes(), "application/octet-stream"))
    at.file_uploader(key="up_schedule").set_value(("plan.csv", b"id;name\n1;x\n", "text/csv"))
    at.button(key="open_upload").click().run()
    assert not at.exception
    assert any("plan.csv" in e.value and "missing required column" in e.value for e in at.error)
    assert at.session_state["twin_project"] is demo.project


def test_uploaded_files_with_a_strategy_open_as_a_planned_project(page_test, demo):
    at = page_test("project", demo.project).run()
    at.file_uploader(key="up_ifc").set_value(("demo_building.ifc", SAMPLE.read_bytes(), "application/octet-stream"))
    at.selectbox(key="up_strategy").set_value("zone-vertical")
    at.button(key="open_upload").click().run()
    no_problem(at)
    project = at.session_state["twin_project"]
    assert project.scenario.plan.strategy == "zone-vertical"
    assert metrics(at)["Elements"] == str(len(demo.model.elements))


def test_generating_a_building_opens_it_with_the_generators_count(page_test, demo):
    from twin.ifc.generate import count_elements

    at = page_test("project", demo.project).run()
    at.number_input(key="gen_storeys").set_value(2)
    at.number_input(key="gen_bx").set_value(2)
    at.number_input(key="gen_by").set_value(1)
    at.checkbox(key="gen_mep").uncheck()
    at.button(key="open_generate").click().run()
    no_problem(at)
    assert at.session_state["twin_project"].source == "generated"
    assert metrics(at)["Elements"] == str(count_elements(2, (2, 1), mep=False, stairs=True))


def test_opening_the_demo_with_another_strategy(page_test, demo):
    at = page_test("project", demo.project).run()
    at.selectbox(key="demo_strategy").set_value("two-crews")
    at.button(key="open_demo").click().run()
    no_problem(at)
    project = at.session_state["twin_project"]
    assert project.source == "demo" and project.scenario.plan.strategy == "two-crews"


def test_a_scenario_file_opens_as_the_project(page_test, demo):
    at = page_test("project", demo.project).run()
    at.text_input(key="scenario_path").set_value(str(demo.project.scenario.path))
    at.button(key="open_scenario").click().run()
    no_problem(at)
    project = at.session_state["twin_project"]
    assert project.source == "scenario" and project.scenario.path == demo.project.scenario.path
    assert metrics(at)["Finish (CPM)"] == f"{demo.cpm.finish:%Y-%m-%d}"


def test_a_missing_scenario_file_is_named(page_test, demo, tmp_path):
    at = page_test("project", demo.project).run()
    at.text_input(key="scenario_path").set_value(str(tmp_path / "nope.toml"))
    at.button(key="open_scenario").click().run()
    assert any("nope.toml" in e.value for e in at.error)


# ----------------------------------------------------------------------------------- model page

def test_model_page_counts_and_filters_match_the_model(page_test, demo):
    at = page_test("model", demo.project).run()
    no_problem(at)
    m = metrics(at)
    assert m["Elements"] == str(len(demo.model.elements))
    assert m["With geometry"] == str(len(demo.model.meshes))
    assert m["Storeys"] == str(len(demo.model.storeys))
    at.multiselect(key="model_classes").set_value(["IfcColumn"]).run()
    columns = [g for g, e in demo.model.elements.items() if e.ifc_class == "IfcColumn"]
    assert any(c.value.startswith(f"{len(columns)} of {len(demo.model.elements)} elements") for c in at.caption)
    table = at.dataframe[0].value
    assert set(table["class"]) == {"IfcColumn"} and len(table) == len(columns)


def test_model_page_shows_the_properties_of_the_chosen_element(page_test, demo):
    at = page_test("model", demo.project).run()
    slab = next(g for g, e in demo.model.elements.items() if e.ifc_class == "IfcSlab")
    box = at.selectbox(key="model_pick")
    box.select_index(next(i for i, o in enumerate(box.options) if slab in o)).run()
    no_problem(at)
    assert any(slab in md.value for md in at.markdown)
    qto = demo.model.elements[slab].quantities
    frame = next(d.value for d in at.dataframe if "quantity" in d.value.columns)
    assert set(frame["quantity"]) == set(qto)


# ----------------------------------------------------------------------------------- schedule page

def test_schedule_page_shows_the_cpm_and_the_link_report(page_test, demo):
    at = page_test("schedule", demo.project).run()
    no_problem(at)
    m = metrics(at)
    assert m["Finish (CPM)"] == f"{demo.cpm.finish:%Y-%m-%d}"
    assert m["Start"] == f"{demo.cpm.start:%Y-%m-%d}"
    assert any(f"finish {demo.cpm.finish:%a %d %b %Y %H:%M}" in c.value for c in at.caption)
    assert m["Critical activities"] == str(len(demo.cpm.critical))
    assert m["Linked"] == str(len(demo.resolved.report.linked))
    assert m["Unlinked"] == str(len(demo.resolved.report.unlinked))


def test_schedule_page_compares_the_four_strategies_like_the_library(page_test, demo):
    from twin.cpm import compute_cpm
    from twin.plan import STRATEGIES, generate_plan

    at = page_test("schedule", demo.project).run()
    table = next(d.value for d in at.dataframe if "strategy" in d.value.columns)
    assert list(table["strategy"]) == list(STRATEGIES)
    sc = demo.project.scenario
    plan = generate_plan(demo.model, "zone-vertical", zones=sc.plan.zones, start=sc.start,
                         calendar=sc.calendar.to_calendar())
    finish = compute_cpm(plan.schedule).finish
    row = table[table["strategy"] == "zone-vertical"].iloc[0]
    assert row["finish"].to_pydatetime() == finish


def test_using_another_strategy_replans_the_project(page_test, demo):
    at = page_test("schedule", demo.project).run()
    at.selectbox(key="strategy_pick").set_value("structure-first").run()
    at.button(key="strategy_use").click().run()
    no_problem(at)
    assert at.session_state["twin_project"].scenario.plan.strategy == "structure-first"


def test_link_rules_are_tried_and_bad_rules_are_named(page_test, demo):
    at = page_test("schedule", demo.project).run()
    at.text_area(key="rules_text").set_value('[[links.rules]]\nactivity = "L{storey_index:02d}-{zone}-SLB"\n'
                                             'where = { class = "IfcSlab" }\n')
    at.radio(key="rules_mode").set_value("all")
    at.button(key="rules_try").click().run()
    no_problem(at)
    report = at.session_state["rules_report"]
    slabs = {g for g, e in demo.model.elements.items() if e.ifc_class == "IfcSlab"}
    assert report.rules[0].matched == len(slabs)
    at.text_area(key="rules_text").set_value("[[links.rules]\nactivity = ")
    at.button(key="rules_try").click().run()
    assert not at.exception
    assert any("not valid TOML" in e.value for e in at.error)


# ----------------------------------------------------------------------------------- 4D page

def test_4d_page_states_on_the_slider_date_match_the_library(page_test, demo):
    from twin.fourd import build_timeline, get_active_tasks

    at = page_test("fourd", demo.project).run()
    no_problem(at)
    assert at.image, "the rendered frame is shown"
    day = min(demo.windows.values(), key=lambda w: w.start).start.date() + timedelta(days=30)
    at.slider(key="fourd_at").set_value(datetime.combine(day, time(0))).run()
    no_problem(at)
    at_time = datetime.combine(day, time(12))
    links = [(a, g) for a, g in demo.resolved.links.pairs if a in demo.windows]
    ids = tuple(g for g in demo.model.meshes)
    counts = build_timeline(demo.windows, links, ids).state_at(at_time).count()
    m = metrics(at)
    assert m["Complete"] == str(counts["complete"])
    assert m["In progress"] == str(counts["in_progress"])
    assert m["Not started"] == str(counts["not_started"])
    active = get_active_tasks(demo.windows, at_time)
    assert any(h.value == f"Activities under way ({len(active)})" for h in at.subheader)


def test_4d_play_and_interactive_mode_run(page_test, demo):
    at = page_test("fourd", demo.project).run()
    last = max(w.finish for w in demo.windows.values()).date()
    at.slider(key="fourd_at").set_value(datetime.combine(last - timedelta(days=20), time(0))).run()
    at.button(key="fourd_play").click().run()
    no_problem(at)
    assert at.image
    at.radio(key="fourd_mode").set_value("Interactive 3D (vtk.js)").run()
    no_problem(at)
    at.selectbox(key="fourd_colour").set_value("criticality")
    at.radio(key="fourd_mode").set_value("Rendered frame").run()
    no_problem(at)


@pytest.mark.slow
def test_4d_planned_vs_simulated_uses_the_simulation(page_test, demo):
    at = page_test("fourd", demo.project).run()
    at.button(key="fourd_simulate").click().run()
    no_problem(at)
    assert "Simulated P50" in metrics(at)
    at.selectbox(key="fourd_colour").set_value("probability").run()
    no_problem(at)


# ----------------------------------------------------------------------------------- simulation page

@pytest.mark.slow
def test_simulation_page_matches_the_simulator_and_compares_pairs(page_test, demo):
    from twin.scenario import resolve
    from twin.sim import config_from_scenario, run_monte_carlo, summarise
    from twin_app.project import rebuild_project

    at = page_test("simulation", demo.project).run()
    options = at.multiselect(key="sim_variants").options
    at.multiselect(key="sim_variants").set_value([options[0], "plan: zone-vertical"])
    at.number_input(key="sim_runs").set_value(20)
    at.button(key="sim_run").click().run()
    no_problem(at)
    table = next(d.value for d in at.dataframe if "P50" in d.value.columns)
    assert len(table) == 2
    ours = summarise(run_monte_carlo(config_from_scenario(demo.resolved), 20, 1, workers=1))
    assert table.iloc[0]["P50"].to_pydatetime() == ours["finish"]["p50"]
    other = rebuild_project(demo.project, demo.model, strategy="zone-vertical", name="Demo building (zone-vertical)")
    theirs = summarise(run_monte_carlo(config_from_scenario(resolve(other.scenario, model=demo.model)), 20, 1, workers=1))
    assert table.iloc[1]["P50"].to_pydatetime() == theirs["finish"]["p50"]
    pairs = next(d.value for d in at.dataframe if "P(A before B)" in d.value.columns)
    assert len(pairs) == 1 and 0.0 <= pairs.iloc[0]["P(A before B)"] <= 1.0


# ----------------------------------------------------------------------------------- digital twin page

def test_digital_twin_page_shows_the_plan_status_of_the_library(page_test, demo):
    from twin.timephase import progress_curve

    at = page_test("digital_twin", demo.project).run()
    no_problem(at)
    day = min(demo.windows.values(), key=lambda w: w.start).start.date() + timedelta(days=40)
    at.date_input(key="dt_status_date").set_value(day).run()
    no_problem(at)
    planned = float(progress_curve(demo.windows, [datetime.combine(day, time(17))])[0])
    assert metrics(at)["Planned % complete"] == f"{planned:.1f} %"
    assert metrics(at)["Finish (CPM)"] == f"{demo.cpm.finish:%Y-%m-%d}"


# ----------------------------------------------------------------------------------- clashes page

def test_clash_page_finds_the_designed_clashes_and_writes_bcf(page_test, demo, tmp_path):
    from twin.bcf import read_bcf_topics
    from twin.ifc.generate import DEFAULT_SAMPLE_ARGS, describe_building

    at = page_test("clashes", demo.project).run()
    no_problem(at)
    at.button(key="clash_run").click().run()
    no_problem(at)
    designed = {tuple(sorted(p)) for p in describe_building(SAMPLE, **DEFAULT_SAMPLE_ARGS).clashes_expected}
    assert metrics(at)["Clashes"] == str(len(designed))
    shown = at.dataframe[0].value
    assert {tuple(sorted(p)) for p in zip(shown["A GlobalId"], shown["B GlobalId"])} == designed
    at.multiselect(key="clash_types").set_value(["hard"]).run()
    no_problem(at)
    at.button(key="bcf_make").click().run()
    no_problem(at)
    path = at.session_state["bcf_file"]
    topics = read_bcf_topics(path)
    assert len(topics) == len(designed)


def test_conflict_page_shows_the_library_findings(page_test, demo):
    from twin.conflicts import run_conflicts

    at = page_test("clashes", demo.project).run()
    at.button(key="conf_run").click().run()
    no_problem(at)
    doc = run_conflicts(demo.project.scenario.path, resolved=demo.resolved)
    m = metrics(at)
    for kind in ("support", "workspace", "crane", "logic"):
        assert m[kind.capitalize()] == str(doc["counts"][kind])
    at.radio(key="conf_kind").set_value("crane").run()
    no_problem(at)
