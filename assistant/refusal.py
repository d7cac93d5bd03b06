"""Decide in code whether the episodes cover a question, from retrieval evidence.

Telling a small model to say "I don't know" does not work: it answers anyway. So the
decision is made before generation, from what retrieval found, and again after it (an
answer with no supported sentence is a refusal; see answer.py).
"""

from __future__ import annotations

from store.library import Library
from store.retrieve import Hit


def covered(question: str, hits: list[Hit], library: Library) -> bool:
    return bool(hits)
