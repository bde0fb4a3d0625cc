"""The construction simulator: crews, cranes and weather as a SimPy model, run as a Monte Carlo.

Inputs are plain records (:class:`SimConfig`, :class:`ResourcePool`, :class:`Demand`,
:class:`WeatherModel`, :class:`Uncertainty`, :class:`RiskEvent`); a scenario file or a bare schedule
maps onto them (:func:`load_config`). :func:`run_monte_carlo` returns a :class:`MonteCarloResult`;
:func:`summarise` and :func:`compare_results` turn results into the figures people read.
See ``docs/simulation.md``.

Importing this package does not import SimPy; the engine does, when it runs.
"""
from __future__ import annotations

from twin.sim.compare import compare_results, paired_difference
from twin.sim.config import RiskEvent, SimConfig, Uncertainty, sample_durations, validate_config
from twin.sim.distributions import Distribution, fixed, lognormal, pert, triangular, uniform
from twin.sim.inputs import config_from_scenario, config_from_schedule, load_config
from twin.sim.montecarlo import choose_path, release, run_monte_carlo
from twin.sim.resources import Demand, ResourcePool, cranes_reaching
from twin.sim.results import (MonteCarloResult, activity_percentiles, completion_probability, criticality,
                              finish_percentiles, s_curve, summarise)
from twin.sim.weather import TEMPERATE, WeatherModel, fit_weather, get_sensitivity

__all__ = [
    "Demand", "Distribution", "MonteCarloResult", "ResourcePool", "RiskEvent", "SimConfig", "TEMPERATE",
    "Uncertainty", "WeatherModel", "activity_percentiles", "choose_path", "compare_results",
    "completion_probability", "config_from_scenario", "config_from_schedule", "cranes_reaching",
    "criticality", "finish_percentiles", "fit_weather", "fixed", "get_sensitivity", "load_config",
    "lognormal", "paired_difference", "pert", "release", "run_monte_carlo", "s_curve", "sample_durations",
    "summarise", "triangular", "uniform", "validate_config",
]
