"""What the shipped files know about any perturbable gene, as numbers a model can learn from."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from gearsplan.data.embedded import GENE2GO, GENE_TYPES, STRING_V12, TRANSCRIPTION_FACTORS
from gearsplan.data.gene_types import PROTEIN_CODING, gene_types
from gearsplan.knowledge.go_profiles import EMBEDDING_COMPONENTS, go_profiles
from gearsplan.knowledge.transcription_factors import transcription_factors
from gearsplan.paths import cache_dir, save_cache

#: The columns of :func:`knowledge_summary`, each in [0, 1].
SUMMARY_COLUMNS = ("transcription factor", "GO annotation", "STRING partners", "protein-coding")
#: The columns of :func:`knowledge_features`.
KNOWLEDGE_WIDTH = len(SUMMARY_COLUMNS) + EMBEDDING_COMPONENTS
#: The shipped files the features are computed from: the disk cache is keyed on their bytes.
_SOURCES = (GENE2GO, STRING_V12, TRANSCRIPTION_FACTORS, GENE_TYPES)
# Bump when the way the features are computed changes, so old cache files are not reused.
_CACHE_VERSION = 1


def knowledge_features(genes: Sequence[str]) -> np.ndarray:
    """Genes x (:data:`SUMMARY_COLUMNS` + GO embedding): the :func:`knowledge_summary` of each gene beside
    its coordinates on the GO profiles' principal directions (:meth:`GoProfiles.embedding
    <gearsplan.knowledge.go_profiles.GoProfiles.embedding>`); a gene the files do not know is all zeros.

    Computed once per process for a given gene list, and kept on disk under ``cache_dir() / "gene_knowledge"``
    (NumPy ``.npz``, read without pickle) keyed on the shipped files' bytes and the genes: every model
    asks for all ~20,700 GO genes, which takes about a second to compute from the files. A copy, free to modify.
    """
    return _cached_features(tuple(genes)).copy()


@lru_cache(maxsize=4)
def _cached_features(genes: tuple[str, ...]) -> np.ndarray:
    file = _cache_file(genes)
    features = _load(file, len(genes))
    if features is None:
        features = np.hstack([knowledge_summary(genes), go_profiles().embedding([[g] for g in genes])])
        save_cache(file, features=features)
    return features


def _cache_file(genes: tuple[str, ...]) -> Path:
    digest = hashlib.sha256(f"version={_CACHE_VERSION}".encode())
    for source in _SOURCES:
        digest.update(Path(source).read_bytes())
    digest.update("\n".join(genes).encode())
    return cache_dir() / "gene_knowledge" / f"{digest.hexdigest()}.npz"


def _load(file: Path, n_genes: int) -> np.ndarray | None:
    """The cached features, or None when the file is missing, unreadable, malformed or of the wrong shape."""
    try:
        with np.load(file, allow_pickle=False) as data:
            features = data["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return features if features.shape == (n_genes, KNOWLEDGE_WIDTH) and features.dtype == np.float64 else None


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
    import pandas as pd  # here: read once into a cache, and predict's start-up need not import pandas

    table = pd.read_csv(STRING_V12, sep="\t", usecols=["symbol_a", "symbol_b"], dtype=str)
    counts = pd.concat([table["symbol_a"], table["symbol_b"]]).value_counts()
    amount = np.log1p(counts.to_numpy(dtype=float))
    return dict(zip(counts.index, amount / amount.max()))
