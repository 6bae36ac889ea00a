"""Peak memory of one untrained member's predictions of 1,000 sets x 5,000 genes: all at once, or a chunk at a time.

``PYTHONPATH=. python benchmarks/validation_memory.py whole|chunked``: what ``validation_mse`` did before
and does now with the validation sets of ``train_10k_sets``.
"""

import resource
import sys

import numpy as np

from gearsplan.knowledge.gene_graph import GeneGraph
from gearsplan.knowledge.go_graph import build_go_graph
from gearsplan.model.ensemble import GearsModel
from gearsplan.model.network import NetworkConfig

G, S = 5000, 1000
go = build_go_graph()
genes, none = go.genes[:G], np.zeros(0, np.int64)
zeros = np.zeros(G)
measured = dict(zip(go.genes[-100:], np.random.default_rng(0).normal(size=(100, G))))
model = GearsModel(
    NetworkConfig(G, go.n_genes),
    genes,
    go,
    GeneGraph(genes, none, none, np.zeros(0, np.float32)),
    zeros,
    zeros,
    zeros,
    measured,
)
member = model.new_member()
keys = list(go.genes[G : G + S])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if sys.argv[1] == "whole":
    model.member_predictions(keys, [member])
else:
    for s in range(0, S, model.chunk):
        model.member_predictions(keys[s : s + model.chunk], [member])
print(
    sys.argv[1],
    "chunk",
    model.chunk,
    "before MB",
    round(before),
    "peak MB",
    round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
)
