"""Offscreen backend probing: fall back from EGL to OSMesa, clear error when neither works."""
from __future__ import annotations

import subprocess

import pytest

from twin.viz import backend
from twin.viz.backend import BACKENDS, RenderBackendError, probe_backend, select_backend


def fake_runner(results):
    """A runner that answers the probe per window class: (returncode, stdout, stderr)."""
    def run(cmd):
        rc, out, err = results[cmd[-1]]
        return subprocess.CompletedProcess(cmd, rc, out, err)
    return run


def test_egl_is_chosen_when_it_works(monkeypatch):
    monkeypatch.delenv("TWIN_VTK_BACKEND", raising=False)
    runner = fake_runner({"vtkEGLRenderWindow": (0, "vtkEGLRenderWindow\n", "")})
    assert select_backend(runner).name == "egl"


def test_osmesa_is_the_fallback_when_egl_segfaults(monkeypatch):
    monkeypatch.delenv("TWIN_VTK_BACKEND", raising=False)
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    runner = fake_runner({"vtkEGLRenderWindow": (-11, "", "Segmentation fault"),
                          "vtkOSOpenGLRenderWindow": (0, "vtkOSOpenGLRenderWindow\n", "")})
    assert select_backend(runner).name == "osmesa"
    import os
    assert os.environ["VTK_DEFAULT_OPENGL_WINDOW"] == "vtkOSOpenGLRenderWindow"


def test_no_working_backend_gives_a_clear_error(monkeypatch):
    monkeypatch.delenv("TWIN_VTK_BACKEND", raising=False)
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    runner = fake_runner({"vtkEGLRenderWindow": (139, "", "EGL error"),
                          "vtkOSOpenGLRenderWindow": (1, "", "ImportError: libOSMesa.so.8")})
    with pytest.raises(RenderBackendError, match=r"egl: crashed \(SIGSEGV\).*osmesa: exit 1.*libosmesa6"):
        select_backend(runner)


def test_forced_backend_skips_probing_and_bad_name_is_named(monkeypatch):
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    def boom(cmd):
        raise AssertionError("must not probe")
    assert select_backend(boom, force="osmesa").name == "osmesa"
    with pytest.raises(RenderBackendError, match="got 'vulkan'"):
        select_backend(boom, force="vulkan")
    monkeypatch.setenv("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def test_probe_reports_a_substituted_window_class():
    runner = fake_runner({"vtkEGLRenderWindow": (0, "vtkXOpenGLRenderWindow\n", "")})
    ok, detail = probe_backend(BACKENDS[0], runner)
    assert not ok and "vtkXOpenGLRenderWindow" in detail


@pytest.mark.slow
def test_real_probe_finds_a_backend_here():
    ok = [probe_backend(b)[0] for b in BACKENDS]
    assert any(ok), "neither EGL nor OSMesa works on this machine"
