"""Whether a perturbed gene's own control expression and co-expression partners tell the size of its effect.

``python benchmarks/effect_size_expression.py``: on each embedded screen (Norman 2019, CRISPRa; Papalexi 2021,
CRISPR knockout) the effect-size map (:func:`gearsplan.model.effect_size.fit_effect_sizes`, its prior and
strength) is fitted leave-one-out on the measured singles, with the four knowledge columns alone and with
three more for a perturbed gene that is a measured gene: measured (1/0), its mean control expression over the
largest, and the summed |Pearson| of its top-5 co-expression partners above 0.4 in the control cells, over 5
(0 for an unmeasured gene; prior weight 0). Printed: the leave-one-out mean squared error of the log size
under each, and the weights the extended map fits on all singles.
"""

from __future__ import annotations

import numpy as np

from gearsplan.data.conditions import CONTROL_KEY
from gearsplan.data.embedded import PAPALEXI2021
from gearsplan.data.pseudobulk import pseudobulk
from gearsplan.data.screen import read_screen
from gearsplan.knowledge.coexpression import coexpression_graph
from gearsplan.knowledge.gene_knowledge import knowledge_summary
from gearsplan.model.effect_size import signal_size
from gearsplan.model.model_config import SizeConfig

#: GEARS's co-expression graph settings (TrainConfig's defaults).
PARTNERS, THRESHOLD = 5, 0.4


def expression_columns(screen, bulk, genes: list[str]) -> np.ndarray:
    """Per gene: measured, control expression over the largest, summed top-5 |Pearson| over 5."""
    cells = screen.adata[(screen.keys == CONTROL_KEY).to_numpy()].X
    graph = coexpression_graph(cells, screen.genes, PARTNERS, THRESHOLD)
    strength = np.bincount(graph.targets, weights=graph.weights, minlength=len(screen.genes)) / PARTNERS
    column = {g: i for i, g in enumerate(bulk.genes)}
    level = bulk.control / bulk.control.max()
    return np.array([[1.0, level[column[g]], strength[column[g]]] if g in column else [0.0, 0.0, 0.0] for g in genes])


def loo_error(x: np.ndarray, y: np.ndarray, prior: np.ndarray, strength: float) -> float:
    """Leave-one-out mean squared error of the ridge-toward-prior fit of y on x (intercept free)."""
    errors = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        weights = fit(x[keep], y[keep], prior, strength)
        intercept = y[keep].mean() - x[keep].mean(axis=0) @ weights
        errors.append((y[i] - intercept - x[i] @ weights) ** 2)
    return float(np.mean(errors))


def fit(x: np.ndarray, y: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """The effect-size map's weights (as :func:`~gearsplan.model.effect_size.fit_effect_sizes`)."""
    centred = x - x.mean(axis=0)
    return np.linalg.solve(
        centred.T @ centred + strength * np.eye(len(prior)), centred.T @ (y - y.mean()) + strength * prior
    )


def main() -> None:
    config = SizeConfig()
    for name, path in (("norman", None), ("papalexi", PAPALEXI2021)):
        screen = read_screen(path)
        bulk = pseudobulk(screen)
        keys = [k for k in bulk.keys if "+" not in k and k != "control"]
        singles, noise = bulk.singles(keys), bulk.single_noise(keys)
        genes = sorted(singles)
        y = np.log([signal_size(singles[g], noise.get(g)) for g in genes])
        base = knowledge_summary(genes)
        extended = np.hstack([base, expression_columns(screen, bulk, genes)])
        prior = np.array(config.prior)
        wide = np.concatenate([prior, np.zeros(3)])
        print(
            f"{name}: {len(genes)} singles, {int(extended[:, 4].sum())} measured targets; leave-one-out MSE of log size: "
            f"knowledge {loo_error(base, y, prior, config.strength):.4f}, "
            f"+ expression {loo_error(extended, y, wide, config.strength):.4f}; "
            f"extended weights {np.round(fit(extended, y, wide, config.strength), 3).tolist()}"
        )


if __name__ == "__main__":
    main()
