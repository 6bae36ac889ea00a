"""Predicted profiles as cells that Arc Institute's cell-eval (``cell-eval run``) scores against a measured screen.

cell-eval compares a predicted AnnData with a real one: the same genes in the same order, an ``obs``
column naming each cell's perturbation (``target_gene`` by default) with the same names in both,
control cells under one label (``non-targeting`` by default) and log-normalised expression in ``X``,
never negative. It tests each perturbation's cells against the control cells (Wilcoxon), so a
prediction is written as cells: sampled control cells, each moved by the set's predicted change.
"""

from __future__ import annotations

from typing import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from gearsplan import __version__
from gearsplan.analysis.model_screen import ModelScreen
from gearsplan.analysis.prediction import resolve_genes, screen_model, set_uncertainty
from gearsplan.data.conditions import CONTROL_KEY, genes_of, perturbation_key
from gearsplan.data.pseudobulk import Pseudobulk
from gearsplan.data.screen import Screen
from gearsplan.model.bundle import Bundle

#: cell-eval's default perturbation column and control label (``cell-eval run --pert-col``, ``--control-pert``;
#: ``DEFAULT_PERT_COL`` and ``DEFAULT_CTRL`` in its ``cell_eval/_cli/_const.py``).
PERT_COL = "target_gene"
CONTROL_LABEL = "non-targeting"
#: Cells written per predicted set (and for control) unless asked otherwise: as many as a perturbation
#: of the embedded screens has, enough for cell-eval's Wilcoxon tests.
CELLS_PER_SET = 100


def predicted_changes(bundle: Bundle, screen: ModelScreen, sets: Sequence[str]) -> ad.AnnData:
    """Predicted changes over control of perturbation sets, one row per set (``Model.predict``).

    Parameters
    ----------
    bundle
        A trained model.
    screen
        The screen the model composes with (:func:`bundle_screen <gearsplan.analysis.model_screen.bundle_screen>`).
    sets
        Gene sets as labels (``"KLF1"``, ``"CEBPB+FOSB"``; symbols, aliases or Ensembl IDs), each predicted
        once under its canonical key.

    Returns
    -------
    anndata.AnnData
        ``obs_names`` the sets' keys, ``var_names`` the model's genes; ``X`` the predicted change over control
        (float32), ``layers["sd"]`` what the prediction does not know (:attr:`Prediction.total_sd
        <gearsplan.model.ensemble.Prediction.total_sd>`); ``obs["uncertainty"]`` that spread on the set's top 20
        genes, ``obs["confidence"]`` its level (high, medium, low, unknown: :class:`Uncertainty
        <gearsplan.analysis.prediction.Uncertainty>`, as ``predict`` prints it), ``obs["measured"]`` whether the
        screen measured the set; ``var["control_mean"]`` the control mean, so ``X + control_mean`` is the predicted
        expression; ``uns["gearsplan"]`` the model, the screen and the version.

    Raises
    ------
    GearsplanError
        For a set naming an unknown gene, or one the model cannot reach.
    """
    bulk = screen.bulk
    model = screen_model(bundle, bulk)
    keys = list(dict.fromkeys(perturbation_key(resolve_genes([name], model, bulk)) for name in sets))
    prediction = model.predict(keys)
    trust = [
        set_uncertainty(bundle, model, genes_of(key), prediction.take(slice(i, i + 1))) for i, key in enumerate(keys)
    ]
    return ad.AnnData(
        X=prediction.mean.astype(np.float32),
        obs=pd.DataFrame(
            {
                "uncertainty": [t.spread for t in trust],
                "confidence": pd.Categorical([t.level for t in trust]),
                "measured": [key in bulk.keys for key in keys],
            },
            index=pd.Index(keys, name="set"),
        ),
        var=pd.DataFrame({"control_mean": bulk.control.astype(np.float32)}, index=pd.Index(model.genes, name="gene")),
        layers={"sd": prediction.total_sd.astype(np.float32)},
        uns={"gearsplan": _provenance(bundle, screen.source)},
    )


def _provenance(bundle: Bundle, source: str) -> dict[str, str]:
    """What a prediction came from: the model's bundle, the screen and gearsplan's version."""
    return {
        "model": str(bundle.source) if bundle.source is not None else "not saved",
        "data": source,
        "version": __version__,
    }


def predicted_cells(
    bundle: Bundle, screen: Screen, bulk: Pseudobulk, keys: Sequence[str], *, cells: int = CELLS_PER_SET, seed: int = 0
) -> ad.AnnData:
    """Predicted cells of perturbation sets in cell-eval's layout.

    The same ``cells`` control cells of the screen (all of them where it has fewer), drawn without
    replacement by ``seed``, are written once as control and once per set moved by the set's
    predicted change (:meth:`GearsModel.predict <gearsplan.model.ensemble.GearsModel.predict>`),
    floored at 0: log-expression is never negative, and cell-eval refuses negative values. Where
    the floor does not bite, a set's mean over the control rows' mean is its predicted change,
    which cell-eval's pseudobulk metrics read.

    Parameters
    ----------
    bundle
        A trained model.
    screen
        The screen it predicts from (:func:`bundle_screen <gearsplan.analysis.model_screen.bundle_screen>`):
        its control cells are what the predicted cells are built on.
    bulk
        The screen's pseudobulk, which the model is composed with (:func:`screen_model`).
    keys
        Perturbation keys (``"KLF1"``, ``"CEBPB+FOSB"``), each written under its key (once, if named twice).
    cells
        Control cells per set, at least 1.
    seed
        Seeds the draw of control cells.

    Returns
    -------
    anndata.AnnData
        ``cells`` rows of :data:`CONTROL_LABEL` and then ``cells`` rows per set; ``obs[PERT_COL]``
        the set's key or the control label, ``obs["control_cell"]`` the screen's control cell a row
        is built on; ``var_names`` the model's genes; ``X`` float32 log-expression;
        ``layers["sd"]`` what the prediction does not know (:attr:`Prediction.total_sd
        <gearsplan.model.ensemble.Prediction.total_sd>`, 0 for control); ``uns["gearsplan"]`` the model,
        the screen, ``pert_col``, ``control_pert``, ``cells_per_set``, ``seed`` and the version.
    """
    model = screen_model(bundle, bulk)
    keys = list(dict.fromkeys(keys))
    control = screen.adata[(screen.keys == CONTROL_KEY).to_numpy()]
    drawn = np.sort(np.random.default_rng(seed).choice(control.n_obs, size=min(cells, control.n_obs), replace=False))
    base = screen.cell_statistics().control[drawn].toarray()
    prediction = model.predict(keys)
    expression = np.concatenate([base, *(np.maximum(base + change, 0.0) for change in prediction.mean)])
    spread = np.concatenate([np.zeros_like(base), *(np.broadcast_to(sd, base.shape) for sd in prediction.total_sd)])
    labels = [CONTROL_LABEL, *keys]
    obs = pd.DataFrame(
        {
            PERT_COL: pd.Categorical(np.repeat(labels, len(drawn)), categories=labels),
            "control_cell": np.tile(control.obs_names[drawn].to_numpy(str), len(labels)),
        },
        index=[f"{label}_{i}" for label in labels for i in range(len(drawn))],
    )
    return ad.AnnData(
        X=expression.astype(np.float32),
        obs=obs,
        var=pd.DataFrame(index=pd.Index(model.genes, name="gene")),
        layers={"sd": spread.astype(np.float32)},
        uns={
            "gearsplan": {
                **_provenance(bundle, screen.source),
                "pert_col": PERT_COL,
                "control_pert": CONTROL_LABEL,
                "cells_per_set": len(drawn),
                "seed": seed,
            }
        },
    )
