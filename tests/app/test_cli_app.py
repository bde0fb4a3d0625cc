"""``twin app``: the command it would run, and refusals of bad input (exit 1, one line, no traceback)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from twin.cli import app


def test_dry_run_prints_the_streamlit_command_on_the_packaged_entry():
    result = CliRunner().invoke(app, ["app", "--port", "8642", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert set(info) == {"url", "entry", "scenario", "command"}
    assert info["url"] == "http://localhost:8642"
    assert info["entry"].endswith("twin_app/main.py")
    cmd = info["command"]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == info["entry"]
    assert cmd[cmd.index("--server.port") + 1] == "8642"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"


def test_a_scenario_is_checked_and_passed_on(tmp_path):
    from tests.conftest import ROOT

    scenario = tmp_path / "s.toml"
    scenario.write_text(f'[model]\nfiles = ["{ROOT / "samples" / "demo_building.ifc"}"]\n[plan]\nstrategy = "zone-vertical"\n')
    result = CliRunner().invoke(app, ["app", "--scenario", str(scenario), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario"] == str(scenario.resolve())


def test_bad_input_exits_1_with_one_line():
    runner = CliRunner()
    for args, text in ((["app", "--port", "70000", "--dry-run"], "--port"),
                       (["app", "--scenario", "missing.toml", "--dry-run"], "missing.toml")):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert text in result.output and "Traceback" not in result.output


def test_a_bad_scenario_is_refused_before_starting(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nfiles = 3\n")
    result = CliRunner().invoke(app, ["app", "--scenario", str(bad), "--dry-run"])
    assert result.exit_code == 1 and "bad.toml" in result.output
