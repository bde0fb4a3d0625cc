"""Schedule files in and out: ``read_schedule`` picks the reader, ``write_schedule`` the writer.

Readers (each returns a :class:`twin.schedule.Schedule`):

* P6 XER (``read_xer`` in :mod:`twin.importers.xer`),
* P6 XML ``APIBusinessObjects`` (:func:`twin.importers.p6xml.read_p6xml`),
* MS Project XML / MSPDI (:func:`twin.importers.mspdi.read_mspdi`),
* the documented CSV (:func:`twin.importers.csv.read_csv`),
* IFC work schedules (:func:`twin.ifc.schedule4d_read.read_ifc_schedule`, needs ifcopenshell).

Writers: MSPDI XML (:func:`twin.importers.mspdi_write.write_mspdi`) and CSV
(:func:`twin.importers.csv.write_csv`). Each reader is imported only when used, so importing this
package loads neither ifcopenshell nor an XML parser.
"""
from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from twin.errors import MissingFileError, ScheduleError
from twin.schedule import Schedule

__all__ = ["read_schedule", "write_schedule", "detect_format", "FORMATS", "WRITE_FORMATS"]

FORMATS: tuple[str, ...] = ("xer", "p6xml", "mspdi", "csv", "ifc")
"""Format names ``read_schedule(format=...)`` accepts."""
WRITE_FORMATS: tuple[str, ...] = ("mspdi", "csv")
"""Format names ``write_schedule(format=...)`` accepts."""

_MSP_NS = b"http://schemas.microsoft.com/project"
_LABELS = {"xer": "P6 XER", "p6xml": "P6 XML", "mspdi": "MS Project XML", "csv": "CSV", "ifc": "IFC"}


def detect_format(path: str | os.PathLike[str]) -> str:
    """The schedule format of ``path``, from its first bytes, else its extension.

    Content wins over the extension: ``ERMHDR`` is XER, ``<APIBusinessObjects`` P6 XML, a
    ``<Project>`` in the MS Project namespace MSPDI, ``ISO-10303-21`` IFC; a ``.csv`` (or text whose
    first line has ``id`` and ``duration_days``) CSV.

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    ScheduleError
        The format is none of the above; the message names the file.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(p, "schedule file")
    with p.open("rb") as fh:
        head = fh.read(65536)
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"ERMHDR"):
        return "xer"
    if stripped.startswith(b"ISO-10303-21"):
        return "ifc"
    if stripped.startswith(b"<") or stripped.startswith(b"\xff\xfe") or stripped.startswith(b"\xfe\xff"):
        text = head.decode("utf-16") if head[:2] in (b"\xff\xfe", b"\xfe\xff") else head.decode("latin-1")
        if "<APIBusinessObjects" in text:
            return "p6xml"
        if "<Project" in text and _MSP_NS.decode() in text:
            return "mspdi"
        raise ScheduleError(f"{p}: XML but neither P6 XML (<APIBusinessObjects>) nor MS Project XML "
                            f"(<Project xmlns=\"{_MSP_NS.decode()}\">)")
    ext = p.suffix.lower()
    first_line = stripped.split(b"\n", 1)[0].lower()
    if ext == ".csv" or (b"id" in first_line and b"duration_days" in first_line):
        return "csv"
    raise ScheduleError(f"{p}: unknown schedule format (expected P6 XER or XML, MS Project XML, "
                        "IFC with a work schedule, or CSV)")


def read_schedule(path: str | os.PathLike[str], *, format: str | None = None, **options: Any) -> Schedule:
    """Read any supported schedule file.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`FORMATS`; None detects it (:func:`detect_format`).
    **options
        Passed to the reader (e.g. ``start=`` and ``calendars=`` for CSV, ``project=`` for P6 XML,
        ``schedule=`` for IFC).

    Raises
    ------
    MissingFileError
        ``path`` does not exist.
    ScheduleError
        Unknown format or invalid content (the reader's message names file and line or id).
    """
    p = Path(path)
    fmt = format.lower() if format else detect_format(p)
    if not p.is_file():
        raise MissingFileError(p, "schedule file")
    if fmt == "xer":
        from twin.importers.xer import read_xer as reader
    elif fmt == "p6xml":
        from twin.importers.p6xml import read_p6xml as reader
    elif fmt == "mspdi":
        from twin.importers.mspdi import read_mspdi as reader
    elif fmt == "csv":
        from twin.importers.csv import read_csv as reader
    elif fmt == "ifc":
        from twin.ifc.schedule4d_read import read_ifc_schedule as reader
    else:
        raise ScheduleError(f"{p}: unknown schedule format '{format}' (expected one of {', '.join(FORMATS)})")
    accepted = inspect.signature(reader).parameters
    unknown = [k for k in options if k not in accepted or k == "path"]
    if unknown:
        raise ScheduleError(f"{p}: option(s) {', '.join(unknown)} do not apply to {_LABELS[fmt]} files "
                            f"(they take: {', '.join(k for k in accepted if k != 'path') or 'no options'})")
    return reader(p, **options)


def write_schedule(schedule: Schedule, path: str | os.PathLike[str], *, format: str | None = None) -> list[str]:
    """Write ``schedule`` as MSPDI XML (``.xml``) or CSV (``.csv``), atomically.

    Returns
    -------
    list of str
        What the format cannot hold (one line each); empty for an exact export.

    Raises
    ------
    ScheduleError
        Unknown extension or format, or the folder does not exist.
    """
    p = Path(path)
    fmt = (format or {".xml": "mspdi", ".csv": "csv"}.get(p.suffix.lower(), "")).lower()
    if fmt == "mspdi":
        from twin.importers.mspdi_write import write_mspdi
        return write_mspdi(schedule, p)
    if fmt == "csv":
        from twin.importers.csv import write_csv
        return write_csv(schedule, p)
    raise ScheduleError(f"cannot write '{p}': unknown schedule format "
                        f"'{format or p.suffix}' (use .xml for MS Project XML or .csv)")
