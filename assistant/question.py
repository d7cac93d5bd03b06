"""The one check every question passes before it reaches the store or the model: `ask`, `compare` and `search`."""

from __future__ import annotations

from store.errors import QuestionError


def check_question(question: str, limit: int, required: bool = True) -> str:
    """The question with its whitespace normalised; QuestionError if it is empty (when required) or over `limit`.

    An empty search would rank every chunk equally and return arbitrary hits, and a long one costs minutes
    of embedding and scoring, so `search` is held to the same rules as `ask`.
    """
    question = " ".join(question.split())
    if required and not question:
        raise QuestionError("the question is empty")
    if len(question) > limit:
        raise QuestionError(
            f"the question is {len(question)} characters; the limit is {limit} "
            "(LAIDUB_MAX_QUESTION_CHARS). Ask about one thing at a time."
        )
    return question
