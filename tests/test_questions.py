"""What a question may be: the length and emptiness check `ask`, `compare` and `search` share."""

from __future__ import annotations

import pytest

from assistant.question import check_question
from store.errors import QuestionError


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_an_empty_question_is_refused(question: str):
    with pytest.raises(QuestionError, match="the question is empty"):
        check_question(question, 1000)


def test_a_question_over_the_limit_is_refused_with_the_setting_named():
    assert check_question("x" * 20, 20) == "x" * 20
    with pytest.raises(QuestionError, match="21 characters; the limit is 20 .LAIDUB_MAX_QUESTION_CHARS."):
        check_question("x" * 21, 20)


def test_whitespace_is_normalised_before_counting():
    assert check_question("  Why  did\nYann   leave? ", 19) == "Why did Yann leave?"
