"""How the pair law's strength sets the GI magnitude of Norman's measured pairs (docs/model.md, "The pair law").

``python benchmarks/pair_law.py``: for each strength of ``gearsplan.model.training.PAIR_LAWS``, every measured pair
whose two singles were measured is predicted as the sum of its singles shrunk by their sampling noise
(``gearsplan.model.composition.signal_parts``); printed are the mean |predicted − measured| GI magnitude (Norman et al.'s Theil–Sen
coefficients on the well-expressed genes, as ``evaluate --gi`` reads them) and the top-20-DE MSE. In-sample: the
model chooses its strength on its own training pairs only.
"""

from __future__ import annotations

import numpy as np

from gearsplan.analysis.gi_evaluation import scorable_pairs
from gearsplan.data.conditions import genes_of
from gearsplan.data.prepared import prepare
from gearsplan.data.screen import read_screen
from gearsplan.model.composition import signal_parts
from gearsplan.model.pair_fit import interaction_coefficients, well_expressed
from gearsplan.model.training import PAIR_LAWS


def main() -> None:
    data = prepare(read_screen())
    bulk = data.bulk
    pairs = scorable_pairs(data)
    singles = sorted({g for k in pairs for g in genes_of(k)})
    changes, noise = bulk.changes(singles), bulk.single_noise(singles)
    scored = well_expressed(bulk.control)
    first, second = (bulk.delta[bulk.rows([genes_of(k)[i] for k in pairs])][:, scored] for i in (0, 1))
    true = bulk.delta[bulk.rows(pairs)]
    magnitude = lambda changes: np.hypot(*interaction_coefficients(first, second, changes[:, scored])[0].T)  # noqa: E731
    measured = magnitude(true)
    top = data.de.matrix(pairs)
    print(f"{len(pairs)} pairs; measured GI magnitudes {np.round(measured, 3).tolist()}")
    print("strength  mean |magnitude error|  top-20 MSE")
    for strength in PAIR_LAWS:
        parts = signal_parts(changes, noise, strength)
        summed = np.stack([sum(parts[g] for g in genes_of(k)) for k in pairs])
        error = np.abs(magnitude(summed) - measured).mean()
        mse = ((np.take_along_axis(summed, top, 1) - np.take_along_axis(true, top, 1)) ** 2).mean()
        print(f"{strength:8.2f}  {error:21.3f}  {mse:10.4f}")


if __name__ == "__main__":
    main()
