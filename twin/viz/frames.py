"""4D frames and animations: a scene shown at dates, captioned, saved as PNG, MP4 or GIF.

:class:`FourDView` ties a :class:`~twin.viz.scene.Scene4D` to activity windows and links (through a
:class:`twin.fourd.StateTimeline`) so that showing a date is: element states (numpy), colours into
the scene's arrays, caption text. :func:`render_frame` writes one PNG; :func:`animate` writes an
MP4 (imageio-ffmpeg, H.264) or a GIF (Pillow) over a list of dates, streaming frames (constant
memory). Files are written to a temporary name beside the target and renamed at the end, so a failed
run leaves nothing half-written.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.atomic import atomic_path
from twin.errors import InputError
from twin.fourd import StateTimeline, StateVector, TaskWindow, build_timeline, get_active_tasks
from twin.viz.scene import Scene4D, write_png

__all__ = [
    "COLOUR_MODES",
    "FourDView",
    "FrameInfo",
    "parse_step",
    "frame_dates",
    "describe_active",
    "render_frame",
    "png_bytes",
    "animate",
]

COLOUR_MODES = ("state", "probability", "criticality")

ValueSource = NDArray[np.float64] | Callable[[datetime], NDArray[np.float64]]


def parse_step(text: str) -> timedelta:
    """A time step from text such as ``7d``, ``1w``, ``12h``, ``1d12h`` or ``30m``.

    >>> parse_step("1w2d")
    datetime.timedelta(days=9)
    """
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
    cleaned = text.strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([wdhm])", cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise InputError(f"step: expected e.g. '7d', '1w', '12h' or '1d12h', got '{text}'")
    step = timedelta(**{units[u]: 0 for u in units})
    for number, unit in parts:
        step += timedelta(**{units[unit]: float(number)})
    if step <= timedelta(0):
        raise InputError(f"step must be positive, got '{text}'")
    return step


def frame_dates(start: datetime, end: datetime, step: timedelta, *, limit: int = 5000) -> list[datetime]:
    """Dates from ``start`` to ``end`` inclusive every ``step`` (``end`` appended if not on a step)."""
    if end < start:
        raise InputError(f"end {end:%Y-%m-%d} is before start {start:%Y-%m-%d}")
    count = int((end - start) / step) + 1
    if count > limit:
        raise InputError(f"{count} frames from {start:%Y-%m-%d} to {end:%Y-%m-%d} every {step}; "
                         f"the limit is {limit}: use a larger step")
    dates = [start + i * step for i in range(count)]
    if dates[-1] < end:
        dates.append(end)
    return dates


def describe_active(active: Sequence[TaskWindow], at: datetime, limit: int = 8, width: int = 60) -> list[str]:
    """Caption lines for the activities under way: ``id  name  (NN%)``, at most ``limit`` lines."""
    lines = []
    for win in active[:limit]:
        span = (win.effective_finish - win.effective_start).total_seconds()
        done = (at - win.effective_start).total_seconds() / span if span > 0 else 1.0
        name = win.name if len(win.name) <= width else win.name[: width - 1] + "\u2026"
        lines.append(f"{win.activity_id}  {name}  ({min(max(done, 0.0), 1.0):.0%})")
    if len(active) > limit:
        lines.append(f"... and {len(active) - limit} more")
    return lines


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What one frame showed: date, element counts per status, active activity ids, file."""

    at: datetime
    counts: Mapping[str, int]
    active: tuple[str, ...]
    path: str | None = None


class FourDView:
    """A scene driven by dates: ``view.show(date)`` recolours and recaptions it.

    Parameters
    ----------
    scene : Scene4D
    windows : activity id -> TaskWindow (:func:`twin.fourd.task_windows`)
    links : (activity id, element GlobalId) pairs
    title : project name shown in the caption
    late_after : tolerance before an element behind its baseline is drawn as late
    """

    def __init__(self, scene: Scene4D, windows: Mapping[str, TaskWindow],
                 links: Iterable[tuple[str, str]], *, title: str = "",
                 late_after: timedelta = timedelta(0)) -> None:
        self.scene = scene
        self.late_after = late_after
        self.windows = dict(windows)
        self.timeline: StateTimeline = build_timeline(self.windows, links, scene.element_ids)
        self.title = title
        self.n_linked = int(np.count_nonzero(~np.all(np.isnan(self.timeline.start), axis=0)))

    def show(self, at: datetime, colour_by: str = "state", values: ValueSource | None = None) -> FrameInfo:
        """Show the model at ``at``.

        ``colour_by``: "state" (appearance profile), "probability" (``values``: per-element
        probability of being complete by ``at``, array (n,) or a callable of the date) or
        "criticality" (``values``: per-element criticality index 0..1).
        """
        if colour_by not in COLOUR_MODES:
            raise InputError(f"colour-by must be one of {', '.join(COLOUR_MODES)}, got '{colour_by}'")
        states = self.timeline.state_at(at, self.late_after)
        if colour_by == "state":
            self.scene.show_states(states)
        else:
            if values is None:
                raise InputError(f"colour-by {colour_by} needs per-element values "
                                 f"(simulation or CPM results)")
            arr = values(at) if callable(values) else values
            label = "P(complete)" if colour_by == "probability" else "Criticality"
            self.scene.show_values(arr, colour_by, label)
        active = get_active_tasks(self.windows, at)
        lines = describe_active(active, at)
        self.scene.set_caption(self._title(at), self._subtitle(states, active),
                               ["Under way:", *lines] if lines else [])
        span = self.timeline.span
        if span is not None and span[1] > span[0]:
            self.scene.set_time_bar((at - span[0]) / (span[1] - span[0]))
        return FrameInfo(at, states.count(), tuple(w.activity_id for w in active))

    def _title(self, at: datetime) -> str:
        when = at.strftime("%a %d %b %Y") + ("" if at.hour == 0 and at.minute == 0 else at.strftime(" %H:%M"))
        return f"{self.title}  |  {when}" if self.title else when

    def _subtitle(self, states: StateVector, active: Sequence[TaskWindow]) -> str:
        c = states.count()
        done = c["complete"]
        parts = [f"{done}/{self.n_linked} elements complete", f"{c['in_progress']} in progress"]
        if c["late"]:
            parts.append(f"{c['late']} late")
        parts.append(f"{len(active)} {'activity' if len(active) == 1 else 'activities'} under way")
        return "  |  ".join(parts)

    def render(self, at: datetime, colour_by: str = "state", values: ValueSource | None = None
               ) -> tuple[NDArray[np.uint8], FrameInfo]:
        info = self.show(at, colour_by, values)
        return self.scene.render(), info


def render_frame(view: FourDView, at: datetime, path: str | os.PathLike, *, colour_by: str = "state",
                 values: ValueSource | None = None) -> FrameInfo:
    """Render the view at ``at`` into a PNG at ``path`` (written atomically)."""
    image, info = view.render(at, colour_by, values)
    write_png(image, path)
    return FrameInfo(info.at, info.counts, info.active, os.fspath(path))


def png_bytes(image: NDArray[np.uint8]) -> bytes:
    """Encode a rendered image (h, w, 3) as PNG bytes, e.g. for ``st.image`` or an HTTP response."""
    import imageio.v3 as iio

    return iio.imwrite("<bytes>", image, extension=".png")


def _even(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Pad to even width and height (H.264 needs them)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def animate(view: FourDView, dates: Sequence[datetime], path: str | os.PathLike, *, fps: float = 4.0,
            colour_by: str = "state", values: ValueSource | None = None,
            on_frame: Callable[[int, FrameInfo], None] | None = None) -> list[FrameInfo]:
    """Write an animation of the view over ``dates`` to ``path`` (.mp4 or .gif).

    Parameters
    ----------
    fps : frames per second of the output
    on_frame : called after each frame with (index, FrameInfo), e.g. to advance a progress bar

    Returns
    -------
    list of FrameInfo, one per date.
    """
    import imageio.v2 as imageio

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".mp4", ".gif"):
        raise InputError(f"animation output must end in .mp4 or .gif, got '{path}'")
    if not dates:
        raise InputError("no dates to animate")
    if fps <= 0:
        raise InputError(f"fps must be > 0, got {fps}")
    infos: list[FrameInfo] = []
    with atomic_path(path, suffix=ext) as tmp:
        if ext == ".mp4":
            writer = imageio.get_writer(str(tmp), format="FFMPEG", fps=fps, codec="libx264", quality=7,
                                        pixelformat="yuv420p", macro_block_size=1, ffmpeg_log_level="error")
        else:
            writer = imageio.get_writer(str(tmp), format="GIF", mode="I", duration=1000.0 / fps, loop=0)
        with writer:
            for i, at in enumerate(dates):
                image, info = view.render(at, colour_by, values)
                writer.append_data(_even(image) if ext == ".mp4" else image)
                infos.append(info)
                if on_frame is not None:
                    on_frame(i, info)
    return infos
