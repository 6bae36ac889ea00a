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


def data_dir() -> Path:
    """Where gearsplan keeps what the user made: ``$GEARSPLAN_DATA_DIR``, else XDG, else ~/.local/share."""
    explicit = os.environ.get("GEARSPLAN_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gearsplan"


def default_model_dir() -> Path:
    """The model every command uses unless ``--model`` names another."""
    return data_dir() / "models" / "default"
