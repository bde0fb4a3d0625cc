"""``twin app``: start the Streamlit app (``streamlit run`` on the packaged entry ``twin_app/main.py``).

The entry is found next to the installed ``twin_app`` package, so the command works from a source
tree and from an installed copy alike. ``--scenario FILE`` opens that scenario instead of the bundled
demo (passed to the app as ``$TWIN_APP_SCENARIO``). The command replaces itself with Streamlit and
runs until Ctrl-C.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from twin.cli._common import app, err_console, handle_errors, print_json
from twin.errors import InputError, MissingFileError


def app_entry() -> Path:
    """Path of the app's entry script ``twin_app/main.py`` in the installed ``twin_app`` package."""
    spec = importlib.util.find_spec("twin_app")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the app package twin_app is not installed: run 'make install' (pip install -e .)")
    entry = Path(list(spec.submodule_search_locations)[0]) / "main.py"
    if not entry.is_file():
        raise MissingFileError(entry, "app entry script")
    return entry


def streamlit_command(entry: Path, port: int, *, host: str | None = None, headless: bool = True) -> list[str]:
    """The ``python -m streamlit run`` command line for the app."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.headless", "true" if headless else "false"]
    if host:
        cmd += ["--server.address", host]
    return cmd


@app.command("app")
@handle_errors
def app_command(
    port: Annotated[int, typer.Option("--port", help="Port of the web server.")] = 8501,
    scenario: Annotated[Optional[Path], typer.Option("--scenario", help="Open this scenario file "
                                                     "(default: the bundled demo building).")] = None,
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (default: Streamlit's).")] = None,
    headless: Annotated[bool, typer.Option("--headless/--browser", help="Do not open a browser window.")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the inputs and print the command, do not start.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the URL and command as JSON first.")] = False,
) -> None:
    """Start the Streamlit app (project, model, schedule, 4D, clashes, simulation, digital twin)."""
    if not 1 <= port <= 65535:
        raise InputError(f"--port must be within 1..65535, got {port}")
    env = dict(os.environ)
    if scenario is not None:
        from twin.scenario import load_scenario

        load_scenario(scenario)                      # refuse a bad scenario here, with its message
        env["TWIN_APP_SCENARIO"] = str(scenario.resolve())
    entry = app_entry()
    cmd = streamlit_command(entry, port, host=host, headless=headless)
    url = f"http://{host or 'localhost'}:{port}"
    info = {"url": url, "entry": str(entry), "scenario": str(scenario.resolve()) if scenario else None, "command": cmd}
    if json_out:
        print_json(info)
    else:
        err_console.print(f"twin app on {url} (Ctrl-C to stop)")
    if dry_run:
        return
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)
