"""The demo's story, computed: every step of the argument on real data, as plain data.

:func:`compute_story` runs the analysis that ``nnmle demo`` reports and returns a
:class:`Story`, a dataclass of plain numbers, strings and lists (no arrays, no
fitted objects), so that the renderers (:mod:`nnmle.report`: terminal text
and one self-contained HTML file) and ``results.json`` show the same numbers.
The steps, on one set of inputs:

1. **Separation** (0/1 targets): a linear program looks for a hyperplane that
   classifies every case correctly with all the inputs. If one exists, the
   logistic-regression MLE on them does not exist (Albert and Anderson, 1984):
   its weights race away. This is the case for the bundled breast-cancer
   data (569 cases, 30 standardized inputs), so the demo uses three of its
   inputs (:data:`DEFAULT_INPUTS`), on which the MLE exists, for every step;
   the story says so.
2. **Logistic regression** (no hidden layer): ``n_starts`` random starts, all
   reaching one solution; the Hessian's eigenvalues (all positive) and the
   standard errors, which are the GLM's.
3. **Without a penalty** the same inputs with a tanh network: one start
   continued by L-BFGS for :data:`TRACE_ITER` iterations records the weight
   norm (it races away) and the fit's divergence check says whether the MLE
   exists.
4. **The weight-decay path** (:func:`nnmle.regularization.fit_path`): weight norm, training and
   cross-validated deviance, the penalty chosen by CV and by the evidence.
5. **The network campaign** at the penalty chosen by CV
   (:func:`nnmle.multistart.run_campaign`): distinct solutions modulo symmetry with their
   counts and Hessian index, the group order, random twins (equal
   log-likelihood and penalized objective), the midpoint of two twins (higher:
   not convex) and the barrier between the two best distinct solutions.
6. **The final model** (the best start of the campaign): standard errors where
   identified (:func:`nnmle.inference.infer`) and confidence intervals for predictions.
7. **Covariate effects**: the network's average marginal effects with
   delta-method intervals beside the GLM's (:func:`nnmle.inference.margins`),
   the partial dependence of its strongest input with pointwise bands, and Wald
   tests per input: identified (functions of the fitted network, shared by every
   symmetric twin) where the weights are not.
8. **Singular learning theory**: the local learning coefficient of the final
   model (:func:`nnmle.singular.learning_coefficient`) with its Monte-Carlo
   interval, against the d/2 that BIC counts.

Each section carries its findings as sentences. :func:`story_from_store`
reads a story saved in a campaign store (``compute_story(..., store=...)``)
back without refitting, or, for a store written by other commands, summarizes
the starts it holds.
"""

from ._compute import compute_story
from ._findings import findings
from ._model import (
    DEFAULT_INPUTS,
    DEFAULT_L2_GRID,
    EffectsSection,
    FinalSection,
    GLMSection,
    NetworkSection,
    PathSection,
    Progress,
    SingularSection,
    StoreSection,
    Story,
    fmt,
    key_numbers,
)
from ._singular import singular_findings, singular_section, singular_table
from ._store import save_story, story_from_store

__all__ = [
    "DEFAULT_INPUTS",
    "DEFAULT_L2_GRID",
    "EffectsSection",
    "FinalSection",
    "GLMSection",
    "NetworkSection",
    "PathSection",
    "Progress",
    "SingularSection",
    "StoreSection",
    "Story",
    "compute_story",
    "findings",
    "fmt",
    "key_numbers",
    "save_story",
    "singular_findings",
    "singular_section",
    "singular_table",
    "story_from_store",
]
