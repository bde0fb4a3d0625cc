"""Frame dates, steps, captions and animation writing (pure parts and a small real animation)."""
from __future__ import annotations

from datetime import datetime as dt, timedelta

import numpy as np
import pytest

from twin.errors import InputError
from twin.fourd import TaskWindow
from twin.viz.frames import _even, describe_active, frame_dates, parse_step


@pytest.mark.parametrize("text,expected", [
    ("7d", timedelta(days=7)), ("1w", timedelta(weeks=1)), ("12h", timedelta(hours=12)),
    ("1d12h", timedelta(days=1, hours=12)), ("30m", timedelta(minutes=30)), (" 2W ", timedelta(weeks=2)),
])
def test_steps_parse(text, expected):
    assert parse_step(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7x", "0d", "7d garbage"])
def test_bad_steps_are_rejected_with_the_text(text):
    with pytest.raises(InputError, match="step"):
        parse_step(text)


def test_frame_dates_include_both_ends():
    got = frame_dates(dt(2025, 1, 1), dt(2025, 1, 20), timedelta(weeks=1))
    assert got == [dt(2025, 1, 1), dt(2025, 1, 8), dt(2025, 1, 15), dt(2025, 1, 20)]
    assert frame_dates(dt(2025, 1, 1), dt(2025, 1, 1), timedelta(days=1)) == [dt(2025, 1, 1)]


def test_frame_dates_refuse_reversed_ranges_and_too_many_frames():
    with pytest.raises(InputError, match="before start"):
        frame_dates(dt(2025, 2, 1), dt(2025, 1, 1), timedelta(days=1))
    with pytest.raises(InputError, match="use a larger step"):
        frame_dates(dt(2025, 1, 1), dt(2040, 1, 1), timedelta(hours=1))


def test_active_task_captions_show_progress_and_are_truncated():
    wins = [TaskWindow(f"A{i}", dt(2025, 1, 1), dt(2025, 1, 5), name="x" * (70 if i == 0 else 5))
            for i in range(10)]
    lines = describe_active(wins, dt(2025, 1, 2), limit=8, width=60)
    assert len(lines) == 9 and lines[-1] == "... and 2 more"
    assert lines[0].endswith("(25%)") and "\u2026" in lines[0] and len(lines[0]) < 80


def test_frames_are_padded_to_even_sizes_for_h264():
    assert _even(np.zeros((241, 321, 3), np.uint8)).shape == (242, 322, 3)
    assert _even(np.zeros((240, 320, 3), np.uint8)).shape == (240, 320, 3)


@pytest.mark.slow
def test_odd_sized_mp4_is_written(tmp_path, boxes):
    pytest.importorskip("pyvista")
    import imageio.v3 as iio

    from twin.viz.frames import FourDView, animate
    from twin.viz.scene import Scene4D

    meshes, elements, windows, links = boxes.box_building()
    with Scene4D(meshes, elements, window_size=(161, 121)) as scene:
        view = FourDView(scene, windows, links)
        infos = animate(view, frame_dates(dt(2025, 3, 1), dt(2025, 3, 25), timedelta(days=8)),
                        tmp_path / "odd.mp4", fps=2)
    frames = iio.imread(tmp_path / "odd.mp4", index=None)
    assert frames.shape[0] == len(infos) == 4 and frames.shape[1:3] == (122, 162)
    with pytest.raises(InputError, match=r"\.mp4 or \.gif"):
        animate(view, [dt(2025, 3, 1)], tmp_path / "x.avi")


def test_png_bytes_round_trip():
    import imageio.v3 as iio

    from twin.viz.frames import png_bytes

    img = np.zeros((4, 6, 3), np.uint8)
    img[1, 2] = (255, 0, 10)
    data = png_bytes(img)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (iio.imread(data) == img).all()
