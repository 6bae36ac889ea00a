"""gearsplan's Python API on an AnnData in memory: read, train, predict, save, suggest, map interactions, evaluate.

Run it as ``python examples/quickstart.py`` (about a minute on two cores). It trains a small, quick ensemble
on the embedded Norman 2019 subset; drop ``ensemble`` and ``epochs`` for the defaults (5 members, 100 epochs),
or use ``gp.load_model()`` for the default model. docs/api.md lists each call beside its command line.
"""

from pathlib import Path
from tempfile import TemporaryDirectory

import anndata as ad

import gearsplan as gp
from gearsplan.data.embedded import NORMAN2019

adata = ad.read_h5ad(NORMAN2019)  # any AnnData of cells x genes with a perturbation column in obs
screen = gp.read_screen(adata)  # the column and the control label are detected; name them if not
print(f"{len(screen.perturbations)} perturbations, {screen.adata.n_obs} cells")

model = gp.train(screen, ensemble=3, epochs=5, seed=1)  # learns from every perturbation
pred = model.predict(["CEBPB+FOSB", "KLF1"])  # AnnData: one row per set, X the change over control
print(pred.obs)

with TemporaryDirectory() as folder:
    saved = model.save(Path(folder) / "model")  # a bundle directory that travels without its h5ad
    model = gp.load_model(saved.path)

    plan = gp.suggest(model, budget=10, expand=20)  # the next experiments, each with its reason
    print(plan[["rank", "genes", "kind", "reason", "expected_gain"]].to_string(index=False))

    gi = gp.gi_map(model, ["CEBPB", "FOSB", "KLF1", "MAPK1"])  # GI scores and calls of every pair
    print(gi[["gene_a", "gene_b", "source", "magnitude", "calls"]].to_string(index=False))

    # Held-out scores: a bundle's hyperparameters retrained on each split, beside the baselines.
    ev = gp.evaluate(screen, models=(str(saved.path), "baselines"), split="simulation", seeds=(1,))
    print(ev[ev.stratum == "all"][["model", "n", "pearson_delta", "mse_top20"]].to_string(index=False))
