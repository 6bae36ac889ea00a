"""What the shipped files know about any perturbable gene, as numbers a model can learn from."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from gearsplan.data.embedded import STRING_V12
from gearsplan.data.gene_types import PROTEIN_CODING, gene_types
from gearsplan.knowledge.go_profiles import EMBEDDING_COMPONENTS, go_profiles
from gearsplan.knowledge.transcription_factors import transcription_factors

#: The columns of :func:`knowledge_summary`, each in [0, 1].
SUMMARY_COLUMNS = ("transcription factor", "GO annotation", "STRING partners", "protein-coding")
#: The columns of :func:`knowledge_features`.
KNOWLEDGE_WIDTH = len(SUMMARY_COLUMNS) + EMBEDDING_COMPONENTS


def knowledge_features(genes: Sequence[str]) -> np.ndarray:
    """Genes x (:data:`SUMMARY_COLUMNS` + GO embedding): the :func:`knowledge_summary` of each gene beside
    its coordinates on the GO profiles' principal directions (:meth:`GoProfiles.embedding
    <gearsplan.knowledge.go_profiles.GoProfiles.embedding>`); a gene the files do not know is all zeros."""
    return np.hstack([knowledge_summary(genes), go_profiles().embedding([[g] for g in genes])])


def knowledge_summary(genes: Sequence[str]) -> np.ndarray:
    """Genes x :data:`SUMMARY_COLUMNS`: whether the gene is a transcription factor (Lambert et al. 2018),
    how much GO says of it, how many STRING partners it has, and whether it codes for a protein.

    The amounts are log(1 + x) over log(1 + the largest x of any gene), x the summed rarity (inverse
    document frequency) of the gene's GO terms, or its count of STRING partners: a gene a few specific
    terms describe counts for more than one with a single broad term, and 0 means nothing is known.
    """
    tfs = transcription_factors()
    types = gene_types()
    go, string = go_annotation(), string_partners()
    return np.array(
        [
            [
                float(g in tfs),
                go.get(g, 0.0),
                string.get(g, 0.0),
                float(types.get(g) == PROTEIN_CODING),
            ]
            for g in genes
        ]
    )


@lru_cache(maxsize=1)
def go_annotation() -> dict[str, float]:
    """Each GO-annotated gene's summed term rarity, as log(1 + x) / log(1 + the largest)."""
    profiles = go_profiles()
    mass = np.log1p(profiles.annotations @ profiles.idf)
    return dict(zip(profiles.index, mass / mass.max()))


@lru_cache(maxsize=1)
def string_partners() -> dict[str, float]:
    """Each STRING gene's count of partners in the shipped network, as log(1 + x) / log(1 + the largest)."""
    table = pd.read_csv(STRING_V12, sep="\t", usecols=["symbol_a", "symbol_b"], dtype=str)
    counts = pd.concat([table["symbol_a"], table["symbol_b"]]).value_counts()
    amount = np.log1p(counts.to_numpy(dtype=float))
    return dict(zip(counts.index, amount / amount.max()))
