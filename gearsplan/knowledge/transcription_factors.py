"""The human transcription factors (Lambert et al. 2018), read once per process."""

from __future__ import annotations

from functools import lru_cache

from gearsplan.data.embedded import TRANSCRIPTION_FACTORS


@lru_cache(maxsize=1)
def transcription_factors() -> frozenset[str]:
    """The 1,639 human transcription factors of Lambert et al. 2018 (Cell 172:650), as symbols
    (gearsplan/resources/PROVENANCE.md)."""
    return frozenset(TRANSCRIPTION_FACTORS.read_text(encoding="utf-8").split())
