"""Peak memory of one untrained member's predictions of 1,000 sets x 5,000 genes: all at once, or a chunk at a time.

``PYTHONPATH=. python benchmarks/validation_memory.py whole|chunked``: what ``validation_mse`` did before
and does now with the validation sets of ``train_10k_sets``.
"""

import resource
import sys

from run import untrained_model

G, S = 5000, 1000
model, go = untrained_model(G)
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
