"""Verified augmentation of Python code units (pure logic: no Prefect).

:func:`augment_units` turns units into variants that keep the program (renamed locals, a
reworded docstring, normalised formatting) and (buggy, fixed) repair pairs from injected bugs,
checked by the units' own tests where they have them; :func:`repair_sample` makes a pair a
training sample in its unit's split.
"""

from repotune.augment.api import (
    AugmentResult,
    RepairPair,
    Variant,
    augment_units,
    repair_sample,
)
from repotune.augment.mutations import OPERATORS, Mutant, mutate
from repotune.augment.verify import checkout, materialize

__all__ = [
    "OPERATORS",
    "AugmentResult",
    "Mutant",
    "RepairPair",
    "Variant",
    "augment_units",
    "checkout",
    "materialize",
    "mutate",
    "repair_sample",
]
