"""Post step models: YAML-shaped input, defaults, and each bad setting with its message."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from comicforge.spec.post import (
    CmykAngles,
    FlatsStep,
    GrayscaleStep,
    HalftoneStep,
    InkStep,
    PostStep,
    ScreentoneStep,
)

CHAIN = TypeAdapter(list[PostStep])


def only_error(steps: list[dict]) -> tuple[tuple, str]:
    """The location and message of the single validation error of a chain."""
    with pytest.raises(ValidationError) as caught:
        CHAIN.validate_python(steps)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


def test_chain_from_yaml_shaped_dicts():
    steps = CHAIN.validate_python([{"op": "grayscale"}, {"op": "screentone", "lpi": 65}, {"op": "ink"}])
    assert [type(step) for step in steps] == [GrayscaleStep, ScreentoneStep, InkStep]
    assert steps[1].lpi == 65 and steps[1].levels == (10, 20, 30, 40, 50, 60)


def test_halftone_defaults_and_cmyk_angles():
    step = HalftoneStep()
    assert (step.lpi, step.angle, step.shape) == (85, 45, "round")
    assert step.angles == CmykAngles(c=15, m=75, y=0, k=45)


def test_flats_accepts_one_palette_name_or_several():
    assert FlatsStep(palette="hero").palette == ("hero",)
    assert FlatsStep(palette=["hero", "sky"], colors=["#AABBCC"]).colors == ("#aabbcc",)


def test_steps_are_hashable_and_serialise_for_cache_keys():
    step = CHAIN.validate_python([{"op": "halftone", "lpi": 65, "angle": 30}])[0]
    assert hash(step) == hash(HalftoneStep(lpi=65, angle=30))
    assert json.loads(step.model_dump_json())["op"] == "halftone"


def test_json_schema_lists_every_op():
    schema = CHAIN.json_schema()
    ops = set(schema["items"]["discriminator"]["mapping"])
    assert ops == {"halftone", "screentone", "ink", "flats", "grayscale", "levels", "curves", "cmyk"}


@pytest.mark.parametrize(
    ("step", "location", "message"),
    [
        (
            {"op": "halftone", "angle": -5},
            (0, "halftone", "angle"),
            "halftone.angle: -5 is out of range (must be 0 <= angle < 360 degrees)",
        ),
        (
            {"op": "halftone", "angle": "nan"},
            (0, "halftone", "angle"),
            "halftone.angle: nan is not a finite number (must be an angle in degrees, 0 <= angle < 360)",
        ),
        (
            {"op": "halftone", "shape": "square"},
            (0, "halftone", "shape"),
            "halftone.shape: unknown shape 'square' (valid shapes: round, ellipse, line)",
        ),
        (
            {"op": "halftone", "lpi": -10},
            (0, "halftone", "lpi"),
            "halftone.lpi: -10 is out of range (must be lines per inch > 0)",
        ),
        (
            {"op": "halftone", "angles": {"k": 400}},
            (0, "halftone", "angles", "k"),
            "halftone.angles.k: 400 is out of range (must be 0 <= angle < 360 degrees)",
        ),
        (
            {"op": "screentone", "lpi": 100},
            (0, "screentone", "lpi"),
            "screentone.lpi: 100 is out of range (must be 55 to 85 lpi)",
        ),
        (
            {"op": "screentone", "levels": [10, 120]},
            (0, "screentone", "levels"),
            "screentone.levels: 120 is out of range (must be 1 to 99 %)",
        ),
        (
            {"op": "ink", "weight": 5},
            (0, "ink", "weight"),
            "ink.weight: 5 is out of range (must be -2 to 2)",
        ),
        (
            {"op": "flats", "colors": ["#ff0000", "red"]},
            (0, "flats", "colors"),
            "flats.colors[1]: 'red' is not a colour (must be hex \"#rrggbb\")",
        ),
        (
            {"op": "flats"},
            (0, "flats"),
            "flats: give `palette` (palette names) or `colors` (hex colours)",
        ),
        (
            {"op": "levels", "black": 200, "white": 100},
            (0, "levels"),
            "levels.black: 200 must be below levels.white (100)",
        ),
        (
            {"op": "levels", "gamma": 0},
            (0, "levels", "gamma"),
            "levels.gamma: 0 is out of range (must be 0.1 to 10)",
        ),
        (
            {"op": "curves", "points": [[0, 0], [128, 300]]},
            (0, "curves", "points"),
            "curves.points[1] output: 300 is out of range (must be 0 to 255)",
        ),
        (
            {"op": "curves", "points": [[0, 0], [128, 90], [100, 255]]},
            (0, "curves", "points"),
            "curves.points: inputs must increase strictly from one point to the next",
        ),
        (
            {"op": "cmyk", "gcr": 2},
            (0, "cmyk", "gcr"),
            "cmyk.gcr: 2 is out of range (must be 0 to 1)",
        ),
    ],
)
def test_bad_settings_name_the_setting_and_range(step, location, message):
    assert only_error([step]) == (location, message)


def test_unknown_key_and_unknown_op_are_rejected():
    location, message = only_error([{"op": "halftone", "ruling": 65}])
    assert location == (0, "halftone", "ruling") and message == "Extra inputs are not permitted"
    location, message = only_error([{"op": "blur"}])
    assert "'blur'" in message and "'halftone'" in message
