"""Errors a user can act on. The CLI prints them as one line (exit 2); the UI shows them."""


class ModelError(Exception):
    """The model cannot be found, assembled or loaded; the message says what to do."""


class LLMError(Exception):
    """Generation failed for a reason the user can fix: server unreachable, prompt too long."""


class QuestionError(ValueError):
    """The question itself cannot be answered as asked: empty, or over the length limit."""
