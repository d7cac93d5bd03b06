"""What a question may be, and how text is read: the length and emptiness check `ask`, `compare` and `search`
share, and sentence splitting around abbreviations."""

from __future__ import annotations

import pytest

from assistant.context import sentences
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LeCun vs. Hinton on world models [1]. He left Meta.", ["LeCun vs. Hinton on world models [1].", "He left Meta."]),
        ("Labs in the U.S. and China race, e.g. OpenAI. Dr. Hassabis agrees.",
         ["Labs in the U.S. and China race, e.g. OpenAI.", "Dr. Hassabis agrees."]),
        ("Mr. Altman and Prof. Bengio, i.e. two views. Next.", ["Mr. Altman and Prof. Bengio, i.e. two views.", "Next."]),
        ("It costs 3.5 dollars. Then what? Nothing!", ["It costs 3.5 dollars.", "Then what?", "Nothing!"]),
        ("Yann left Meta. [1] He founded AMI [2].", ["Yann left Meta. [1]", "He founded AMI [2]."]),
        ("He said “no.” Then he left.", ["He said “no.”", "Then he left."]),
        ("杨立昆离开了Meta。[1]他创办了AMI！对吗？", ["杨立昆离开了Meta。[1]", "他创办了AMI！", "对吗？"]),
    ],
)
def test_sentences_end_at_terminators_not_at_abbreviations(text: str, expected: list[str]):
    assert sentences(text) == expected


def test_sentence_splitting_is_linear_on_hostile_text():
    assert len(sentences("a. " * 50_000)) == 1  # every "a." is an initial-like abbreviation before a lowercase word
    assert len(sentences("A. B. " * 25_000)) == 1
