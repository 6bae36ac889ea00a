"""The human transcription factors (Lambert et al. 2018), read once per process."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

#: The shipped list: one symbol a line (gearsplan/resources/PROVENANCE.md).
TF_LIST = files("gearsplan") / "resources" / "tf_human_lambert2018.txt"


@lru_cache(maxsize=1)
def transcription_factors() -> frozenset[str]:
    """The 1,639 human transcription factors of Lambert et al. 2018 (Cell 172:650), as symbols."""
    return frozenset(line.strip() for line in TF_LIST.read_text(encoding="utf-8").splitlines() if line.strip())
