"""GI maps: scores and calls for every pair of a gene set, predicted in batches and measured where the data has them."""

from __future__ import annotations

from itertools import combinations
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from gearsplan.analysis.gi_scores import GI_CALLS, GIScores, ensemble_calls, measured_gi, well_expressed
from gearsplan.data.conditions import perturbation_key
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.errors import GearsplanError
from gearsplan.model.ensemble import GearsModel

#: Columns of a GI map, in order.
COLUMNS = (
    "gene_a",
    "gene_b",
    "source",
    "magnitude",
    "model_fit",
    "similarity",
    "equality_of_contribution",
    "calls",
    "uncertain",
    "singles_collinear",
)


def measured_genes(bulk: Pseudobulk) -> tuple[str, ...]:
    """Genes measured alone in the screen: the GI map's default gene set."""
    return tuple(sorted(k for k in bulk.keys if "+" not in k))


def gi_map(
    model: GearsModel,
    bulk: Pseudobulk,
    genes: Sequence[str],
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """GI scores of every pair of ``genes``: predicted for all, and measured for pairs in the data.

    Parameters
    ----------
    model
        A trained ensemble; its measured singles are used as ΔA, ΔB where it has them.
    bulk
        Pseudobulk means of the screen (control means, measured pairs).
    genes
        At least two genes the model can predict.
    seed
        Of the Theil–Sen gene-pair sample.
    progress
        ``(done, total)`` over predicted keys.

    Returns
    -------
    pandas.DataFrame
        One row per pair and source, columns :data:`COLUMNS`; ``calls`` and ``uncertain`` (the predicted calls
        that are not certain, :class:`EnsembleCalls <gearsplan.analysis.gi_scores.EnsembleCalls>`) are ";"-joined.
    """
    genes = sorted(dict.fromkeys(genes))
    if len(genes) < 2:
        raise GearsplanError("a GI map needs at least two genes", "name more genes, or use --measured")
    pairs = list(combinations(genes, 2))
    keys = [*genes, *(perturbation_key(p) for p in pairs)]
    scored = well_expressed(bulk.control)
    members = np.concatenate(
        [changes[:, :, scored] for _, changes, _ in model.member_chunks(keys, progress, priors=False)], axis=1
    )
    position = {g: i for i, g in enumerate(genes)}
    a = members[:, [position[p[0]] for p in pairs]]
    b = members[:, [position[p[1]] for p in pairs]]
    called = ensemble_calls(a, b, members[:, len(genes) :], seed)
    frames = [_frame(pairs, "predicted", called.scores, called.scores.call_matrix() & ~called.certain)]
    in_data = [p for p in pairs if all(k in bulk.keys for k in (*p, perturbation_key(p)))]
    if in_data:
        measured = measured_gi(bulk, [perturbation_key(p) for p in in_data], scored, seed)
        frames.append(_frame(in_data, "measured", measured, np.zeros((len(in_data), len(GI_CALLS)), dtype=bool)))
    return pd.concat(frames, ignore_index=True)


def _frame(pairs: Sequence[tuple[str, str]], source: str, scores: GIScores, uncertain: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "gene_a": [p[0] for p in pairs],
            "gene_b": [p[1] for p in pairs],
            "source": source,
            "magnitude": scores.magnitude,
            "model_fit": scores.model_fit,
            "similarity": scores.similarity,
            "equality_of_contribution": scores.equality_of_contribution,
            "calls": [";".join(c) for c in scores.calls()],
            "uncertain": [";".join(c for c, on in zip(GI_CALLS, row) if on) for row in uncertain],
            "singles_collinear": scores.singles_collinear,
        },
        columns=list(COLUMNS),
    )


def gi_map_json(frame: pd.DataFrame) -> dict:
    """The ``gimap --json`` document of DESIGN.md."""
    scores = ("magnitude", "model_fit", "similarity", "equality_of_contribution")
    return {
        "pairs": [
            {
                "pair": [row.gene_a, row.gene_b],
                "source": row.source,
                **{k: (None if np.isnan(getattr(row, k)) else float(getattr(row, k))) for k in scores},
                "calls": row.calls.split(";") if row.calls else [],
                "uncertain": row.uncertain.split(";") if row.uncertain else [],
                "singles_collinear": bool(row.singles_collinear),
            }
            for row in frame.itertuples()
        ]
    }
