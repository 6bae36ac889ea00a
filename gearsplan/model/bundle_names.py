"""The names a saved bundle resolves genes against, read from its ``genes.json`` alone: no torch, no checksums.

So ``predict`` refuses a gene it cannot name (``unknown gene 'FOOBAR1' (hint: did you mean ...)``) before it
imports torch and loads the model; loading verifies the bundle in full afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path


def carried_names(path: str | Path) -> frozenset[str] | None:
    """The names :func:`~gearsplan.analysis.prediction.resolve_genes` accepts as they are with the screen the
    bundle at ``path`` carries: its measured genes and the genes its screen measured alone.

    Returns
    -------
    frozenset[str] or None
        None where ``path`` holds no readable bundle carrying its screen: loading it then decides.
    """
    try:
        genes = json.loads((Path(path) / "genes.json").read_text())
        return frozenset(genes["genes"]) | frozenset(key for key in genes["screen"] if "+" not in key)
    except (OSError, ValueError, KeyError, TypeError):
        return None
