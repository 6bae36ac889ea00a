"""Errors a user can cause: reported as one line with a hint, never a traceback."""

from __future__ import annotations


class GearsplanError(Exception):
    """A problem with the user's input, reported by the CLI as one line and exit code 2.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    hint
        What the user can do about it.
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message
