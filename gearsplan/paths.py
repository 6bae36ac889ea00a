"""Where gearsplan keeps what it builds for the user (caches, the default model), and how it writes files atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gearsplan.errors import GearsplanError


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


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary file path beside ``path``, renamed onto it when the block succeeds and removed when it fails.

    Raises
    ------
    GearsplanError
        If the directory cannot be written.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise GearsplanError(f"cannot write {path}: {error.strerror}", "choose a writable location") from None
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
