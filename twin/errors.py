"""Exceptions raised by twin: one base class, specific errors that also subclass a built-in.

Every message names the offending file, line, element or activity and says what was expected
and what arrived, so the CLI can print it as is (no traceback) and exit non-zero.
"""
from __future__ import annotations

__all__ = [
    "TwinError",
    "InputError",
    "MissingFileError",
    "IfcReadError",
    "GeometryError",
    "ScheduleError",
    "ScheduleCycleError",
    "ScenarioError",
]


class TwinError(Exception):
    """Base class for errors that twin reports to the user."""


class InputError(TwinError, ValueError):
    """A file or argument the user supplied is malformed or inconsistent."""


class MissingFileError(TwinError, FileNotFoundError):
    """A file the user named does not exist."""

    def __init__(self, path: object, what: str = "file") -> None:
        super().__init__(f"{what} not found: '{path}'")
        self.path = path


class IfcReadError(InputError):
    """An IFC file cannot be read (not IFC, truncated, unknown schema)."""


class GeometryError(TwinError, RuntimeError):
    """Geometry could not be produced at all (per-element failures are collected, not raised)."""


class ScheduleError(InputError):
    """A schedule file or schedule logic is invalid."""


class ScheduleCycleError(ScheduleError):
    """Relationships form a loop; ``cycle`` lists the activity ids in the loop, in order."""

    def __init__(self, cycle: list[str]) -> None:
        shown = " -> ".join([*cycle, cycle[0]]) if cycle else "?"
        super().__init__(f"logic loop between activities: {shown}")
        self.cycle = list(cycle)


class ScenarioError(InputError):
    """A scenario file is invalid; the message names the field."""
