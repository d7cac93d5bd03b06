"""Errors a user can act on, under one base: each surface catches `UserError` in one place.

The CLI prints its message as one line (exit 2, or {"error": ...} with --json); the web app shows it.
Anything else that escapes is a bug, and is allowed to look like one.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message says what, in one line."""


class ParseError(UserError):
    """A file that cannot be read as any supported format; names the file and the problem."""

    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class UnknownFilter(UserError):
    """A filter names an episode, person, kind or language the library does not have."""


class QuestionError(UserError):
    """The question cannot be answered as asked: empty, or over the length limit."""


class ModelError(UserError):
    """The model cannot be found, assembled or loaded; the message says what to do."""


class LLMError(UserError):
    """Generation failed for a reason the user can fix: server unreachable, prompt too long."""


class SettingsError(UserError):
    """A setting, environment variable or command option has a value that cannot work."""
