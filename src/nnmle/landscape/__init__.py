"""The loss landscape: exact Hessians, stationary-point classes, saddles, barriers.

Everything here is a pure function of a flat weight vector ``theta`` and a
:class:`~nnmle.problem.Problem` (data, family, architecture, penalty; or
anything with a ``.problem``, such as a fit): the penalized objective
``f(theta) = sum_i w_i nll_i + penalty``. Derivatives are exact (JAX
autodiff, float64; :meth:`Problem.hessian <nnmle.problem.Problem.hessian>`
and :meth:`Problem.hvp <nnmle.problem.Problem.hvp>`) and restricted to the
*free* entries (``arch.free_mask()``): frozen weights have zero gradient and
are not coordinates of the problem. Symmetries are those of the problem's
group (:func:`nnmle.symmetry.group`), which keep the penalized objective.

Spectra and thresholds
----------------------
:func:`hessian_spectrum` computes the eigenvalues of the Hessian ``H`` on the
free coordinates: all of them by a dense ``eigh`` when there are at most
``dense_max`` (5,000) free weights, else the ``k`` largest and ``k`` smallest
(most negative) by Lanczos (``scipy.sparse.linalg.eigsh`` on a
``LinearOperator`` of exact Hessian-vector products). An eigenvalue counts as
zero when ``|lambda| <= rtol * max|lambda|`` (``rtol = 1e-6`` by default):

- the **index** is the number of eigenvalues below ``-rtol * max|lambda|``;
- the **nullity** the number within ``± rtol * max|lambda|``; of those,
  ``nullity_symmetry`` lie along a *continuous* symmetry of the objective
  (:func:`nnmle.symmetry.symmetry_tangents`: relu unit scaling
  ``(w_in, b, w_out) -> (c w_in, c b, w_out / c)``; the ``GL(p)`` of identity
  units, ``O(p)`` under an L2 penalty), which are flat at every critical
  point and do not make a minimum less strict.

Small ``eigh`` calls run on one BLAS thread (:data:`nnmle.starts.SINGLE_THREAD_EIGH`).

Stationary-point classes (:func:`classify`): ``diverged`` (non-finite, or
weights beyond ``diverge_at``), ``not_converged`` (gradient norm above
``grad_tol``), ``saddle`` (index > 0), ``degenerate_min`` (index 0 and
near-zero eigenvalues not explained by continuous symmetries: the
second-order test cannot certify a minimum), ``strict_min`` (index 0, every
other eigenvalue positive: a strict minimum modulo symmetry).
"""

from ._barriers import Barrier, NonConvexityCertificate, loss_barrier, nonconvexity_certificate
from ._saddles import (
    CriticalPoint,
    Escape,
    LinearAutoencoder,
    SaddleStudy,
    critical_point,
    escape_saddle,
    linear_autoencoder,
    saddle_study,
)
from ._spectrum import (  # CLASSES: a module constant, not in __all__
    CLASSES,  # noqa: F401
    FlatDirection,
    SpectralDensity,
    Spectrum,
    classify,
    flat_directions,
    hessian_spectrum,
    spectral_density,
)

__all__ = [
    "Barrier",
    "CriticalPoint",
    "Escape",
    "FlatDirection",
    "LinearAutoencoder",
    "NonConvexityCertificate",
    "SaddleStudy",
    "SpectralDensity",
    "Spectrum",
    "classify",
    "critical_point",
    "escape_saddle",
    "flat_directions",
    "hessian_spectrum",
    "linear_autoencoder",
    "loss_barrier",
    "nonconvexity_certificate",
    "saddle_study",
    "spectral_density",
]
