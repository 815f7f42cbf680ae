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
data), then looks at the Fisher information ``J'WJ`` at the fit (Rothenberg
1971; :meth:`nnmle.problem.Problem.information`). Its zero eigenvalues are the
directions along which no fitted value moves; each is attributed to the
symmetry or redundancy that explains it (relu rescaling, identity-layer mixing,
zero outgoing weights, dead units, constant units, duplicate units, collinear
inputs), and whatever is left is reported as unexplained.
:func:`identification` labels every weight: identified by the data, only by
the penalty (it loads on the Fisher null space but the penalized Hessian is
positive definite there), or not at all; inference and summaries use it.

Tolerances (documented defaults):

* a weight counts as zero when ``|w| <= weight_tol * max(1, max|θ|)``
  (:data:`WEIGHT_TOL` ``= 1e-6``); two incoming vectors are equal/opposite
  when their difference/sum is that small (relu and identity units: after
  scaling each to unit norm);
* an eigenvalue of the Fisher information counts as zero when
  ``λ <= rtol * λ_max`` (``rtol =`` :data:`EIG_RTOL` ``= 1e-8``); a weight
  loads on a subspace when its squared loading exceeds :data:`LOADING_TOL`
  ``= 1e-6``;
* a direction of the penalized Hessian is flat when its curvature is at most
  ``max(rtol * max|λ|, 10 * ‖∇‖)`` (at a point whose gradient is ``‖∇‖``, an
  exact symmetry direction has curvature of that order, not exactly zero);
* a candidate subspace explains the Fisher null directions it nearly
  contains (principal angles with cosines above 0.99, robust to units equal
  only to 1e-6).

Rendering lives in :mod:`nnmle.report` (``render_identifiability``,
``render_symmetry_report``).
"""

from ._identification import LABELS, LOADING_TOL, MEANING, Identification, identification
from ._information import EIG_RTOL
from ._minimality import WEIGHT_TOL, reduce_network
from ._report import IdentifiabilityReport, identifiability, symmetry_report

__all__ = [
    "EIG_RTOL",
    "LABELS",
    "LOADING_TOL",
    "MEANING",
    "Identification",
    "identification",
    "WEIGHT_TOL",
    "IdentifiabilityReport",
    "identifiability",
    "reduce_network",
    "symmetry_report",
]
