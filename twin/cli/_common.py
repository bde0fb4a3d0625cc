"""Shared pieces of the CLI: the typer app, JSON output, error handling, progress bars."""
from __future__ import annotations

import functools
import json
import math
import sys
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from twin.errors import TwinError

app = typer.Typer(
    name="twin",
    help="BIM-linked 4D construction simulation and digital twins.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat(timespec="minutes" if obj.second == 0 else "seconds")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _clean(obj: Any) -> Any:
    """Replace NaN/inf floats by None so the output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def dumps(data: Any) -> str:
    """Serialise a result for ``--json``: ISO date-times, strict JSON, stable key order."""
    return json.dumps(_clean(data), default=_default, indent=2, allow_nan=False)


def print_json(data: Any) -> None:
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> None:
    """Print a user-facing error and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(func: F) -> F:
    """Decorator for commands: TwinError (and OSError on user files) becomes one line and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except TwinError as exc:
            fail(str(exc))
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            fail(f"{exc.strerror or exc}: '{exc.filename}'")

    return wrapper  # type: ignore[return-value]


def progress_bar(transient: bool = True):
    """A rich progress bar on stderr (so that ``--json`` output on stdout stays clean)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    )


def main() -> None:
    """Console-script entry point."""
    app()


@app.command("version")
def version_command(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print twin's version and the versions of the engines it drives."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import twin

    info: dict[str, Any] = {"twin": twin.__version__, "python": platform.python_version()}
    for pkg in ("ifcopenshell", "numpy", "simpy", "pyvista", "streamlit"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = None
    if json_out:
        print_json(info)
    else:
        for k, v in info.items():
            console.print(f"{k:>12}  {v}")
