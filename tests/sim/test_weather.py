"""Weather Markov chain: closed forms from validation/cases.json, fitting, validation."""
from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from twin.errors import InputError
from twin.sim.weather import (TEMPERATE, WeatherModel, expected_calendar_days, fit_weather,
                              get_sensitivity, sample_weather, simulate_calendar_days,
                              stationary_wet_fraction)


@pytest.fixture
def case(shared):
    return json.loads((shared / "validation" / "cases.json").read_text())["weather"]


def test_closed_form_matches_the_reference(case):
    ex = case["example"]
    assert expected_calendar_days(ex["D"], ex["p01"], ex["p11"]) == pytest.approx(ex["expected_calendar_days"], abs=0.01)


def test_simulated_calendar_days_match_the_closed_form_within_3_se(case):
    ex = case["example"]
    model = WeatherModel(p01=(ex["p01"],) * 12, p11=(ex["p11"],) * 12)
    days = simulate_calendar_days(model, ex["D"], date(2024, 1, 1), seed=11, runs=40_000)
    se = days.std(ddof=1) / np.sqrt(days.size)
    assert abs(days.mean() - ex["expected_calendar_days"]) < 3 * se


def test_long_run_wet_fraction_is_stationary():
    model = WeatherModel(p01=(0.3,) * 12, p11=(0.6,) * 12)
    wet, windy = sample_weather(model, date(2024, 1, 1), 2000, seed=2, runs=np.arange(50))
    assert wet.mean() == pytest.approx(stationary_wet_fraction(0.3, 0.6), abs=0.01)
    assert not windy.any()


def test_same_date_gets_the_same_weather_from_any_start():
    a, _ = sample_weather(TEMPERATE, date(2024, 3, 1), 60, seed=5, runs=[0, 1, 2])
    b, _ = sample_weather(TEMPERATE, date(2024, 2, 20), 70, seed=5, runs=[0, 1, 2])
    # the chains couple: after a few days they agree exactly
    assert (a[:, 20:] == b[:, 30:]).all()


def test_probability_outside_unit_interval_is_refused_naming_month_and_field():
    p11 = list(TEMPERATE.p11)
    p11[2] = 1.2
    with pytest.raises(InputError, match="p11 for March .* got 1.2"):
        WeatherModel(p01=TEMPERATE.p01, p11=tuple(p11))


def test_fit_recovers_transition_probabilities(tmp_path):
    true = WeatherModel(p01=(0.25,) * 12, p11=(0.7,) * 12, p_wind=(0.1,) * 12)
    wet, windy = sample_weather(true, date(2000, 1, 1), 365 * 80, seed=1, runs=[0])
    lines = ["date,precip_mm,wind_max_ms"]
    for i in range(wet.shape[1]):
        d = date.fromordinal(date(2000, 1, 1).toordinal() + i)
        lines.append(f"{d},{5.0 if wet[0, i] else 0.2},{20 if windy[0, i] else 8}")
    path = tmp_path / "daily.csv"
    path.write_text("\n".join(lines))
    fitted = fit_weather(path)
    assert np.allclose(fitted.p01, 0.25, atol=0.04)
    assert np.allclose(fitted.p11, 0.7, atol=0.05)
    assert np.allclose(fitted.p_wind, 0.1, atol=0.03)
    assert fitted.warnings == ()


def test_fit_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,precip_mm\n2024-01-01,0\n2024-01-02,lots\n")
    with pytest.raises(InputError, match="line 3: precip_mm"):
        fit_weather(path)


def test_fit_keeps_defaults_for_months_without_data(tmp_path):
    path = tmp_path / "jan.csv"
    path.write_text("date,precip_mm\n" + "\n".join(f"2024-01-{d:02d},{d % 3}" for d in range(1, 32)))
    fitted = fit_weather(path)
    assert fitted.p01[5] == TEMPERATE.p01[5]
    assert any(w.startswith("June") for w in fitted.warnings)


@pytest.mark.parametrize("name, attrs, expected", [
    ("Pour level 3 slab concrete", {}, {"rain"}),
    ("Install roofing membrane", {}, {"rain"}),
    ("Steel erection grid A-C", {}, {"wind"}),
    ("Internal partitions", {}, set()),
    ("Anything", {"weather": "rain+wind"}, {"rain", "wind"}),
    ("Pour concrete", {"weather": "none"}, set()),
])
def test_sensitivity_by_type(name, attrs, expected):
    assert get_sensitivity(name, attrs) == frozenset(expected)


def test_documented_default_climate_figures_hold():
    import calendar

    for m in range(12):
        days = calendar.monthrange(2023, m + 1)[1]
        wet = stationary_wet_fraction(TEMPERATE.p01[m], TEMPERATE.p11[m]) * days
        assert 9 <= wet <= 14, m
        assert 2 <= 1 / (1 - TEMPERATE.p11[m]) <= 3
        assert 1 <= TEMPERATE.p_wind[m] * days <= 5
