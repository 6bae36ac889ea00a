"""What a screen holds: cells, perturbations, and how its perturbed genes sit in the GO graph."""

from __future__ import annotations

import numpy as np

from gearsplan.data.conditions import CONTROL_KEY, genes_of
from gearsplan.data.screen import Screen
from gearsplan.knowledge.go_graph import cached_term_matrix


def describe(screen: Screen) -> dict:
    """The ``data info --json`` document (DESIGN.md "Machine-readable output")."""
    counts = screen.keys.value_counts()
    keys = screen.perturbations
    sizes = np.array([len(genes_of(k)) for k in keys])
    cells = np.array([counts[k] for k in keys])
    perturbed = screen.perturbed_genes()
    in_go = set(cached_term_matrix()[0])
    measured = set(screen.genes)
    return {
        "source": screen.source,
        "n_cells": int(screen.adata.n_obs),
        "n_genes": int(screen.adata.n_vars),
        "n_control_cells": int(counts[CONTROL_KEY]),
        "n_perturbations": len(keys),
        "n_single": int((sizes == 1).sum()),
        "n_pair": int((sizes == 2).sum()),
        "n_higher": int((sizes > 2).sum()),
        "cells_per_perturbation": {"min": int(cells.min()), "median": float(np.median(cells)), "max": int(cells.max())},
        "n_perturbed_genes": len(perturbed),
        "n_perturbed_genes_measured": sum(g in measured for g in perturbed),
        "n_perturbed_genes_in_go": sum(g in in_go for g in perturbed),
        "perturbed_genes_not_in_go": [g for g in perturbed if g not in in_go],
        "condition_col": screen.condition_col,
        "control_labels": list(screen.control_labels),
        "detection": list(screen.notes),
        "gene_selection": None if screen.selection is None else screen.selection.to_json(),
        "streamed": screen.streamed,
        "warnings": list(screen.warnings),
        "perturbations": [{"genes": list(genes_of(k)), "n_cells": int(n)} for k, n in zip(keys, cells)],
    }
