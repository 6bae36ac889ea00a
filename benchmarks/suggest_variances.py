"""How large a pair's interaction variance is next to a single's variance, on the candidates of ``suggest``.

``python benchmarks/suggest_variances.py [--model DIR] [--budget 50]`` scores the candidates ``suggest --budget``
would (the untested singles and pairs of the genes of interest; the same exactly predicted pairs) with the model
(default: the default model) on its screen, and prints the median and 10th-90th percentiles of the singles'
variance (uncertainty squared) and of the exact pairs' interaction variance. ``docs/experiment_design.md`` reads
it to say why every untested pair of the genes of interest is not a target of the learn objective.
"""

from __future__ import annotations

import argparse

import numpy as np

from gearsplan.analysis.model_screen import bundle_screen, ensure_model
from gearsplan.analysis.prediction import screen_model
from gearsplan.design.candidates import Measured, candidate_pairs, candidate_singles
from gearsplan.design.gene_space import genes_of_interest
from gearsplan.design.graph_reach import GraphReach
from gearsplan.design.signals import pair_signals, single_signals
from gearsplan.design.suggestion import EXACT_PAIRS_FACTOR, EXACT_PAIRS_MIN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--budget", type=int, default=50)
    args = parser.parse_args()
    bundle = ensure_model(args.model)
    bulk = bundle_screen(bundle, None).bulk
    model = screen_model(bundle, bulk)
    measured = Measured(frozenset(bulk.keys))
    space = genes_of_interest(measured, model.go.genes)
    reach = GraphReach.build(model.go, measured.perturbed_genes, space.targets)
    singles = single_signals(model, candidate_singles(space.genes, measured), reach)
    refine = max(EXACT_PAIRS_MIN, EXACT_PAIRS_FACTOR * args.budget)
    pairs = pair_signals(model, candidate_pairs(measured, space.genes, False), reach, bulk.control, refine)
    for name, values in (
        (f"single variance ({len(singles)} singles)", singles.uncertainty**2),
        (f"pair interaction variance ({int(pairs.exact.sum())} exact pairs)", pairs.interaction[pairs.exact]),
    ):
        low, median, high = np.percentile(values, [10, 50, 90])
        print(f"{name}: median {median:.2e}, 10-90% {low:.2e}-{high:.2e}")


if __name__ == "__main__":
    main()
