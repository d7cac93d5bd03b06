"""Decide in code whether the episodes cover a question, from retrieval evidence.

Telling a small model to say "I don't know" does not work: it answers anyway. Retrieval
always returns *something*, and similarity scores do not separate "Demis on regret" from
"Demis on quantum computing". What does: whether the question's topic words (names taken
out) occur in the chapters retrieved for it. Words are compared across languages through
glosses, in both directions: Chinese question words become English ("后悔" -> regret), and
Chinese chapter words become English too, so "define" finds "定义". What is not the topic is
not looked for: courtesy and answer-length words ("please", "in short", "谢谢") are stopwords,
and a bracketed aside ("(session 0)") qualifies the question without changing its topic.

An answer whose sentences no source supports is also a refusal (see answer.py).
"""

from __future__ import annotations

import re

from store.glossary import compounds
from store.lexical import expand, gloss_stems, tokenize
from store.library import Library
from store.retrieve import Hit

EVIDENCE_HITS = 5
MIN_COVERAGE = 0.5  # share of the question's topic words the retrieved chapters must contain
# A bracketed aside ("(session 0)", "（再问一次）") qualifies a question without changing its topic, so its words
# are not looked for, unless the rest is only a pronoun: a follow-up carries its earlier question that way.
_ASIDE = re.compile(r"[(（\[【][^()（）\[\]【】]*[)）\]】]")


def topic_words(question: str, library: Library) -> list[str]:
    words = compounds(tokenize(library.people.without_names(question), precise=True))
    return [w for w in dict.fromkeys(words) if len(w) > 1]


def coverage(question: str, hits: list[Hit], library: Library) -> float:
    main = _ASIDE.sub(" ", question)
    words = topic_words(main, library)
    if not words and library.people.mentioned_in(main):  # "Who is Reid Hoffman?": only a name, which retrieval matched
        return 1.0 if hits else 0.0
    words = words or topic_words(question, library)  # "And why? (How does Yann define a world model?)"
    if not words:  # "🤖🔥💥🧠": nothing to look for
        return 0.0
    evidence = set(expand(tokenize(" ".join(_chapter_text(h, library) for h in hits[:EVIDENCE_HITS]))))
    # A Chinese word counts when one of its senses is there whole: "climate change", not just "change".
    found = [w for w in words if w in evidence or any(all(p in evidence for p in sense) for sense in gloss_stems(w))]
    return len(found) / len(words)


def covered(question: str, hits: list[Hit], library: Library) -> bool:
    return bool(hits) and coverage(question, hits, library) >= MIN_COVERAGE


def about_the_people_asked(question: str, hits: list[Hit], library: Library) -> list[Hit]:
    """The hits that can speak for the people the question names: chapters about them, or their own episodes.

    A question about someone's view is answered from what that person said or what was said about them,
    never from a chapter on the same topic about someone else. Measured on tests/data/unanswerable.jsonl:
    "What is David Silver's opinion of JEPA?" was answered, with a checked citation, from LeCun's JEPA
    chapter; a person no episode covers ("What did Sam Altman say about GPT-6?") leaves no hit at all.
    """
    named = {person.name for person in library.people.mentioned_in(question)}
    if not named:
        return hits
    return [hit for hit in hits if named & {*hit.chunk.people, _host(hit, library)}]


def _host(hit: Hit, library: Library) -> str:
    episode = library.episode(hit.chunk.episode_id)
    return episode.host if episode else ""


def _chapter_text(hit: Hit, library: Library) -> str:
    """A chapter or quote hit stands for its whole chapter; a transcript window for itself (a window that
    starts with a chapter is not that chapter: the feed test's answer was in the window, refused before)."""
    if hit.chunk.kind not in ("chapter", "quote"):
        return hit.chunk.text
    episode = library.episode(hit.chunk.episode_id)
    chapter = next((c for c in episode.chapters if c.start == hit.chunk.start), None) if episode else None
    if chapter is None:
        return hit.chunk.text
    return f"{chapter.title} {chapter.body} {chapter.quote.text if chapter.quote else ''}"
