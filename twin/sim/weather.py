"""Weather: a daily dry/wet Markov chain with monthly parameters, windy days, fitting from a CSV.

Model
-----
Each calendar day is wet or dry. Given yesterday's state, today is wet with probability ``p01[m]``
after a dry day and ``p11[m]`` after a wet one, ``m`` being today's month (0 = January). Independently,
a day is windy (too windy for crane lifts) with probability ``p_wind[m]``. Closed forms used by the
tests (``validation/cases.json``, "weather"): stationary wet fraction p01 / (1 - p11 + p01), mean wet
spell 1 / (1 - p11), and the expected calendar days needed for D workable (dry) days starting on a dry
day: D + (D - 1) p01 / (1 - p11).

Which work stops: :func:`get_sensitivity` reads an activity's ``attributes["weather"]`` ("rain",
"wind", "rain+wind" or "none") when present, else its name and trade: concrete pours, roofing,
external finishes and earthworks stop on wet days; crane lifts and steel or precast erection stop on
windy days. Wet days are those with more than ``wet_mm`` (1 mm) of precipitation, windy days those
whose maximum wind reaches ``wind_ms`` (15 m/s).

Defaults (:data:`TEMPERATE`): a temperate maritime climate, roughly southern England: 9 to 14 wet
days a month (more in winter), wet spells of 2 to 3 days, 2 to 5 windy days a month in winter and about
1 in summer. They are round figures for planning, not a fit: fit your site's own with
:func:`fit_weather` from a daily CSV (``date,precip_mm[,wind_max_ms]``).

Randomness: day ``d``'s uniforms are keyed by its date (``streams`` purpose "weather"), so two
scenarios starting on different dates see the same weather on the same date.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from twin.errors import InputError, MissingFileError
from twin.sim.streams import stream_keys, uniform_matrix

__all__ = [
    "MONTHS",
    "WeatherModel",
    "TEMPERATE",
    "validate_weather",
    "sample_weather",
    "fit_weather",
    "get_sensitivity",
    "stationary_wet_fraction",
    "expected_calendar_days",
    "simulate_calendar_days",
]

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

RAIN_WORDS = ("concrete", "pour", "roof", "screed", "asphalt", "paving", "surfacing", "earthwork",
              "excavat", "backfill", "waterproof", "external paint", "render", "cladding", "topsoil")
WIND_WORDS = ("crane", "lift", "steel erection", "erect steel", "precast", "erection", "curtain wall",
              "glazing install")


@dataclass(frozen=True, slots=True)
class WeatherModel:
    """Monthly daily-weather parameters (12 values each, January first).

    Attributes
    ----------
    p01 : probability that a day is wet after a dry day, per month.
    p11 : probability that a day is wet after a wet day, per month.
    p_wind : probability that a day is too windy for crane lifts, per month.
    wet_mm, wind_ms : thresholds that define a wet day (precipitation > wet_mm) and a windy day
        (maximum wind >= wind_ms), as used by :func:`fit_weather`.
    name : where the parameters come from.
    """

    p01: tuple[float, ...]
    p11: tuple[float, ...]
    p_wind: tuple[float, ...] = (0.0,) * 12
    wet_mm: float = 1.0
    wind_ms: float = 15.0
    name: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        validate_weather(self)


def validate_weather(w: WeatherModel, source: str = "weather") -> None:
    """Raise :class:`InputError` naming the month and field of any probability outside [0, 1]."""
    for fname in ("p01", "p11", "p_wind"):
        vals = getattr(w, fname)
        if len(vals) != 12:
            raise InputError(f"{source}: {fname} needs 12 monthly values, got {len(vals)}")
        for month, v in zip(MONTHS, vals):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 1.0):
                raise InputError(f"{source}: {fname} for {month} must be a probability in [0, 1], got {v!r}")


TEMPERATE = WeatherModel(
    p01=(0.32, 0.28, 0.27, 0.25, 0.24, 0.22, 0.21, 0.23, 0.24, 0.30, 0.33, 0.32),
    p11=(0.60, 0.57, 0.55, 0.52, 0.52, 0.50, 0.50, 0.52, 0.54, 0.58, 0.61, 0.61),
    p_wind=(0.15, 0.13, 0.11, 0.07, 0.05, 0.04, 0.04, 0.04, 0.06, 0.09, 0.12, 0.15),
    name="temperate maritime defaults (round planning figures, not a fit)",
)
"""Documented default climate (see the module docstring)."""


def stationary_wet_fraction(p01: float, p11: float) -> float:
    """Long-run fraction of wet days: p01 / (1 - p11 + p01)."""
    return p01 / (1.0 - p11 + p01)


def expected_calendar_days(workable_days: int, p01: float, p11: float) -> float:
    """Expected calendar days to get ``workable_days`` dry days, starting on a dry day (closed form)."""
    return workable_days + (workable_days - 1) * p01 / (1.0 - p11)


def sample_weather(
    model: WeatherModel, start: date, n_days: int, seed: int, runs: Sequence[int] | NDArray[np.int64],
    start_state: str = "stationary",
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Daily weather for replications ``runs`` from ``start`` for ``n_days`` calendar days.

    Parameters
    ----------
    start_state : "stationary" (day 0 wet with the month's stationary probability), "dry" or "wet".

    Returns
    -------
    wet, windy : bool arrays, shape (len(runs), n_days)
    """
    runs = np.asarray(runs, dtype=np.int64)
    keys, months = _day_keys(seed, start, n_days)
    p01 = np.asarray(model.p01)[months]
    p11 = np.asarray(model.p11)[months]
    u_rain = uniform_matrix(keys, runs, sub=0)
    windy = uniform_matrix(keys, runs, sub=1) < np.asarray(model.p_wind)[months][None, :]
    wet = np.zeros((len(runs), n_days), dtype=bool)
    if n_days == 0:
        return wet, windy
    if start_state == "stationary":
        pi = p01[0] / (1.0 - p11[0] + p01[0]) if (1.0 - p11[0] + p01[0]) > 0 else 0.0
        wet[:, 0] = u_rain[:, 0] < pi
    elif start_state in ("dry", "wet"):
        wet[:, 0] = start_state == "wet"
    else:
        raise InputError(f"weather start_state must be 'stationary', 'dry' or 'wet', got '{start_state}'")
    if len(runs) <= 4:  # a plain loop over Python floats is ~100x faster than numpy on tiny rows
        p01_l, p11_l = p01.tolist(), p11.tolist()
        for r in range(len(runs)):
            u = u_rain[r].tolist()
            row = [bool(wet[r, 0])] * n_days
            for d in range(1, n_days):
                row[d] = u[d] < (p11_l[d] if row[d - 1] else p01_l[d])
            wet[r] = row
        return wet, windy
    for d in range(1, n_days):
        wet[:, d] = np.where(wet[:, d - 1], u_rain[:, d] < p11[d], u_rain[:, d] < p01[d])
    return wet, windy


@lru_cache(maxsize=16)
def _day_keys(seed: int, start: date, n_days: int) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    days = [start + timedelta(days=i) for i in range(n_days)]
    keys = stream_keys(seed, "weather", [d.isoformat() for d in days])
    months = np.fromiter((d.month - 1 for d in days), dtype=np.int64, count=n_days)
    keys.setflags(write=False)
    months.setflags(write=False)
    return keys, months


def simulate_calendar_days(
    model: WeatherModel, workable_days: int, start: date, seed: int, runs: int
) -> NDArray[np.int64]:
    """Calendar days needed for ``workable_days`` dry days, starting dry, per replication (Monte Carlo)."""
    horizon = int(workable_days * 6 + 60)
    wet, _ = sample_weather(model, start, horizon, seed, np.arange(runs), start_state="dry")
    dry_count = np.cumsum(~wet, axis=1)
    reached = dry_count >= workable_days
    if not reached[:, -1].all():
        raise InputError(f"weather too wet: {workable_days} dry days not reached in {horizon} days")
    return reached.argmax(axis=1) + 1


def _parse_float(text: str, path: Path, line: int, column: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{path}, line {line}: {column} must be a number, got '{text}'") from None
    if not math.isfinite(v) or v < 0:
        raise InputError(f"{path}, line {line}: {column} must be a finite number >= 0, got '{text}'")
    return v


def _read_daily(path: Path) -> dict[date, tuple[float, float | None]]:
    if not path.exists():
        raise MissingFileError(path, "weather CSV")
    rows: dict[date, tuple[float, float | None]] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        if "date" not in fields or "precip_mm" not in fields:
            raise InputError(f"{path}: weather CSV needs columns 'date' and 'precip_mm' "
                             f"(optional 'wind_max_ms'), got {fields}")
        reader.fieldnames = fields
        for line, row in enumerate(reader, start=2):
            text = (row.get("date") or "").strip()
            try:
                day = datetime.fromisoformat(text).date()
            except ValueError:
                raise InputError(f"{path}, line {line}: date must be YYYY-MM-DD, got '{text}'") from None
            precip = _parse_float((row.get("precip_mm") or "").strip(), path, line, "precip_mm")
            wind_text = (row.get("wind_max_ms") or "").strip()
            wind = _parse_float(wind_text, path, line, "wind_max_ms") if wind_text else None
            if day in rows:
                raise InputError(f"{path}, line {line}: date {day} appears twice")
            rows[day] = (precip, wind)
    if len(rows) < 2:
        raise InputError(f"{path}: need at least two days of weather, got {len(rows)}")
    return rows


def fit_weather(
    csv_path: str | Path, wet_mm: float = 1.0, wind_ms: float = 15.0, fallback: WeatherModel = TEMPERATE
) -> WeatherModel:
    """Fit monthly p01, p11 (and p_wind) to a daily weather CSV.

    The CSV has a header and columns ``date`` (YYYY-MM-DD), ``precip_mm`` and optionally
    ``wind_max_ms``. A day is wet when precip_mm > ``wet_mm`` and windy when wind_max_ms >= ``wind_ms``.
    Transitions count pairs of consecutive dates (gaps are skipped) and go to the month of the later
    day. A month with no dry (or no wet) day to leave from, or no wind data, keeps ``fallback``'s
    value, with a note in ``warnings``.

    Raises
    ------
    MissingFileError, InputError (naming the line and column of a bad value)
    """
    path = Path(csv_path)
    rows = _read_daily(path)
    n01 = np.zeros(12); n0 = np.zeros(12); n11 = np.zeros(12); n1 = np.zeros(12)
    nw = np.zeros(12); nwd = np.zeros(12)
    for day, (precip, wind) in rows.items():
        m = day.month - 1
        if wind is not None:
            nwd[m] += 1
            nw[m] += wind >= wind_ms
        prev = rows.get(day - timedelta(days=1))
        if prev is None:
            continue
        wet_today = precip > wet_mm
        if prev[0] > wet_mm:
            n1[m] += 1
            n11[m] += wet_today
        else:
            n0[m] += 1
            n01[m] += wet_today
    warnings: list[str] = []

    def pick(num: NDArray, den: NDArray, default: Sequence[float], what: str) -> tuple[float, ...]:
        out = []
        for m in range(12):
            if den[m] > 0:
                out.append(float(num[m] / den[m]))
            else:
                out.append(float(default[m]))
                warnings.append(f"{MONTHS[m]}: no data for {what}, kept the default {default[m]}")
        return tuple(out)

    return WeatherModel(
        p01=pick(n01, n0, fallback.p01, "p01"),
        p11=pick(n11, n1, fallback.p11, "p11"),
        p_wind=pick(nw, nwd, fallback.p_wind, "p_wind"),
        wet_mm=wet_mm,
        wind_ms=wind_ms,
        name=f"fitted to {path.name} ({len(rows)} days)",
        warnings=tuple(warnings),
    )


def weather_from_mapping(data: Mapping[str, Any], source: str = "weather") -> WeatherModel:
    """Build a :class:`WeatherModel` from a scenario table (keys p01, p11, p_wind: 12 values or one)."""
    def twelve(key: str, default: tuple[float, ...]) -> tuple[float, ...]:
        v = data.get(key, default)
        if isinstance(v, (int, float)):
            return (float(v),) * 12
        return tuple(float(x) if isinstance(x, (int, float)) else x for x in v)  # type: ignore[misc]

    return WeatherModel(twelve("p01", TEMPERATE.p01), twelve("p11", TEMPERATE.p11),
                        twelve("p_wind", TEMPERATE.p_wind), name=str(data.get("name", source)))


def get_sensitivity(name: str, attributes: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Which weather stops an activity: a subset of {"rain", "wind"} (see the module docstring)."""
    attributes = attributes or {}
    explicit = attributes.get("weather")
    if explicit is not None:
        text = str(explicit).lower()
        if text in ("", "none", "no"):
            return frozenset()
        parts = {p.strip() for p in text.replace(",", "+").split("+")}
        bad = parts - {"rain", "wind"}
        if bad:
            raise InputError(f"weather sensitivity must be 'rain', 'wind', 'rain+wind' or 'none', got '{explicit}'")
        return frozenset(parts)
    text = f"{name} {attributes.get('trade', '')}".lower()
    out = set()
    if any(w in text for w in RAIN_WORDS):
        out.add("rain")
    if any(w in text for w in WIND_WORDS):
        out.add("wind")
    return frozenset(out)
