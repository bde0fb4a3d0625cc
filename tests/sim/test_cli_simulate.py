"""``twin simulate`` and ``twin compare`` through typer's CliRunner: exit codes, JSON keys, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import twin.cli  # noqa: F401  (registers every command on the typer app)
from twin.cli._common import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

CSV = """id,name,duration_days,predecessors,optimistic,most_likely,pessimistic,start
A,Excavate,5,,4,5,9,2027-03-01
B,Pour concrete foundations,4,A,3,4,8,
C,Frame,10,B,8,10,16,
D,Services,6,B,5,6,12,
E,Finishes,8,C;D,7,8,12,
"""


def _csv(tmp_path: Path, name: str, text: str = CSV) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_simulate_schedule_json_has_the_documented_keys(tmp_path):
    out = _json(runner.invoke(app, ["simulate", str(_csv(tmp_path, "a.csv")), "--runs", "300", "--seed", "3",
                                    "--workers", "1", "--json"]))
    assert out["runs"] == 300 and out["path"] == "vectorised"
    assert set(out["finish"]) == {"p10", "p50", "p80", "p90", "mean"}
    assert out["finish"]["p10"] <= out["finish"]["p50"] <= out["finish"]["p90"]
    assert out["criticality"]["A"] == 1.0 and 0 <= out["criticality"]["D"] < 1
    assert out["resources"] == {} and out["weather_days_lost"]["mean"] == 0
    assert out["cpm_finish"].startswith("2027-")


def test_s_curve_option_gives_rising_percentile_bands(tmp_path):
    out = _json(runner.invoke(app, ["simulate", str(_csv(tmp_path, "a.csv")), "--runs", "100", "--workers", "1",
                                    "--s-curve", "6", "--json"]))
    curve = out["s_curve"]
    assert len(curve) == 6 and curve[0]["p50"] == 0.0 and curve[-1]["p10"] == 1.0
    assert all(c["p10"] <= c["p50"] <= c["p90"] for c in curve)
    assert [c["p50"] for c in curve] == sorted(c["p50"] for c in curve)


def test_deterministic_simulation_finishes_on_the_cpm_date(tmp_path):
    out = _json(runner.invoke(app, ["simulate", str(_csv(tmp_path, "a.csv")), "--deterministic", "--json"]))
    assert out["runs"] == 1 and out["deterministic"] is True
    assert all(v == out["cpm_finish"] for v in out["finish"].values())


def test_compare_pairs_scenarios(tmp_path):
    slow = CSV.replace("C,Frame,10,B,8,10,16,", "C,Frame,14,B,12,14,20,")
    out = _json(runner.invoke(app, ["compare", str(_csv(tmp_path, "fast.csv")), str(_csv(tmp_path, "slow.csv", slow)),
                                    "--runs", "400", "--workers", "1", "--json"]))
    assert [s["name"] for s in out["scenarios"]] == ["fast", "slow"]
    (pair,) = out["pairs"]
    assert {"a", "b", "p_a_before_b", "ci_low", "ci_high", "mean_difference_days"} <= set(pair)
    assert pair["p_a_before_b"] > 0.9 and pair["ci_low"] <= pair["p_a_before_b"] <= pair["ci_high"]
    assert pair["mean_difference_days"] < 0


def test_compare_with_itself_is_a_tie(tmp_path):
    a = _csv(tmp_path, "same.csv")
    b = _csv(tmp_path, "copy.csv")
    out = _json(runner.invoke(app, ["compare", str(a), str(b), "--runs", "50", "--workers", "1", "--json"]))
    assert out["pairs"][0]["p_a_before_b"] == 0.5 and out["pairs"][0]["mean_difference_days"] == 0


def test_missing_file_is_one_clear_line(tmp_path):
    r = runner.invoke(app, ["simulate", str(tmp_path / "nothing.toml"), "--json"])
    assert r.exit_code == 1
    assert "not found" in r.output and "Traceback" not in r.output


def test_zero_runs_is_refused(tmp_path):
    r = runner.invoke(app, ["simulate", str(_csv(tmp_path, "a.csv")), "--runs", "0"])
    assert r.exit_code == 1 and "--runs must be >= 1" in r.output


def _scenario(tmp_path: Path, extra: str) -> Path:
    model = ROOT / "samples" / "demo_building.ifc"
    if not model.exists():
        pytest.skip("samples/demo_building.ifc is absent")
    p = tmp_path / "demo.toml"
    p.write_text(f"""[project]
name = "demo"
start = 2027-03-01T08:00:00
[model]
files = ["{model}"]
[plan]
strategy = "storey-by-storey"
zones = 2
[resources]
[[resources.cranes]]
name = "TC1"
x = 15.0
y = 9.0
radius_m = 40.0
lift_time_min = 15.0
{extra}
""")
    return p


def test_scenario_with_crane_and_weather_runs_on_simpy(tmp_path):
    out = _json(runner.invoke(app, ["simulate", str(_scenario(tmp_path, "")), "--runs", "4", "--workers", "1",
                                    "--json", "--at", "2027-06-01T17:00", "--waits-by-day"]))
    assert out["path"] == "simpy"
    daily = out["resources"]["TC1"]["wait_h_by_day"]
    assert daily and out["resources"]["TC1"]["mean_wait_h"] > 0
    assert all(set(d) == {"date", "mean_wait_h"} and d["mean_wait_h"] > 0 for d in daily)
    assert [d["date"] for d in daily] == sorted(d["date"] for d in daily)
    assert set(out["resources"]["TC1"]) >= {"utilisation", "mean_wait_h"}
    assert 0 < out["resources"]["TC1"]["utilisation"] < 1
    assert out["weather_days_lost"]["mean"] > 0
    probs = out["completion"]["elements"]
    assert probs and all(0 <= v <= 1 for v in probs.values())
    assert max(probs.values()) == 1.0 and min(probs.values()) == 0.0


def test_scenario_missing_a_trade_crew_names_the_activity(tmp_path):
    scen = _scenario(tmp_path, '[[resources.crews]]\ntrade = "no-such-trade"\ncount = 1\n')
    r = runner.invoke(app, ["simulate", str(scen), "--runs", "2", "--workers", "1"])
    assert r.exit_code == 1
    assert "activity '" in r.output and "crew" in r.output and "Traceback" not in r.output


def test_scheduler_address_runs_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    csv_path = _csv(tmp_path, "a.csv")
    local = _json(runner.invoke(app, ["simulate", str(csv_path), "--runs", "40", "--seed", "2", "--workers", "1", "--json"]))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = _json(runner.invoke(app, ["simulate", str(csv_path), "--runs", "40", "--seed", "2",
                                           "--scheduler", cluster.scheduler_address, "--json"]))
    assert remote["finish"] == local["finish"] and remote["criticality"] == local["criticality"]
