"""Identifiability of a fitted network: minimality checks and the information matrix.

A network's weights are identified at best up to its symmetry group
(:func:`nnmle.symmetry.group`: the moves that keep the penalized objective).
Sussmann (1992) showed that for tanh networks that is all, *provided the
network is minimal*: no hidden unit with zero outgoing weights, none with zero
incoming weights (a constant, which the next bias absorbs), and no two units
with equal or opposite incoming weights (which can be merged). A non-minimal
(reducible) fit has whole manifolds of weights with the same likelihood, and a
smaller network that fits exactly as well.

:func:`identifiability` checks those conditions (and relu units dead on the
data), then looks at the information matrix at the fit (for now the Hessian
of the penalized objective over the free weights). Its (near) zero
eigenvalues are flat directions; each is attributed to the symmetry or
redundancy that explains it (relu rescaling, identity-layer mixing, zero
outgoing weights, dead units, constant units, duplicate units, collinear
inputs), and whatever is left is reported as unexplained.

Tolerances (documented defaults):

* a weight counts as zero when ``|w| <= weight_tol * max(1, max|θ|)``
  (:data:`WEIGHT_TOL` ``= 1e-6``); two incoming vectors are equal/opposite
  when their difference/sum is that small (relu and identity units: after
  scaling each to unit norm);
* an eigenvalue counts as zero when ``|λ| <= max(rtol * λ_max, 10 * ‖∇‖)``
  with ``λ_max`` the largest absolute eigenvalue, ``rtol =``
  :data:`EIG_RTOL` ``= 1e-8`` and ``‖∇‖`` the gradient norm at the fit: at a
  point whose gradient is ``‖∇‖``, an exact symmetry direction has curvature
  of that order, not exactly zero;
* a candidate direction ``t`` explains a null direction when ``‖H t‖ / ‖t‖``
  is below the same threshold.

Rendering lives in :mod:`nnmle.report` (``render_identifiability``,
``render_symmetry_report``).
"""

from ._information import EIG_RTOL
from ._minimality import WEIGHT_TOL, reduce_network
from ._report import IdentifiabilityReport, identifiability, symmetry_report

__all__ = [
    "EIG_RTOL",
    "WEIGHT_TOL",
    "IdentifiabilityReport",
    "identifiability",
    "reduce_network",
    "symmetry_report",
]
