"""What answering produces: an Answer, or a Comparison with one row per person, and their timings.

Plain values, passed from the Assistant to every surface (CLI, JSON, web); they import nothing
that answers, so any module may use them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from assistant.citations import Citation
from assistant.context import Source


@dataclass
class Answer:
    question: str
    language: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    model: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)  # retrieve, first_token, total
    standalone_question: str = ""
    rows: list[CompareRow] = field(default_factory=list)  # compare mode: one per person


@dataclass
class CompareRow:
    person: str
    episode_title: str
    position: str  # in the answer's language; a "no view" / "not in any episode" message when citation is None
    quote: str  # the cited chapter's pull quote, in its original words
    citation: Citation | None


@dataclass
class Comparison(Answer):
    topic: str = ""
    summary: str = ""  # where they agree and differ, written from the rows' positions only


def ms_since(started: float) -> float:
    """Milliseconds since a time.perf_counter() reading, as timings_ms holds them."""
    return round((time.perf_counter() - started) * 1000, 1)
