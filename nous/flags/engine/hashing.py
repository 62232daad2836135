"""The frozen bucket algorithm (ALGORITHM_VERSION = 1; see the package docstring) and the engine's
source of randomness. Changing either moves testers between buckets."""

from __future__ import annotations

import random

import mmh3

ALGORITHM_VERSION = 1  # frozen: hashing must never change under this number
STRATEGY_SEED = 0
VARIANT_SEED = 86028157

hash32 = mmh3.hash  # (text, seed, signed) -> int; called with signed=False
random_float = random.random


def bucket(group_id: str, value: str, modulus: int = 100, seed: int = STRATEGY_SEED) -> int:
    """The frozen bucket (1..modulus) of `value` in `group_id`; see ALGORITHM_VERSION."""
    return hash32(f"{group_id}:{value}", seed, False) % modulus + 1
