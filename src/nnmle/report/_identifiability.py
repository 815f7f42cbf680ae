"""Plain-words text of an identifiability report and of the ``nnmle symmetry`` data."""

from __future__ import annotations

from ..identifiability import IdentifiabilityReport

__all__ = ["render_identifiability", "render_symmetry_report"]


def render_identifiability(report: IdentifiabilityReport | dict) -> str:
    """Plain-words text of an :class:`~nnmle.identifiability.IdentifiabilityReport`.

    Parameters
    ----------
    report : IdentifiabilityReport or dict
        A report, or its :meth:`~nnmle.identifiability.IdentifiabilityReport.to_dict`.

    Returns
    -------
    str
    """
    r = report if isinstance(report, IdentifiabilityReport) else IdentifiabilityReport(**report)
    lines = [f"Identifiability of {r.architecture} ({r.n_params} free weights)"]
    if r.group_order > 1 or r.continuous_dim:
        g = f"  Symmetry group: {r.group_order} weight settings per network function"
        if r.continuous_dim:
            g += f", times a continuous family of dimension {r.continuous_dim}"
        lines.append(g + ("" if r.group_exact else " (at least: the mask restricts it)"))
        lines += [f"    - {n}" for n in r.group_notes]
        lines.append(
            "  The likelihood and the penalty are the same on all of them: "
            "the weights are identified at best up to this group."
        )
    else:
        lines.append("  No hidden-unit symmetry: the weights are identified as in a GLM.")
    lines += _minimality_lines(r)
    if r.rank is not None:
        lines.append(
            f"  Fisher information J'WJ: rank {r.rank} of {r.n_params}; {r.nullity} zero "
            f"eigenvalue(s) (<= {r.threshold:.2e}): directions along which no fitted value moves."
        )
        for e in r.null_explained:
            lines.append(f"    - {e['count']} from {e['reason']}")
        if r.unexplained:
            lines.append(
                f"    - {r.unexplained} unexplained (flat directions of the likelihood itself: "
                "too few data, separation, or a near-redundancy below the checks' tolerance)"
            )
        lines += _weight_lines(r)
        if r.n_negative:
            lines.append(
                f"  The penalized Hessian has {r.n_negative} negative eigenvalue(s): the fit is "
                "not a local minimum (a saddle point, or not converged)."
            )
    lines += [f"  Note: {n}" for n in r.notes]
    return "\n".join(lines)


def _weight_lines(r: IdentifiabilityReport) -> list[str]:
    """The weights by identification, in plain words."""
    if not r.weights:
        return []
    by: dict[str, list[str]] = {"data": [], "penalty": [], "none": []}
    for w in r.weights:
        by[w["identification"]].append(w["name"])
    lines = [f"  Identified by the data: {len(by['data'])} of {r.n_params} weights."]
    if by["penalty"]:
        lines.append(
            f"  Identified only by the penalty ({len(by['penalty'])}: the data do not determine "
            f"them; their intervals are penalized, never tests): {', '.join(by['penalty'])}"
        )
    if by["none"]:
        lines.append(
            f"  Not identified ({len(by['none'])}: neither the data nor the penalty determine "
            f"them): {', '.join(by['none'])}"
        )
    return lines


def _minimality_lines(r: IdentifiabilityReport) -> list[str]:
    lines = []
    if r.reducible:
        lines.append("  The fit is REDUCIBLE (not minimal):")
        for label, units in (
            ("zero outgoing weights", r.zero_outgoing),
            ("zero incoming weights (constant)", r.constant_units),
            ("relu inactive on all data", r.dead_relu),
        ):
            if units:
                lines.append(f"    - {label}: {', '.join(units)}")
        for m in r.mergeable:
            lines.append(f"    - {m['units'][0]} and {m['units'][1]}: {m['relation']} incoming")
        if r.reduced_architecture is not None:
            ll = (
                f" with log-likelihood {r.reduced_loglik:.6g} (fit: {r.loglik:.6g})"
                if r.reduced_loglik is not None and r.loglik is not None
                else ""
            )
            lines.append(
                f"  A smaller equivalent network: {r.reduced_architecture} "
                f"({r.reduced_n_params} weights){ll}."
            )
            lines += [f"    {s}" for s in r.reduction_steps]
    else:
        lines.append(
            "  The fit is minimal (no zero, constant, dead or duplicate units): "
            "only the symmetry group is left."
        )
    if r.saturated:
        lines.append(
            f"  Saturated on all data (step functions; weight scale not identified): "
            f"{', '.join(r.saturated)}"
        )
    if r.relu_always_active:
        lines.append(
            f"  relu units active on all data (linear there): {', '.join(r.relu_always_active)}"
        )
    return lines


def render_symmetry_report(d: dict) -> str:
    """Fixed-width text of a :func:`nnmle.identifiability.symmetry_report` dict.

    Parameters
    ----------
    d : dict

    Returns
    -------
    str
    """
    lines = [
        f"Symmetry of {d['architecture']}",
        f"  group order (finite part): {d['group_order']}"
        + (f"; continuous dimension: {d['continuous_dim']}" if d["continuous_dim"] else ""),
    ]
    lines += [f"    - {n}" for n in d["group_notes"]]
    lines.append("  Canonical weights (one representative of the orbit):")
    width = max((len(w["name"]) for w in d["canonical_weights"]), default=6)
    lines += [f"    {w['name']:<{width}}  {w['value']: .6f}" for w in d["canonical_weights"]]
    lines.append(f"  Fit: log-likelihood {d['loglik']:.10g}, objective {d['objective']:.10g}")
    if d["twins"]:
        lines.append("  Random twins (other weights, same network, same objective):")
        lines.append(
            f"    {'#':>2}  {'log-likelihood':>18}  {'objective':>18}  "
            f"{'max |pred diff|':>15}  {'max |weight diff|':>17}"
        )
        for k, t in enumerate(d["twins"]):
            lines.append(
                f"    {k + 1:>2}  {t['loglik']:>18.10g}  {t['objective']:>18.10g}  "
                f"{t['max_abs_pred_diff']:>15.2e}  {t['max_abs_weight_diff']:>17.4f}"
            )
    lines.append(render_identifiability(d["identifiability"]))
    return "\n".join(lines)
