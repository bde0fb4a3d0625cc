"""Appearance profiles: lookup, configuration from a dict, material colours, ramps."""
from __future__ import annotations

from datetime import datetime as dt

import numpy as np
import pytest

from twin.errors import InputError
from twin.fourd import TaskWindow, WorkKind, build_timeline
from twin.viz.appearance import (
    DEFAULT_PROFILE,
    appearance_arrays,
    material_colour,
    parse_colour,
    profile_from_dict,
    ramp_colours,
)


def _states(at_day):
    wins = {"C": TaskWindow("C", dt(2025, 3, 3), dt(2025, 3, 7)),
            "D": TaskWindow("D", dt(2025, 3, 3), dt(2025, 3, 7), WorkKind.DEMOLISH),
            "T": TaskWindow("T", dt(2025, 3, 3), dt(2025, 3, 7), WorkKind.TEMPORARY)}
    tl = build_timeline(wins, [("C", "c"), ("D", "d"), ("T", "t")], ["c", "d", "t", "u"])
    return tl.state_at(dt(2025, 3, at_day))


MAT = np.array([[0.1, 0.2, 0.3]] * 4)


def test_default_profile_before_start_ghosts_construction_shows_existing_hides_temporary():
    rgb, op = appearance_arrays(_states(1), MAT)
    assert 0 < op[0] < 1                     # construct: ghost
    assert op[1] == 1 and rgb[1].tolist() == MAT[1].tolist()   # demolish: existing, material colour
    assert op[2] == 0                        # temporary: hidden
    assert 0 < op[3] < 1                     # unlinked: ghost


def test_default_profile_after_finish_shows_built_in_material_and_removes_the_rest():
    rgb, op = appearance_arrays(_states(10), MAT)
    assert op.tolist() == [1.0, 0.0, 0.0, pytest.approx(DEFAULT_PROFILE.unlinked.opacity)]
    assert rgb[0].tolist() == MAT[0].tolist()


def test_in_progress_uses_the_profile_highlight_colours():
    rgb, op = appearance_arrays(_states(5), MAT)
    assert tuple(rgb[0]) == DEFAULT_PROFILE.construct.in_progress.colour
    assert tuple(rgb[1]) == DEFAULT_PROFILE.demolish.in_progress.colour
    assert op[2] > 0


def test_profile_from_dict_overrides_only_what_it_names():
    p = profile_from_dict({"construct": {"not_started": "hidden", "in_progress": "#0000ff"},
                           "temporary": {"in_progress": {"colour": "yellow", "opacity": 0.5}},
                           "background": "#202020"})
    rgb, op = appearance_arrays(_states(1), MAT, p)
    assert op[0] == 0
    assert p.construct.in_progress.colour == (0.0, 0.0, 1.0)
    assert p.temporary.in_progress.opacity == 0.5
    assert p.demolish == DEFAULT_PROFILE.demolish


@pytest.mark.parametrize("data,match", [
    ({"construct": {"finished": "hidden"}}, r"appearance\.construct\.finished"),
    ({"construct": {"late": {"opacity": 2}}}, r"appearance\.construct\.late\.opacity"),
    ({"construct": {"late": "#12"}}, r"appearance\.construct\.late.*#12"),
    ({"colours": {}}, r"appearance\.colours"),
])
def test_bad_profile_entries_name_the_key(data, match):
    with pytest.raises(InputError, match=match):
        profile_from_dict(data)


def test_colours_parse_from_hex_names_and_triples():
    assert parse_colour("#000000") == (0.0, 0.0, 0.0)
    assert parse_colour([255, 0, 0]) == (1.0, 0.0, 0.0)
    assert parse_colour("red") == parse_colour("#e31a1c")


def test_material_name_wins_over_ifc_class():
    assert material_colour("IfcWall", ["Brick outer leaf"]) != material_colour("IfcWall")
    assert material_colour("IfcDuctSegment") == material_colour("IfcPipeSegment")


def test_probability_ramp_goes_from_red_to_green():
    c = ramp_colours(np.array([0.0, 1.0]), "probability")
    assert c[0, 0] > c[0, 1] and c[1, 1] > c[1, 0]
    with pytest.raises(InputError, match="unknown colour ramp"):
        ramp_colours(np.array([0.5]), "rainbow")


def test_in_progress_opacity_ramps_from_start_to_finish():
    p = profile_from_dict({"construct": {"in_progress": {"colour": "#00ff00", "opacity": 1.0,
                                                         "opacity_from": 0.2}}})
    wins = {"C": TaskWindow("C", dt(2025, 3, 1), dt(2025, 3, 11))}
    tl = build_timeline(wins, [("C", "c")], ["c"])
    ops = [appearance_arrays(tl.state_at(dt(2025, 3, d)), MAT[:1], p)[1][0] for d in (1, 6, 10)]
    assert ops == pytest.approx([0.2, 0.6, 0.92])
    with pytest.raises(InputError, match="opacity_from: must be within 0..1"):
        profile_from_dict({"construct": {"in_progress": {"opacity_from": -1}}})
