"""How differently the default model predicts genes the screen never perturbed (issue 25's check).

``python benchmarks/unmeasured_genes.py [--model DIR]``: predicts each of twelve unmeasured genes alone, seven
transcription factors and five others, as ``gearsplan predict GENE --top 500 --json`` does, and prints the
mean distance of the predicted changes from their average over the norm of that average, the coefficient
of variation of their norms, and the mean norm of the TFs and of the others.
"""

from __future__ import annotations

import argparse

import numpy as np

from gearsplan.analysis.model_screen import bundle_screen, ensure_model
from gearsplan.analysis.prediction import predict_perturbation

TFS = ("TP53", "GATA1", "MYC", "SPI1", "JUN", "CEBPA", "TAL1")
OTHERS = ("OR2M2", "ACTB", "GAPDH", "HBG1", "ALB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model bundle directory (default: the default model)")
    args = parser.parse_args()
    bundle = ensure_model(args.model)
    bulk = bundle_screen(bundle).bulk
    changes = np.stack(
        [
            predict_perturbation(bundle, bulk, [gene], top=len(bulk.genes))
            .top_de.sort_values("gene")["predicted_change"]
            .to_numpy()
            for gene in (*TFS, *OTHERS)
        ]
    )
    average = changes.mean(axis=0)
    norms = np.linalg.norm(changes, axis=1)
    print(
        f"mean distance from the average / norm of the average: {np.linalg.norm(changes - average, axis=1).mean() / np.linalg.norm(average):.3f}"
    )
    print(f"coefficient of variation of the norms: {norms.std() / norms.mean():.3f}")
    print(f"mean norm: TFs {norms[: len(TFS)].mean():.3f}, others {norms[len(TFS) :].mean():.3f}")


if __name__ == "__main__":
    main()
