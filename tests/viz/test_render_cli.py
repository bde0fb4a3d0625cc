"""`twin render` / `twin animate` on the generated demo building, and the growth check by pixels."""
from __future__ import annotations

import json
from datetime import datetime as dt

import numpy as np
import pytest

pytest.importorskip("pyvista")

from typer.testing import CliRunner

from twin.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo building (3 storeys) and a planned scenario over it, starting Mon 3 March 2025."""
    from twin.ifc.generate import generate_building
    from twin.scenario import starter_scenario

    folder = tmp_path_factory.mktemp("demo")
    generate_building(folder / "demo.ifc", storeys=3, bays=(3, 2))
    scen = folder / "scenario.toml"
    scen.write_text(starter_scenario(scen, [folder / "demo.ifc"], start=dt(2025, 3, 3, 8)))
    return scen


def _run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def _built_pixels(path):
    """Pixels of solid (not ghosted, not ground, not background) building: saturated or darker grey."""
    import imageio.v3 as iio

    img = iio.imread(path).astype(int)
    h = img.shape[0]
    img = img[int(h * 0.08): int(h * 0.85)]           # leave out the caption rows
    lo, hi = img.min(axis=-1), img.max(axis=-1)
    dark = hi < 200                                    # solid grey elements; ghosts on white stay lighter
    coloured = (hi - lo >= 25) & (lo <= 200)           # highlighted (green, red...) elements
    return int((dark | coloured).sum())

def test_demo_building_grows_over_three_dates(demo, tmp_path):
    pixels, counts = [], []
    for day in ("2025-03-12", "2025-04-10", "2025-05-30"):
        out = tmp_path / f"{day}.png"
        result = _run("render", demo, "--at", day, "-o", out, "--width", "640", "--height", "400", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        counts.append(data["counts"]["complete"])
        pixels.append(_built_pixels(out))
    print("built pixels", pixels, "complete", counts)
    assert counts[0] < counts[1] < counts[2] == json.loads(result.stdout)["linked"]
    assert pixels[0] < pixels[1] < pixels[2]
    assert pixels[2] > 2 * pixels[0]


def test_render_json_lists_active_tasks_and_counts(demo, tmp_path):
    result = _run("render", demo, "--at", "2025-04-10", "-o", tmp_path / "f.png", "--width", "320",
                  "--height", "240", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"output", "at", "counts", "active", "elements", "linked", "triangles", "backend"}
    assert data["active"] and sum(data["counts"].values()) == data["elements"]
    assert data["backend"] in ("egl", "osmesa")


def test_render_colour_by_criticality(demo, tmp_path):
    result = _run("render", demo, "--at", "2025-04-10", "-o", tmp_path / "c.png", "--width", "320",
                  "--height", "240", "--colour-by", "criticality", "--json")
    assert result.exit_code == 0, result.output
    import imageio.v3 as iio

    img = iio.imread(tmp_path / "c.png").astype(int)
    red = (img[..., 0] > 140) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 100                          # critical elements drawn in the ramp's red


def test_render_colour_by_simulated_probability(demo, tmp_path):
    import imageio.v3 as iio

    early = _run("render", demo, "--at", "2025-03-20", "-o", tmp_path / "p1.png", "--width", "320",
                 "--height", "240", "--colour-by", "probability", "--runs", "20", "--seed", "3")
    late = _run("render", demo, "--at", "2025-07-30", "-o", tmp_path / "p2.png", "--width", "320",
                "--height", "240", "--colour-by", "probability", "--runs", "20", "--seed", "3")
    assert early.exit_code == 0 and late.exit_code == 0, early.output + late.output

    def green_red(name):
        img = iio.imread(tmp_path / name).astype(int)
        green = (img[..., 1] > img[..., 0] + 50) & (img[..., 1] > img[..., 2] + 30)
        red = (img[..., 0] > img[..., 1] + 80) & (img[..., 0] > img[..., 2] + 80)
        return int(green.sum()), int(red.sum())

    (g1, r1), (g2, r2) = green_red("p1.png"), green_red("p2.png")
    assert r1 > g1                  # early on most elements are unlikely to be complete
    assert g2 > 10 * max(r2, 1)     # months after the planned finish all are certainly complete


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_animate_writes_every_frame(demo, tmp_path, suffix):
    import imageio.v3 as iio

    out = tmp_path / f"a{suffix}"
    result = _run("animate", demo, "-o", out, "--step", "14d", "--start", "2025-03-03", "--end", "2025-05-26",
                  "--width", "320", "--height", "240", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["frames"] == 7
    frames = iio.imread(out, index=None, **({"plugin": "pyav"} if False else {}))
    assert frames.shape[0] == 7 and frames.shape[1:3] == (240, 320)
    assert data["first"]["complete"] < data["last"]["complete"]
    assert not list(tmp_path.glob("*.part-*"))


@pytest.mark.parametrize("args,message", [
    (["--at", "next tuesday"], "--at: expected a date"),
    (["--at", "2025-04-10", "--colour-by", "rainbow"], "--colour-by must be one of"),
    (["--at", "2025-04-10", "-o", "x.jpg"], "-o must name a .png"),
    (["--at", "2025-04-10", "--view", "sideways"], "--view must be one of"),
    (["--at", "2025-04-10", "--late-after", "soon"], "--late-after: expected"),
    (["--at", "2025-04-10", "--width", "0"], "--width and --height must be 16..8192"),
    (["--at", "2025-04-10", "--colour-by", "probability", "--runs", "0"], "runs must be >= 1"),
])
def test_bad_render_options_fail_cleanly(demo, tmp_path, args, message):
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "f.png")]
    result = _run("render", demo, *args)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_missing_scenario_fails_cleanly(tmp_path):
    result = _run("render", tmp_path / "nope.toml", "--at", "2025-01-01", "-o", tmp_path / "f.png")
    assert result.exit_code == 1 and "nope.toml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "f.png").exists()


def test_bad_step_fails_cleanly(demo, tmp_path):
    result = _run("animate", demo, "-o", tmp_path / "a.gif", "--step", "often")
    assert result.exit_code == 1 and "step: expected" in result.output
    result = _run("animate", demo, "-o", tmp_path / "a.gif", "--fps", "0")
    assert result.exit_code == 1 and "--fps must be > 0" in result.output
    result = _run("animate", demo, "-o", tmp_path / "a.avi")
    assert result.exit_code == 1 and ".mp4 or .gif" in result.output
    assert not list(tmp_path.iterdir())


def test_osmesa_fallback_renders_the_same_frame_as_egl(demo, tmp_path):
    """The OSMesa backend (in a child process: one backend per process) draws what EGL draws."""
    import os
    import subprocess
    import sys

    import imageio.v3 as iio

    frames = {}
    for backend in ("egl", "osmesa"):
        out = tmp_path / f"{backend}.png"
        env = {**os.environ, "TWIN_VTK_BACKEND": backend}
        env.pop("VTK_DEFAULT_OPENGL_WINDOW", None)
        proc = subprocess.run([sys.executable, "-m", "twin", "render", str(demo), "--at", "2025-04-10", "-o",
                               str(out), "--width", "320", "--height", "240", "--json"],
                              capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["backend"] == backend
        frames[backend] = iio.imread(out).astype(int)
    diff = np.abs(frames["egl"] - frames["osmesa"]).mean()
    assert diff < 3.0, f"mean pixel difference {diff:.2f}"


def test_highlight_from_a_file_naming_global_ids(demo, tmp_path):
    """Any file naming GlobalIds (here a JSON clash list) selects the elements drawn in magenta."""
    import imageio.v3 as iio

    from twin.ifc import load_model

    model = load_model([demo.parent / "demo.ifc"], geometry=False)
    walls = [g for g, e in model.elements.items() if e.ifc_class == "IfcWall"][:6]
    clash = tmp_path / "clashes.json"
    clash.write_text(json.dumps([{"a": walls[i], "b": walls[i + 1], "distance": -0.02} for i in range(0, 6, 2)]))
    out = tmp_path / "h.png"
    result = _run("render", demo, "--at", "2025-05-30", "-o", out, "--width", "320", "--height", "240",
                  "--highlight", f"@{clash}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["highlighted"] == 6
    img = iio.imread(out).astype(int)
    magenta = (img[..., 0] > 150) & (img[..., 2] > 100) & (img[..., 1] < 90)
    assert magenta.sum() > 50


def test_missing_highlight_file_fails_before_loading(demo, tmp_path):
    result = _run("render", demo, "--at", "2025-05-30", "-o", tmp_path / "h.png", "--highlight", "@nope.json")
    assert result.exit_code == 1 and "highlight file not found" in result.output


def test_scenario_appearance_table_changes_the_colours(demo, tmp_path):
    import imageio.v3 as iio

    scen = tmp_path / "blue.toml"
    text = demo.read_text().replace('files = ["demo.ifc"]', f'files = ["{(demo.parent / "demo.ifc").as_posix()}"]')
    scen.write_text(text + '\n[appearance.construct]\nin_progress = "#0000ff"\nnot_started = "hidden"\n')
    out = tmp_path / "b.png"
    result = _run("render", scen, "--at", "2025-04-10", "-o", out, "--width", "320", "--height", "240")
    assert result.exit_code == 0, result.output
    img = iio.imread(out).astype(int)
    blue = (img[..., 2] > 120) & (img[..., 0] < 60) & (img[..., 1] < 60)
    green = (img[..., 1] > img[..., 0] + 60) & (img[..., 1] > img[..., 2] + 60)
    assert blue.sum() > 200 and green.sum() < 20


def test_bad_scenario_appearance_names_the_key(demo, tmp_path):
    scen = tmp_path / "bad.toml"
    text = demo.read_text().replace('files = ["demo.ifc"]', f'files = ["{(demo.parent / "demo.ifc").as_posix()}"]')
    scen.write_text(text + '\n[appearance.construct]\nin_progress = { colour = "#00ff00", opacity = 3 }\n')
    result = _run("render", scen, "--at", "2025-04-10", "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert "appearance.construct.in_progress.opacity" in result.output and "Traceback" not in result.output


def test_render_from_model_schedule_and_link_files(demo, tmp_path):
    """The file route: model .ifc + schedule CSV (from `twin plan`) + link CSV, no scenario."""
    ifc = demo.parent / "demo.ifc"
    planned = _run("plan", ifc, "--strategy", "storey-by-storey", "-o", tmp_path / "s.csv", "--json")
    assert planned.exit_code == 0, planned.output
    links = tmp_path / "s.links.csv"                          # written by `twin plan` beside the schedule
    assert links.exists()
    # any date will do: `twin plan` starts next Monday, and only the links are checked here
    result = _run("render", ifc, tmp_path / "s.csv", "--links", links, "--at", "2026-12-15",
                  "-o", tmp_path / "f.png", "--width", "320", "--height", "240", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["linked"] == out["elements"] > 100


def test_two_schedule_files_are_refused(demo, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("id\n")
    b.write_text("id\n")
    result = _run("render", demo.parent / "demo.ifc", a, b, "--at", "2025-01-01", "-o", tmp_path / "f.png")
    assert result.exit_code == 1 and "more than one schedule file" in result.output


def test_simulated_criticality_index_per_element(demo):
    from twin.scenario import load_scenario, resolve
    from twin.viz.inputs import simulation_values

    res = resolve(load_scenario(demo), geometry=False)
    ids = list(res.model.elements)
    crit = simulation_values(demo, "criticality", res.links.pairs, ids, runs=10, seed=2)
    assert crit.shape == (len(ids),)
    known = crit[~np.isnan(crit)]
    assert len(known) > 0.9 * len(ids)
    assert known.min() >= 0 and known.max() == 1.0          # some element is always on the driving path
    with pytest.raises(Exception, match="'probability' or 'criticality'"):
        simulation_values(demo, "state", res.links.pairs, ids, runs=1)
