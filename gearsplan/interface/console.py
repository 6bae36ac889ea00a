"""The Rich consoles, progress bars and plain progress lines of the command line."""

from __future__ import annotations

import json
from contextlib import contextmanager
from time import monotonic
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

#: Tables and reports; ``--json`` documents go to plain stdout instead.
out = Console()
#: Progress and errors, so that stdout stays machine-readable.
err = Console(stderr=True)

#: Seconds between two plain progress lines when stderr is not a terminal.
LINE_INTERVAL = 10.0


def _bar() -> Progress:
    """A transient bar on stderr, for a terminal (where Rich redraws it in place)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def elapsed(seconds: float) -> str:
    """A duration as a log reads it.

    Parameters
    ----------
    seconds
        The duration in seconds; fractions are dropped.

    Returns
    -------
    str
        ``45s``, ``2m10s`` or ``1h05m``.
    """
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


@contextmanager
def _plain_lines() -> Iterator[Callable[[str], None]]:
    """Progress as plain lines on stderr, for a log or a pipe, where Rich cannot redraw a bar.

    A line is the state with the time since the start: the first state reported, then the latest
    one once ``LINE_INTERVAL`` seconds have passed since the last line, and on leaving, the final
    state if not yet printed. Nothing is printed until a state is reported, so an error raised
    before any progress stays the only line on stderr.

    Yields
    ------
    Callable[[str], None]
        Takes each state as text, e.g. ``evaluating on simulation splits: 3/9``.
    """
    start = monotonic()
    last_line: float | None = None
    pending: str | None = None

    def emit(state: str, now: float) -> None:
        nonlocal last_line, pending
        err.print(f"{state} ({elapsed(now - start)})", markup=False, highlight=False, soft_wrap=True)
        last_line, pending = now, None

    def report(state: str) -> None:
        nonlocal pending
        now = monotonic()
        if last_line is None or now - last_line >= LINE_INTERVAL:
            emit(state, now)
        else:
            pending = state

    try:
        yield report
    finally:
        if pending is not None:
            emit(pending, monotonic())


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Progress of long work: a transient Rich bar when stderr is a terminal, plain lines otherwise.

    Parameters
    ----------
    description
        What is in progress, e.g. ``evaluating on simulation splits``.

    Yields
    ------
    Callable[[int, int], None]
        The ``progress(done, total)`` callback that library functions take.
    """
    if err.is_terminal:
        with _bar() as bar:
            task = bar.add_task(description, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
    else:
        with _plain_lines() as line:
            yield lambda done, total: line(f"{description}: {done:,}/{total:,}")


def _training_state(members: int, member: int, epoch: int, loss: float, score: float | None) -> str:
    """``member 2/5 · epoch 7 · loss 0.1234``, with the validation score when there is one."""
    validation = "" if score is None else f" · validation top-20 MSE {score:.4f}"
    return f"member {member + 1}/{members} · epoch {epoch + 1} · loss {loss:.4f}{validation}"


@contextmanager
def training_bar(members: int, epochs: int) -> Iterator[Callable[[int, int, int, float, "float | None"], None]]:
    """Progress of training: a bar over members x epochs when stderr is a terminal, plain lines otherwise.

    Parameters
    ----------
    members
        Ensemble members to train.
    epochs
        Most epochs per member (early stopping may end a member sooner).

    Yields
    ------
    Callable[[int, int, int, float, float | None], None]
        The model layer's ``progress(member, epoch, epochs, loss, validation score)`` callback.
    """
    if err.is_terminal:
        with _bar() as bar:
            task = bar.add_task("training", total=members * epochs)

            def update(member: int, epoch: int, _epochs: int, loss: float, score: float | None) -> None:
                bar.update(
                    task,
                    completed=member * epochs + epoch + 1,
                    description=_training_state(members, member, epoch, loss, score),
                )

            yield update
    else:
        with _plain_lines() as line:
            yield lambda member, epoch, _epochs, loss, score: line(
                f"training: {_training_state(members, member, epoch, loss, score)}"
            )


def print_json(document: dict) -> None:
    """Print a ``--json`` document: strict JSON (no NaN), one object on stdout."""
    print(json.dumps(document, indent=2, allow_nan=False))
