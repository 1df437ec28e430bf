"""A bulk call encodes its jobs' data with one encoder made for it: the same text, and
the same refusals, as the encoder every single job uses."""

from __future__ import annotations

import math
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pytest

from pgqueue.errors import InvalidJobError
from pgqueue.options import bulk_json_encoder, encode_json


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    BIG = 2


class Plain(Enum):
    A = 1


SAME = [
    {},
    {"n": 1, "s": 'é ☃ \n \t " \\ \u2028', "f": 1.5e300, "neg": -0.0, "big": 2**80},
    [1, [2, [3, {"x": None, "t": True, "f": False}]]],
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key"},
    {"enum": Colour.RED, "int_enum": Size.BIG, "tuple": (1, 2)},
    "just a string",
    12,
    None,
]


@pytest.mark.parametrize("value", SAME)
def test_bulk_encoder_writes_the_same_text(value: Any) -> None:
    encode = bulk_json_encoder()
    assert encode_json(value, "data", encode=encode) == encode_json(value, "data")
    # Reused for the next job, as a bulk call does.
    assert encode_json(value, "data", encode=encode) == encode_json(value, "data")


BAD = [
    {"n": math.nan},
    {"n": math.inf},
    {"o": object()},
    {"e": Plain.A},
    {"set": {1, 2}},
    {"nul": "a\x00b"},
    {"surrogate": "\ud800"},
]


@pytest.mark.parametrize("value", BAD)
def test_bulk_encoder_refuses_the_same(value: Any) -> None:
    with pytest.raises(InvalidJobError) as single:
        encode_json(value, "data")
    with pytest.raises(InvalidJobError) as bulk:
        encode_json(value, "data", encode=bulk_json_encoder())
    assert str(bulk.value) == str(single.value)


def test_bulk_encoder_refuses_a_cycle_and_not_a_shared_value() -> None:
    encode = bulk_json_encoder()
    shared = {"k": [1, 2]}
    assert encode_json({"a": shared, "b": shared}, "data", encode=encode) == (
        '{"a":{"k":[1,2]},"b":{"k":[1,2]}}'
    )
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(InvalidJobError, match="Circular reference"):
        encode_json(cycle, "data", encode=bulk_json_encoder())


def test_payload_limit_counts_bytes_not_characters() -> None:
    assert encode_json("éé", "data", max_bytes=6) == '"éé"'
    with pytest.raises(InvalidJobError, match="8 bytes encoded, over the 6 limit"):
        encode_json("ééé", "data", max_bytes=6)
    with pytest.raises(InvalidJobError, match="7 bytes encoded, over the 6 limit"):
        encode_json("abcde", "data", max_bytes=6)
