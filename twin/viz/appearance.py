"""Appearance profiles: how an element is drawn for its work kind and 4D status (SYNCHRO-like).

A profile says, per :class:`twin.fourd.WorkKind` (construct, demolish, temporary) and per
:class:`twin.fourd.Status` (not started, in progress, complete, late), whether the element is hidden,
ghosted (translucent) or solid, and in which colour; colour ``None`` means the element's own
material-like colour (from its material names, else its IFC class). Profiles are plain frozen
records, loadable from a TOML/dict section so projects can set their own colours.

Pure numpy: :func:`appearance_arrays` turns state vectors into per-element RGB and opacity arrays;
the scene maps those to cells. No pyvista import here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError
from twin.fourd import KINDS, STATUSES, Status, StateVector, WorkKind

__all__ = [
    "RGB",
    "Appearance",
    "KindProfile",
    "AppearanceProfile",
    "DEFAULT_PROFILE",
    "parse_colour",
    "material_colour",
    "material_colours",
    "appearance_arrays",
    "ramp_colours",
    "profile_from_dict",
    "RAMPS",
]

RGB = tuple[float, float, float]
"""Colour as (r, g, b) floats in 0..1."""

_NAMED = {
    "white": "#ffffff", "black": "#000000", "red": "#e31a1c", "green": "#33a02c", "blue": "#1f78b4",
    "yellow": "#ffd92f", "orange": "#ff7f00", "grey": "#9e9e9e", "gray": "#9e9e9e",
    "magenta": "#e7298a", "cyan": "#1fc7d4", "purple": "#6a3d9a", "brown": "#8c5a3c",
}


def parse_colour(value: Any, name: str = "colour") -> RGB:
    """(r, g, b) in 0..1 from ``"#rrggbb"``, a basic colour name, or a 3-sequence (0..1 or 0..255).

    >>> parse_colour("#ff8000")
    (1.0, 0.5019607843137255, 0.0)
    """
    if isinstance(value, str):
        text = _NAMED.get(value.strip().lower(), value.strip())
        if len(text) == 7 and text.startswith("#"):
            try:
                return tuple(int(text[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]
            except ValueError:
                pass
        raise InputError(f"{name}: expected '#rrggbb' or a colour name, got '{value}'")
    try:
        vals = [float(v) for v in value]
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a colour, got {value!r}") from None
    if len(vals) != 3 or min(vals) < 0:
        raise InputError(f"{name}: expected 3 non-negative components, got {value!r}")
    if max(vals) > 1:
        if max(vals) > 255:
            raise InputError(f"{name}: components must be 0..1 or 0..255, got {value!r}")
        vals = [v / 255 for v in vals]
    return tuple(vals)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Appearance:
    """How to draw an element: ``colour`` (None: its material colour) and ``opacity`` (0: hidden).

    ``opacity_from`` (in-progress states): the opacity when the activity starts; it then rises
    linearly to ``opacity`` at its finish (SYNCHRO's transparency ramp). None: constant.
    """

    colour: RGB | None = None
    opacity: float = 1.0
    opacity_from: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.opacity <= 1.0:
            raise InputError(f"opacity must be within 0..1, got {self.opacity}")
        if self.opacity_from is not None and not 0.0 <= self.opacity_from <= 1.0:
            raise InputError(f"opacity_from must be within 0..1, got {self.opacity_from}")

    @property
    def visible(self) -> bool:
        return self.opacity > 0.0


HIDDEN = Appearance(None, 0.0)
MATERIAL = Appearance(None, 1.0)


@dataclass(frozen=True, slots=True)
class KindProfile:
    """Appearance of one work kind in each status."""

    not_started: Appearance
    in_progress: Appearance
    complete: Appearance
    late: Appearance

    def get(self, status: Status) -> Appearance:
        return getattr(self, status.value)


_LATE = Appearance(parse_colour("#e31a1c"), 1.0)


@dataclass(frozen=True, slots=True)
class AppearanceProfile:
    """A full profile set: one :class:`KindProfile` per work kind, plus unlinked elements."""

    construct: KindProfile = KindProfile(
        not_started=Appearance(parse_colour("#b4bcc8"), 0.12),
        in_progress=Appearance(parse_colour("#2fbf4a"), 1.0),
        complete=MATERIAL,
        late=_LATE,
    )
    demolish: KindProfile = KindProfile(
        not_started=MATERIAL,
        in_progress=Appearance(parse_colour("#ff7f00"), 1.0),
        complete=HIDDEN,
        late=_LATE,
    )
    temporary: KindProfile = KindProfile(
        not_started=HIDDEN,
        in_progress=Appearance(parse_colour("#ffd92f"), 0.85),
        complete=HIDDEN,
        late=_LATE,
    )
    unlinked: Appearance = Appearance(parse_colour("#b4bcc8"), 0.12)
    background: RGB = (1.0, 1.0, 1.0)
    labels: Mapping[str, str] = field(default_factory=lambda: {
        "not_started": "Not started (ghost)", "in_progress": "In progress", "complete": "Complete",
        "late": "Late (behind baseline)", "demolish": "Demolition", "temporary": "Temporary works",
    })

    def get(self, kind: WorkKind | None, status: Status) -> Appearance:
        """Appearance of an element of ``kind`` (None: unlinked) in ``status``."""
        if kind is None or status == Status.UNLINKED:
            return self.unlinked
        return getattr(self, kind.value).get(status)

    def table(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
        """Lookup arrays indexed [kind + 1, status] (kind -1 = unlinked).

        Returns rgb (4, 5, 3) float, opacity (4, 5) float, use_material (4, 5) bool and
        opacity_from (4, 5) float (``nan`` where the opacity is constant).
        """
        rgb = np.zeros((len(KINDS) + 1, len(STATUSES), 3))
        opacity = np.zeros((len(KINDS) + 1, len(STATUSES)))
        use_mat = np.zeros((len(KINDS) + 1, len(STATUSES)), dtype=bool)
        ramp = np.full((len(KINDS) + 1, len(STATUSES)), np.nan)
        for ki, kind in enumerate((None, *KINDS)):
            for si, status in enumerate(STATUSES):
                app = self.get(kind, status)
                opacity[ki, si] = app.opacity
                use_mat[ki, si] = app.colour is None
                rgb[ki, si] = app.colour if app.colour is not None else (0, 0, 0)
                if app.opacity_from is not None:
                    ramp[ki, si] = app.opacity_from
        return rgb, opacity, use_mat, ramp

    def legend(self) -> list[tuple[str, RGB]]:
        """Legend entries (label, colour) for the visible, non-material states of this profile."""
        entries = [
            (self.labels["in_progress"], self.construct.in_progress.colour),
            (self.labels["late"], self.construct.late.colour),
            (self.labels["demolish"], self.demolish.in_progress.colour),
            (self.labels["temporary"], self.temporary.in_progress.colour),
            (self.labels["not_started"], self.construct.not_started.colour),
        ]
        return [(label, c) for label, c in entries if c is not None]


DEFAULT_PROFILE = AppearanceProfile()


def appearance_arrays(
    states: StateVector,
    material_rgb: NDArray[np.float64],
    profile: AppearanceProfile = DEFAULT_PROFILE,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-element colour and opacity for a state vector.

    Parameters
    ----------
    states : StateVector of n elements
    material_rgb : ndarray, shape (n, 3), 0..1: each element's material-like colour
    profile : AppearanceProfile

    Returns
    -------
    rgb : ndarray, shape (n, 3), float64 in 0..1
    opacity : ndarray, shape (n,), float64 in 0..1 (0: hidden)
    """
    rgb_t, op_t, mat_t, ramp_t = profile.table()
    k = states.kind.astype(np.intp) + 1
    s = states.status.astype(np.intp)
    rgb = np.where(mat_t[k, s][:, None], material_rgb, rgb_t[k, s])
    opacity = op_t[k, s]
    start = ramp_t[k, s]
    ramped = ~np.isnan(start)
    if ramped.any():
        opacity = np.where(ramped, start + (opacity - np.nan_to_num(start)) * states.progress, opacity)
    return rgb, opacity


RAMPS: dict[str, tuple[tuple[float, str], ...]] = {
    # probability complete by a date: red (unlikely) -> amber -> green (certain)
    "probability": ((0.0, "#d7191c"), (0.5, "#fdae61"), (0.75, "#d9ef8b"), (1.0, "#1a9641")),
    # criticality index: grey (never critical) -> orange -> red (always critical)
    "criticality": ((0.0, "#d0d4da"), (0.5, "#fdae61"), (1.0, "#b2182b")),
}


def ramp_colours(values: NDArray[np.float64], ramp: str = "probability") -> NDArray[np.float64]:
    """Colours for values in 0..1 along a named ramp (linear between stops).

    Returns an (n, 3) float array; ``nan`` values get the ramp's first colour (callers ghost them).
    """
    try:
        stops = RAMPS[ramp]
    except KeyError:
        raise InputError(f"unknown colour ramp '{ramp}', expected one of {sorted(RAMPS)}") from None
    xs = np.array([x for x, _ in stops])
    cs = np.array([parse_colour(c) for _, c in stops])
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=float), nan=0.0), 0.0, 1.0)
    return np.stack([np.interp(v, xs, cs[:, j]) for j in range(3)], axis=1)


# Material-like colours. Material names (lower case substrings) win over the IFC class.
_MATERIAL_WORDS: tuple[tuple[str, str], ...] = (
    ("glass", "#a9cce3"), ("glazing", "#a9cce3"), ("concrete", "#a8a9ad"), ("cement", "#a8a9ad"),
    ("steel", "#6f7f8f"), ("metal", "#8a949e"), ("alumin", "#c0c6cc"), ("timber", "#b07d4f"),
    ("wood", "#b07d4f"), ("brick", "#a65d45"), ("masonry", "#b36b52"), ("block", "#b9b3a9"),
    ("insulation", "#e8d36a"), ("plaster", "#ece6da"), ("gypsum", "#ece6da"), ("tile", "#b5654a"),
    ("stone", "#9d968b"), ("asphalt", "#4a4a4a"), ("soil", "#8b6b4a"), ("earth", "#8b6b4a"),
)
_CLASS_COLOURS: Mapping[str, str] = {
    "IfcWall": "#ddd5c7", "IfcWallStandardCase": "#ddd5c7", "IfcCurtainWall": "#a9cce3",
    "IfcSlab": "#b9babd", "IfcRoof": "#a5563f", "IfcColumn": "#8e9299", "IfcBeam": "#7d8590",
    "IfcMember": "#7d8590", "IfcPlate": "#9aa3ad", "IfcFooting": "#8f8f8f", "IfcPile": "#8f8f8f",
    "IfcStair": "#c9c2b5", "IfcStairFlight": "#c9c2b5", "IfcRamp": "#c9c2b5", "IfcRampFlight": "#c9c2b5",
    "IfcRailing": "#5f6b73", "IfcDoor": "#9c6b43", "IfcWindow": "#a9cce3", "IfcCovering": "#e6e0d4",
    "IfcBuildingElementProxy": "#c8b8a6", "IfcFurnishingElement": "#b08f6a", "IfcFurniture": "#b08f6a",
    "IfcChimney": "#a65d45", "IfcShadingDevice": "#7d8590",
}
_MEP_COLOUR = "#4f8fbf"
_DEFAULT_COLOUR = "#c8c3ba"


def material_colour(ifc_class: str, materials: Sequence[str] = ()) -> RGB:
    """A material-like colour for an element, from its material names, else its IFC class.

    >>> material_colour("IfcSlab", ["Concrete C30/37"]) == parse_colour("#a8a9ad")
    True
    """
    for mat in materials:
        low = (mat or "").lower()
        for word, colour in _MATERIAL_WORDS:
            if word in low:
                return parse_colour(colour)
    if ifc_class in _CLASS_COLOURS:
        return parse_colour(_CLASS_COLOURS[ifc_class])
    if ifc_class.startswith(("IfcFlow", "IfcDistribution", "IfcDuct", "IfcPipe", "IfcCable", "IfcAir")):
        return parse_colour(_MEP_COLOUR)
    return parse_colour(_DEFAULT_COLOUR)


def material_colours(element_ids: Sequence[str], elements: Mapping[str, Any] | None) -> NDArray[np.float64]:
    """(n, 3) material colours for ``element_ids`` (elements missing from ``elements`` get a neutral)."""
    out = np.empty((len(element_ids), 3))
    elements = elements or {}
    for i, gid in enumerate(element_ids):
        el = elements.get(gid)
        out[i] = material_colour(el.ifc_class, el.materials) if el is not None else parse_colour(_DEFAULT_COLOUR)
    return out


def _appearance(value: Any, where: str) -> Appearance:
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "hidden":
            return HIDDEN
        if word == "material":
            return MATERIAL
        return Appearance(parse_colour(value, where), 1.0)
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: expected 'hidden', 'material', a colour or a table, got {value!r}")
    unknown = set(value) - {"colour", "color", "opacity", "opacity_from"}
    if unknown:
        raise InputError(f"{where}: unknown key(s) {sorted(unknown)}; expected colour, opacity, opacity_from")
    raw = value.get("colour", value.get("color"))
    colour = None if raw in (None, "material") else parse_colour(raw, f"{where}.colour")
    try:
        opacity = float(value.get("opacity", 1.0))
    except (TypeError, ValueError):
        raise InputError(f"{where}.opacity: expected a number, got {value.get('opacity')!r}") from None
    if not 0.0 <= opacity <= 1.0:
        raise InputError(f"{where}.opacity: must be within 0..1, got {opacity}")
    ramp = value.get("opacity_from")
    if ramp is not None:
        try:
            ramp = float(ramp)
        except (TypeError, ValueError):
            raise InputError(f"{where}.opacity_from: expected a number, got {ramp!r}") from None
        if not 0.0 <= ramp <= 1.0:
            raise InputError(f"{where}.opacity_from: must be within 0..1, got {ramp}")
    return Appearance(colour, opacity, ramp)


def profile_from_dict(data: Mapping[str, Any], base: AppearanceProfile = DEFAULT_PROFILE,
                      where: str = "appearance") -> AppearanceProfile:
    """A profile from a mapping such as a scenario's ``[appearance]`` TOML table.

    Each kind (construct, demolish, temporary) takes a table of statuses; each status is
    ``"hidden"``, ``"material"``, a colour, or ``{colour = "#rrggbb", opacity = 0.3}``; an in-progress
    table may add ``opacity_from`` (opacity at the start, rising to ``opacity`` at the finish).
    ``unlinked`` takes one such value, ``background`` a colour. Unset entries keep ``base``.

    Examples
    --------
    >>> p = profile_from_dict({"construct": {"not_started": "hidden",
    ...                                      "in_progress": {"colour": "#00ff00", "opacity": 0.8}}})
    >>> p.construct.not_started.visible, p.construct.in_progress.opacity
    (False, 0.8)
    """
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("construct", "demolish", "temporary"):
            if not isinstance(value, Mapping):
                raise InputError(f"{where}.{key}: expected a table of statuses, got {value!r}")
            kp = getattr(base, key)
            sub = {}
            for status, spec in value.items():
                if status not in ("not_started", "in_progress", "complete", "late"):
                    raise InputError(f"{where}.{key}.{status}: unknown status; expected not_started, "
                                     f"in_progress, complete or late")
                sub[status] = _appearance(spec, f"{where}.{key}.{status}")
            changes[key] = replace(kp, **sub)
        elif key == "unlinked":
            changes[key] = _appearance(value, f"{where}.unlinked")
        elif key == "background":
            changes[key] = parse_colour(value, f"{where}.background")
        else:
            raise InputError(f"{where}.{key}: unknown key; expected construct, demolish, temporary, "
                             f"unlinked or background")
    return replace(base, **changes)
