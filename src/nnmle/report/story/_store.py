"""Stories in campaign stores: save one, read it back, or summarize a store of starts."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np

from ... import symmetry
from ...families import FAMILIES
from ...multistart import Campaign
from ...networks import Architecture
from ...penalties import Penalty
from ...problem import Problem
from ...starts import (
    LocalExecutor,
    Store,
    opened,
    problem_config,
    starting_values,
    theta_digest,
)
from ._findings import findings
from ._model import START_CONFIG, STORY_SCHEMA, StoreSection, Story, _plain


def draw_starts(problem: Problem, n: int, seed: int) -> np.ndarray:
    """The story's ``n`` starting vectors (:data:`START_CONFIG`, as ``nnmle.fit`` draws them:
    on the standardized scale of the problem's data)."""
    return starting_values(problem, n, seed, START_CONFIG["init"], START_CONFIG["rang"])


def record_campaign(store, camp: Campaign, seed: int) -> None:
    """Write the campaign's starts as the job of starts ``run_campaign(..., store=)`` writes.

    The job's identity is :func:`nnmle.starts.problem_config` of the campaign's
    problem and solver with ``seed``, ``init`` and ``rang`` (what
    ``nnmle.multistart(..., seed=seed, store=...)`` uses), so a later run of
    those starts resumes from the store. The starts are written as they came
    out of the solver (not in canonical form), each with the digest of its
    starting vector.
    """
    est = camp.estimate
    if est is None:
        raise ValueError("record_campaign needs a campaign that ran its fits (camp.estimate).")
    p = camp.problem
    thetas0 = draw_starts(p, len(est.starts), seed)
    job_config = problem_config(
        p, est.solver, LocalExecutor().identity(), seed=seed, **START_CONFIG
    )
    with opened(store) as st:
        job = st.job(job_config)
        for r in est.starts:
            st.put_start(job, r, seed=seed, input_digest=theta_digest(thetas0[r.index]))


def save_story(story: Story, store, fingerprint: str = "") -> str:
    """Save ``story`` in a campaign store (a unit of kind ``"story"``); return its job id.

    The job's identity is the story's source, settings and the data's
    fingerprint, so the same demo on the same data keeps one copy.
    """
    config = {
        "nnmle": "story",
        "schema": STORY_SCHEMA,
        "source": story.source,
        "inputs": story.inputs,
        "settings": _plain(story.settings),
        "data": fingerprint,
    }
    with opened(store) as st:
        job = st.job(config)
        st.put_unit(job, "story", 0, status="done", extra=story.to_dict())
    return job


def story_from_store(path) -> Story:
    """The story saved in a campaign store, or a summary of the starts it holds (no refitting).

    Parameters
    ----------
    path : str or path-like
        A store written by ``compute_story(..., store=...)`` (the whole story is
        read back), or by any command that records starts (``nnmle fit --store``,
        :func:`nnmle.starts.run_starts` with a store): then the story holds a
        :class:`StoreSection` (per job: starts grouped into distinct solutions by
        objective and canonical weights) and says what is missing.

    Raises
    ------
    ValueError
        If ``path`` does not exist or is not an nnmle store.
    """
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


def _arch_from_config(d: dict) -> Architecture:
    """The architecture of a job's configuration (:func:`nnmle.starts.arch_dict`)."""
    arch = Architecture.build(
        int(d["n_inputs"]),
        tuple(int(h) for h in d["hidden"]),
        int(d["n_outputs"]),
        tuple(d["activation"]),
        bool(d["skip"]),
        tuple(bool(b) for b in d["bias"]),
    )
    if d.get("mask") is None:
        return arch
    return dataclasses.replace(
        arch,
        mask=tuple(bool(m) for m in d["mask"]),
        mask_values=tuple(float(v) for v in d.get("mask_values") or ()),
    )


def _summarize_job(st, job: dict, obj_rtol: float = 1e-6, param_rtol: float = 1e-3) -> dict:
    """Group a job's starts by objective and canonical weights (the data-free part of dedup)."""
    cfg = job["config"]
    out: dict[str, Any] = {"job_id": job["job_id"], "units": dict(job["units"])}
    if "architecture" not in cfg or "start" not in job["units"]:
        return out
    arch = _arch_from_config(cfg["architecture"])
    pen = Penalty(**cfg["penalty"])
    # the group needs only the architecture and the penalty: a problem without data (the
    # family does not enter it; a family this version does not know stands in as gaussian)
    family = FAMILIES.get(str(cfg.get("family")), FAMILIES["gaussian"])
    G = symmetry.group(Problem(None, family, arch, pen, 0))
    units = st.units(job["job_id"], "start")
    ok = [u for u in units if u.theta is not None and np.all(np.isfinite(u.theta))]
    canon = {u.key: np.asarray(symmetry.canonicalize(u.theta, G)[0]) for u in ok}
    groups: list[list] = []
    for u in sorted(ok, key=lambda u: (not math.isfinite(u.objective), u.objective)):
        for grp in groups:
            ref = grp[0]
            ftol = obj_rtol * max(1.0, abs(ref.objective))
            if abs(ref.objective - u.objective) > ftol:
                continue
            a, b = canon[ref.key], canon[u.key]
            if G.layers:
                b = np.asarray(symmetry.align(a, b, G)[0])
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
            "group_order": int(G.order),
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
