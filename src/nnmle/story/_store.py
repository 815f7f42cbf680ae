"""Stories in campaign stores: save one, read it back, or summarize a store of starts."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ._findings import findings
from ._model import STORY_SCHEMA, StoreSection, Story, _plain


def record_campaign(store, camp, seed: int) -> None:
    """Write the campaign's starts as a job of starts (the job ``fit(..., store=)`` would use)."""
    from ..fit import starting_values
    from ..store import Store, problem_config, theta_digest

    res = camp.result
    p = camp.problem
    thetas0 = starting_values(p.arch, camp.n_starts, seed)
    config = problem_config(p.data, p.family, p.arch, p.penalty, tol=res.tol, max_iter=5000,
                            seed=seed, init="uniform", rang=0.7)  # fmt: skip
    st = store if isinstance(store, Store) else Store(store)
    try:
        job = st.job(config)
        for r in res.restarts:
            st.put_start(job, r, seed=seed, input_digest=theta_digest(thetas0[r.index]))
    finally:
        if st is not store:
            st.close()


def save_story(story: Story, store, fingerprint: str = "") -> str:
    """Save ``story`` in a campaign store (a unit of kind ``"story"``); return its job id.

    The job's identity is the story's source, settings and the data's
    fingerprint, so the same demo on the same data keeps one copy.
    """
    from ..store import Store

    config = {
        "nnmle": "story",
        "schema": STORY_SCHEMA,
        "source": story.source,
        "inputs": story.inputs,
        "settings": _plain(story.settings),
        "data": fingerprint,
    }
    st = store if isinstance(store, Store) else Store(store)
    try:
        job = st.job(config)
        st.put_unit(job, "story", 0, status="done", extra=story.to_dict())
    finally:
        if st is not store:
            st.close()
    return job


def story_from_store(path) -> Story:
    """The story saved in a campaign store, or a summary of the starts it holds (no refitting).

    Parameters
    ----------
    path : str or path-like
        A store written by ``compute_story(..., store=...)`` (the whole story is
        read back), or by any command that records starts (``nnmle fit --store``,
        :func:`nnmle.store.run_starts_stored`): then the story holds a
        :class:`StoreSection` (per job: starts grouped into distinct solutions by
        objective and canonical weights) and says what is missing.

    Raises
    ------
    ValueError
        If ``path`` does not exist or is not an nnmle store.
    """

    from ..store import Store

    if not os.path.isfile(path):
        raise ValueError(
            f"No campaign store at {str(path)!r}. Fix: pass the SQLite file written by "
            f"`nnmle demo --store FILE` or `nnmle fit --store FILE`."
        )
    with Store(path) as st:
        jobs = st.jobs()
        stories = [j for j in jobs if j["config"].get("nnmle") == "story" and j["units"]]
        if stories:
            unit = st.units(stories[-1]["job_id"], "story")[0]
            story = Story.from_dict(unit.extra)
            story.notes = [*story.notes, f"read from the campaign store {str(path)!r}"]
            return story
        summaries = [_summarize_job(st, j) for j in jobs]
    section = StoreSection(str(path), summaries)
    fams = sorted({j["family"] for j in summaries if "family" in j})
    story = Story(
        source=f"campaign store {os.path.basename(str(path))}",
        family=", ".join(fams) or "unknown",
        n_obs=None,
        inputs=[],
        all_inputs=[],
        settings={},
        store=section,
        notes=[
            "This store holds fitted starts but not the data (only its fingerprint) and no "
            "saved story: the logistic-regression contrast, Hessians, twins' likelihoods, "
            "barriers, the penalty path and standard errors need the data and are not shown. "
            "Run `nnmle demo --store FILE` to record a full story."
        ],
    )
    story.findings = findings(story)
    return story


def _arch_from_config(d: dict):
    from ..networks import Architecture

    return Architecture(
        int(d["n_inputs"]),
        tuple(int(h) for h in d["hidden"]),
        int(d["n_outputs"]),
        tuple(d["activation"]),
        bool(d["skip"]),
        tuple(bool(b) for b in d["bias"]),
        None if d.get("mask") is None else tuple(bool(m) for m in d["mask"]),
        None if d.get("mask_values") is None else tuple(float(v) for v in d["mask_values"]),
    )


def _summarize_job(st, job: dict, obj_rtol: float = 1e-6, param_rtol: float = 1e-3) -> dict:
    """Group a job's starts by objective and canonical weights (the data-free part of dedup)."""
    cfg = job["config"]
    out: dict[str, Any] = {"job_id": job["job_id"], "units": dict(job["units"])}
    if "architecture" not in cfg or "start" not in job["units"]:
        return out
    from .. import symmetry
    from ..landscape import align_theta
    from ..multistart import _canonical
    from ..penalties import Penalty

    arch = _arch_from_config(cfg["architecture"])
    pen = Penalty(**cfg["penalty"])
    units = st.units(job["job_id"], "start")
    ok = [u for u in units if u.theta is not None and np.all(np.isfinite(u.theta))]
    canon = {u.key: _canonical(u.theta, arch, pen, symmetry) for u in ok}
    groups: list[list] = []
    for u in sorted(ok, key=lambda u: (not math.isfinite(u.objective), u.objective)):
        for grp in groups:
            ref = grp[0]
            ftol = obj_rtol * max(1.0, abs(ref.objective))
            if abs(ref.objective - u.objective) > ftol:
                continue
            a, b = canon[ref.key], canon[u.key]
            if arch.hidden:
                b = align_theta(a, b, arch, pen)[0]
            if np.max(np.abs(a - b)) <= param_rtol * max(1.0, float(np.max(np.abs(a)))):
                grp.append(u)
                break
        else:
            groups.append([u])
    statuses: dict[str, int] = {}
    for u in units:
        statuses[u.status] = statuses.get(u.status, 0) + 1
    out.update(
        {
            "architecture": arch.describe(),
            "family": cfg.get("family", "?"),
            "penalty": pen.describe(),
            "n_starts": len(units),
            "statuses": statuses,
            "group_order": int(symmetry.group(arch).order) if arch.hidden else 1,
            "solutions": [
                {
                    "id": k + 1,
                    "objective": grp[0].objective,
                    "count": len(grp),
                    "starts": [u.key for u in grp],
                    "status": grp[0].status,
                    "grad_norm": min(u.grad_norm for u in grp),
                    "max_abs_weight": float(np.max(np.abs(grp[0].theta))),
                }
                for k, grp in enumerate(groups)
            ],
        }
    )
    return out
