"""Simulation page: pick scenarios (the project and its plan strategies), run the Monte Carlo with a
progress bar, and read the finish distributions, criticality, resources and P(A finishes before B)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from twin_app.state import current_project, guard, inputs, progress

RESULTS = "sim_results"


def _variants(project: Any) -> list[str]:
    from twin.plan import STRATEGIES

    current = project.scenario.plan.strategy if project.scenario.plan else None
    names = [f"as opened ({current or 'schedule file'})"]
    names += [f"plan: {s}" for s in STRATEGIES if s != current]
    return names


def _project_for(project: Any, data: Any, variant: str) -> Any:
    from twin_app.project import rebuild_project

    if variant.startswith("as opened"):
        return project
    strategy = variant.split(": ", 1)[1]
    return rebuild_project(project, data.model, strategy=strategy, name=f"{project.label} ({strategy})")


def summary_rows(results: list[Any]) -> list[dict[str, Any]]:
    """One row per scenario: finish P10/P50/P80/P90, CPM finish, P(finish by CPM), weather days lost."""
    from twin.sim import summarise

    rows = []
    for r in results:
        s = summarise(r)
        f = s["finish"]
        rows.append({"scenario": s["name"], "runs": s["runs"], "CPM finish": s["cpm_finish"], "P10": f["p10"],
                     "P50": f["p50"], "P80": f["p80"], "P90": f["p90"], "sd days": round(s["finish_sd_days"], 1),
                     "P(finish by CPM)": round(s["p_finish_by_cpm"], 3),
                     "weather days lost (mean)": round(s["weather_days_lost"]["mean"], 1), "path": s["path"]})
    return rows


@guard
def render() -> None:
    project = current_project()
    data = inputs(project)
    st.title("Simulation and comparison")
    st.write("Monte Carlo of crews, cranes, weather and duration uncertainty (`twin.sim`). Scenarios share the "
             "same random numbers (common random numbers), so their comparison is paired.")
    options = _variants(project)
    chosen = st.multiselect("Scenarios", options, default=options[:1], key="sim_variants")
    c = st.columns(2)
    runs = int(c[0].number_input("Runs", 10, 5000, 100, step=10, key="sim_runs"))
    seed = int(c[1].number_input("Seed", 0, 2**31 - 1, 1, key="sim_seed"))
    if st.button("Run", key="sim_run", type="primary", disabled=not chosen):
        from twin_app.loaders import simulate

        results = []
        with progress("Monte Carlo") as update:
            for k, variant in enumerate(chosen):
                p = _project_for(project, data, variant)
                results.append(simulate(p, runs, seed,
                                        lambda f, m, k=k: update((k + f) / len(chosen), m)))
        st.session_state[RESULTS] = results
    results = st.session_state.get(RESULTS)
    if not results:
        st.info("Choose scenarios and press Run.")
        return
    _show(results)


def _show(results: list[Any]) -> None:
    from twin.sim import compare_results, summarise
    from twin.viz.charts import finish_histogram_from_result

    st.subheader("Project finish")
    st.dataframe(summary_rows(results), hide_index=True, width="stretch")
    cols = st.columns(min(len(results), 2))
    for i, r in enumerate(results):
        with cols[i % len(cols)]:
            st.plotly_chart(finish_histogram_from_result(r, title=f"Finish: {r.name}"), width="stretch")
    if len(results) >= 2:
        st.subheader("P(A finishes before B)")
        pairs = compare_results(results)["pairs"]
        st.dataframe([{"A": p["a"], "B": p["b"], "P(A before B)": round(p["p_a_before_b"], 3),
                       "95 % CI": f"{p['ci_low']:.3f}-{p['ci_high']:.3f}", "P(tie)": round(p["p_tie"], 3),
                       "mean A-B (days)": round(p["mean_difference_days"], 2)} for p in pairs],
                     hide_index=True, width="stretch")
    st.subheader("Criticality and resources")
    pick = st.selectbox("Scenario", [r.name for r in results], key="sim_detail")
    r = next(x for x in results if x.name == pick)
    s = summarise(r, top=15)
    c = st.columns(2)
    c[0].dataframe([{"activity": a, "criticality": round(v, 3)} for a, v in s["criticality"].items()],
                   hide_index=True, width="stretch")
    c[1].dataframe([{"resource": k, "utilisation": round(v["utilisation"], 3), "mean wait h": round(v["mean_wait_h"], 2),
                     "wait h per day": round(v["wait_h_per_day"], 2)} for k, v in s["resources"].items()],
                   hide_index=True, width="stretch")
