"""Where ``gearsplan predict FOSB CEBPB`` spends its CPU time, step by step in one fresh process.

``PYTHONPATH=. python benchmarks/predict_startup_steps.py``, with the default model trained (``gearsplan train``):
the imports (predict's own: not pandas, nor the training code), naming the genes, the GO graph, the knowledge
features, the rest of loading the bundle, then the prediction and its printing, in CPU seconds (``time.process_time``), each measured after the steps before it.
"""

import contextlib
import io
import sys
import time

last = time.process_time()


def step(name: str) -> None:
    global last
    now = time.process_time()
    print(f"{name:44s} {now - last:5.2f} CPU s")
    last = now


from gearsplan.interface import cli  # noqa: E402

step("import the CLI (typer, rich)")
import scipy.sparse  # noqa: E402, F401

step("import scipy.sparse")
import torch  # noqa: E402, F401

step("import torch")
from gearsplan.analysis import prediction  # noqa: E402, F401

step("import gearsplan's modules for predict")
assert "pandas" not in sys.modules, "predict should not import pandas"
from gearsplan.api import check_gene_names, load_model  # noqa: E402

check_gene_names(["FOSB", "CEBPB"])
step("name the genes (the gene table)")
from gearsplan.knowledge.gene_knowledge import knowledge_features  # noqa: E402
from gearsplan.knowledge.go_graph import build_go_graph  # noqa: E402

go = build_go_graph()
step("the GO graph from its cache")
knowledge_features(go.genes)
step("the knowledge features of the GO genes")
model = load_model()
step("the rest of loading the bundle")
sys.argv = ["gearsplan", "predict", "FOSB", "CEBPB", "--json"]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli.main()
step("predict FOSB CEBPB again, after all the above")
