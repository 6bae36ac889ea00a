"""Where gearsplan keeps what it builds for the user (caches, the default model), and how it writes files atomically."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
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


def through_link(path: Path | str) -> Path:
    """``path``, or where it leads if it is a symbolic link: a rename onto the link would replace the link, not what it names.

    Raises
    ------
    GearsplanError
        If the link leads back to itself, so that nothing but the link could be replaced.
    """
    path = Path(path)
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if target.is_symlink():  # realpath stops at a loop and returns a link in it
        raise GearsplanError(
            f"{path} is a symbolic link that leads back to itself", "point it at a file, or name another path"
        )
    return target


def output_target(path: Path | str, directory: bool = False) -> Path:
    """``path``, through a symbolic link, unless it is of the wrong kind: a directory for a file, a file for ``directory``, or a device, pipe or socket.

    Raises
    ------
    GearsplanError
        If ``path`` is of the wrong kind (a rename would replace a device, pipe or socket, not write to it), or as :func:`through_link`.
    """
    path = through_link(path)
    hint = "name a directory to write into" if directory else "name the file to write"
    if path.exists() and not path.is_file() and not path.is_dir():
        raise GearsplanError(f"{path} is not a regular file (a device, pipe or socket)", hint)
    if directory and path.is_file():
        raise GearsplanError(f"{path} is a file", hint)
    if not directory and path.is_dir():
        raise GearsplanError(f"{path} is a directory", hint)
    return path


def check_replaceable(path: Path | str, ours: Callable[[str], bool], what: str, hint: str) -> Path:
    """``path``, if a new ``what`` may replace the directory there: nothing yet, or a directory of files ``ours`` accepts by name.

    Raises
    ------
    GearsplanError
        If ``path`` is a file, or holds a file that is not ``ours``: replacing the directory must
        never take a user's files with it; or as :func:`through_link`.
    """
    path = through_link(path)
    if path.exists() and not path.is_dir():
        raise GearsplanError(f"{path} is a file, not {what}", hint)
    strangers = sorted(p.name for p in path.iterdir() if not ours(p.name)) if path.is_dir() else []
    if strangers:
        shown = ", ".join(strangers[:3]) + (", ..." if len(strangers) > 3 else "")
        raise GearsplanError(f"{path} holds files that are not part of {what} ({shown}); it was left as it is", hint)
    return path


def temporary_beside(path: Path, hint: str, directory: bool = False) -> Path:
    """A new temporary file (or directory) beside ``path``, to be renamed onto it; ``path``'s directory is made if need be.

    It gets the mode a plain ``open(path, "w")`` or ``mkdir`` would give (0644 or 0755 under
    umask 022), not ``tempfile``'s private 0600 or 0700: what it becomes is the user's output.

    Raises
    ------
    GearsplanError
        If that directory cannot be made or written, saying why in one line.
    """
    # A random name, created exclusively like tempfile's; the kernel applies the umask to the
    # mode asked for, so the umask is never read: os.umask can only be read by setting it, which
    # is process-wide and would race with other threads creating files.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if directory:
            temporary.mkdir(0o777)
        else:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        blocker = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
        raise GearsplanError(
            f"cannot write {path}: {f'{blocker} is a file' if blocker else error.strerror}", hint
        ) from None
    return temporary


def save_cache(file: Path, **arrays) -> None:
    """Write ``arrays`` to the cache file ``file`` (an uncompressed ``.npz``, read back without pickle) atomically; an
    unwritable cache only costs building its content again next time."""
    import numpy as np  # here: ``gearsplan --help`` imports this module

    try:
        with atomic_path(file) as temporary, temporary.open("wb") as handle:
            np.savez(handle, **arrays)
    except (OSError, GearsplanError):
        pass


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary file path beside ``path``, renamed onto it when the block succeeds and removed when it fails.

    Raises
    ------
    GearsplanError
        As :func:`output_target` and :func:`temporary_beside`.
    """
    path = output_target(path)
    temporary = temporary_beside(path, "choose a writable location")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
