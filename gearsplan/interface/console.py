"""The Rich consoles and progress bars of the command line."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: Tables and reports; ``--json`` documents go to plain stdout instead.
out = Console()
#: Progress and errors, so that stdout stays machine-readable.
err = Console(stderr=True)


def _bar() -> Progress:
    """A transient bar on stderr; off when stderr is not a terminal, where Rich cannot redraw it
    and a transient bar leaves only an empty line in the log."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient Rich bar on stderr; yields a ``(done, total)`` callback for library code."""
    with _bar() as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@contextmanager
def training_bar(members: int, epochs: int) -> Iterator[Callable[[int, int, int, float, "float | None"], None]]:
    """A bar over members x epochs; yields the training-progress callback of the model layer."""
    with _bar() as bar:
        task = bar.add_task("training", total=members * epochs)

        def update(member: int, epoch: int, _epochs: int, loss: float, score: float | None) -> None:
            validation = "" if score is None else f" · validation top-20 MSE {score:.4f}"
            bar.update(task, completed=member * epochs + epoch + 1, description=f"member {member + 1}/{members} · epoch {epoch + 1} · loss {loss:.4f}{validation}")

        yield update


def print_json(document: dict) -> None:
    """Print a ``--json`` document: strict JSON (no NaN), one object on stdout."""
    print(json.dumps(document, indent=2, allow_nan=False))
