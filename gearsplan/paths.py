"""Where gearsplan keeps what it builds for the user: caches and, later, the default model."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The user's cache directory for gearsplan (``$GEARSPLAN_CACHE_DIR``, else XDG, else ~/.cache)."""
    explicit = os.environ.get("GEARSPLAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gearsplan"
