"""Offscreen OpenGL backend selection for VTK: EGL first, OSMesa as fallback, probed safely.

VTK picks its render window class from ``VTK_DEFAULT_OPENGL_WINDOW`` when the first window is
created. When the chosen backend cannot work (no EGL device, no libOSMesa), VTK does not raise: the
process dies with SIGSEGV (exit 139). So the first time a render is needed, :func:`select_backend`
tries each candidate in a child process (a tiny render), and only a backend that survived is set in
this process. The result is cached for the process; ``TWIN_VTK_BACKEND=egl|osmesa`` forces one
without probing (set it when you know what works).

This module imports neither vtk nor pyvista; it must run before they are imported.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from twin.errors import TwinError

__all__ = ["RenderBackendError", "Backend", "BACKENDS", "probe_backend", "select_backend"]


class RenderBackendError(TwinError, RuntimeError):
    """No offscreen OpenGL backend works on this machine."""


@dataclass(frozen=True, slots=True)
class Backend:
    name: str          # "egl" or "osmesa"
    window_class: str  # the VTK render window class


BACKENDS: tuple[Backend, ...] = (
    Backend("egl", "vtkEGLRenderWindow"),
    Backend("osmesa", "vtkOSOpenGLRenderWindow"),
)

_PROBE = """
import os, sys
os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = sys.argv[1]
import vtk
win = vtk.vtkRenderWindow()
win.SetOffScreenRendering(1)
win.SetSize(8, 8)
ren = vtk.vtkRenderer()
win.AddRenderer(ren)
win.Render()
print(win.GetClassName())
"""

_selected: Backend | None = None

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(cmd: Sequence[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=120)


def probe_backend(backend: Backend, runner: Runner = _run) -> tuple[bool, str]:
    """Try one backend in a child process. Returns (works, detail: class name or failure reason)."""
    try:
        proc = runner([sys.executable, "-c", _PROBE, backend.window_class])
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"could not run the probe: {exc}"
    if proc.returncode == 0 and backend.window_class in proc.stdout:
        return True, proc.stdout.strip()
    if proc.returncode == 0:
        return False, f"VTK created {proc.stdout.strip() or 'nothing'} instead"
    why = "crashed (SIGSEGV)" if proc.returncode in (-11, 139) else f"exit {proc.returncode}"
    last = (proc.stderr or "").strip().splitlines()[-1:] or [""]
    return False, f"{why} {last[0]}".strip()


def select_backend(runner: Runner = _run, *, force: str | None = None) -> Backend:
    """Choose and install (via the environment) a working offscreen backend; cached per process.

    Raises
    ------
    RenderBackendError
        Neither EGL nor OSMesa works; the message lists why each failed and how to fix it.
    """
    global _selected
    if _selected is not None and runner is _run and force is None:
        return _selected
    wanted = force or os.environ.get("TWIN_VTK_BACKEND")
    if wanted:
        match = [b for b in BACKENDS if b.name == wanted.lower()]
        if not match:
            raise RenderBackendError(f"TWIN_VTK_BACKEND must be one of "
                                     f"{', '.join(b.name for b in BACKENDS)}, got '{wanted}'")
        chosen = match[0]
    else:
        failures = []
        chosen = None
        for backend in BACKENDS:
            ok, detail = probe_backend(backend, runner)
            if ok:
                chosen = backend
                break
            failures.append(f"{backend.name}: {detail}")
        if chosen is None:
            raise RenderBackendError(
                "no offscreen OpenGL backend works (" + "; ".join(failures) + "). Install EGL "
                "(Debian: libegl1 libgl1) or OSMesa (Debian: libosmesa6), e.g. with 'make system-deps'"
            )
    os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = chosen.window_class
    if runner is _run:
        _selected = chosen
    return chosen
