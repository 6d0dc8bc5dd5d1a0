"""Static annotation of code units (always on, framework-free): ``annotate_units(units)``.

- :mod:`.annotation`: the :class:`Annotation` record and the documented quality formula;
- :mod:`.category`: the ordered rule table that names what a unit is for;
- :mod:`.imports`: per-language import parsing, technologies and what a unit references;
- :mod:`.metrics`: cyclomatic complexity, naming convention, intent, type-hint coverage;
- :mod:`.lint`: ruff findings per Python unit, in one batch.
"""

from repotune.annotate.annotation import (
    ANNOTATOR_VERSION,
    WEIGHTS,
    Annotation,
    annotate_unit,
    annotate_units,
    quality,
)

__all__ = [
    "ANNOTATOR_VERSION",
    "WEIGHTS",
    "Annotation",
    "annotate_unit",
    "annotate_units",
    "quality",
]
