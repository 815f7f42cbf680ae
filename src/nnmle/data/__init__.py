"""Input validation and formulas: from user data to checked float64 arrays, and back.

Everything that reaches the numerical core has passed through here, so bad
input fails at the public boundary with a message that names what was
expected, what was received and the fix, never deep inside JAX. A fitted
model keeps a :class:`Design` to treat new data the same way (formulaic's
model spec, offsets, levels seen at fit time); :func:`spec_to_json` and
:func:`spec_from_json` carry the spec through model files without pickle.
"""

from ._arrays import (
    NA_ACTIONS,
    Data,
    check_na_action,
    check_offset,
    check_weights,
    check_X,
    missing_rows,
)
from ._design import Design, Prepared, formula_X, prepare
from ._formula import evaluate_formula, offset_values, split_offsets
from ._outputs import family_architecture, offset_matrix
from ._spec import check_formula, factor_variables, spec_from_json, spec_to_json

__all__ = [
    "NA_ACTIONS",
    "Data",
    "Design",
    "Prepared",
    "check_X",
    "check_formula",
    "check_na_action",
    "check_offset",
    "check_weights",
    "evaluate_formula",
    "factor_variables",
    "family_architecture",
    "formula_X",
    "missing_rows",
    "offset_matrix",
    "offset_values",
    "prepare",
    "spec_from_json",
    "spec_to_json",
    "split_offsets",
]
