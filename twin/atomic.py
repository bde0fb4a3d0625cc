"""Atomic file writes: the one place for the "temp file beside the target, then rename" rule.

Every output the toolkit writes (reports, CSVs, IFC files, PNG/MP4/PDF pictures, caches, uploads)
goes through a temporary file in the target's own folder that is ``os.replace``d onto the target only
when writing finished, and removed on any failure, so an interrupted or failed run never leaves a
half-written file and never damages the previous one.

``atomic_path`` is for writers that take a file name (ifcopenshell ``file.write``, imageio, kaleido,
Chromium); ``atomic_write`` writes bytes or text. Pure standard library.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "atomic_write"]

# The umask, read once: files get the mode a plain ``open(path, "w")`` would give them, not the
# 0600 of ``mkstemp``.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a unique temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path
        The target file. Its folder must exist (``FileNotFoundError`` otherwise).
    suffix
        Ending of the temporary name; keep the target's extension when the writer picks its format
        from it (``".ifc"``, ``".png"``, ``".mp4"``).

    Yields
    ------
    Path
        An existing, empty file ``.<name>.<random><suffix>`` in the target's folder.

    On any exception (including ``KeyboardInterrupt``) the temporary file is removed and the exception
    re-raised; the target is then untouched.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    tmp = Path(name)
    try:
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8",
                 newline: str | None = None, suffix: str = ".tmp") -> Path:
    """Write ``data`` (bytes, or text with ``encoding`` and ``newline`` as in ``open``) atomically.

    Returns the target path.
    """
    target = Path(path)
    with atomic_path(target, suffix=suffix) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            with open(tmp, "w", encoding=encoding, newline=newline) as fh:
                fh.write(data)
    return target
