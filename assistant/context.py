"""Pack retrieved chapters into numbered sources that fit the prompt's token budget.

Prompt size is the latency budget: the 1.5B model reads 80-156 tokens/s on two cores (it
depends on the machine), so a whole chapter per source would cost seconds before the first
token. Each source keeps the chapter sentences that share the most words with the question
(in their original order) and the pull quote, the guest's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.prompts import Prompts
from store.episode import Chapter, Episode, format_timestamp
from store.lexical import tokenize
from store.library import Library
from store.retrieve import Hit

# A candidate sentence end: terminators, closing quotes, and citation markers written after the terminator
# ("... Meta. [1]"), which belong to the sentence they follow.
_END = re.compile(r"([.!?]+|[。！？]+)[\"'”’」』)）]*(?:\s*[\[【]\s*\d[\d\s,，、;]*[\]】])*")
_NEXT = re.compile(r"(\s*)(\S?)")
_WORD_BEFORE = re.compile(r"(?<![A-Za-z.])[A-Za-z.]*$")
# Words that end in a period mid-sentence; "U.S.", "e.g." and initials are recognised by their shape.
_ABBREVIATIONS = {"vs", "v", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "cf", "approx", "al", "fig", "inc"}


@dataclass
class Source:
    number: int
    hit: Hit
    episode: Episode
    chapter: Chapter | None
    excerpt: str
    quote: str

    @property
    def start(self) -> int:
        return self.hit.chunk.start

    @property
    def text(self) -> str:
        """Everything the source says, for checking what it supports."""
        return f"{self.chapter.title if self.chapter else ''} {self.excerpt} {self.quote}".strip()


def pack(question: str, hits: list[Hit], library: Library, prompts: Prompts, count_tokens, budget: int,
         max_sources: int = 4) -> list[Source]:
    """Sources for the prompt, best hit first, within `budget` tokens in total."""
    sources: list[Source] = []
    used = 0
    per_source = max(60, budget // max(1, min(max_sources, len(hits))))
    for hit in hits:
        if len(sources) == max_sources:
            break
        episode = library.episode(hit.chunk.episode_id)
        if episode is None:
            continue
        chapter = next((c for c in episode.chapters if c.start == hit.chunk.start), None)
        body = hit.chunk.text if hit.chunk.kind == "segment" or chapter is None else chapter.body
        quote = chapter.quote.text if chapter and chapter.quote else ""
        excerpt = _excerpt(question, body, lambda text: count_tokens(text) <= per_source - count_tokens(quote) // 2)
        source = Source(len(sources) + 1, hit, episode, chapter, excerpt, quote)
        cost = count_tokens(render_source(source, prompts))
        if used + cost > budget and sources:
            break
        sources.append(source)
        used += cost
    return sources


def render_source(source: Source, prompts: Prompts) -> str:
    return prompts.fill(
        "source",
        number=source.number,
        episode_title=source.episode.title,
        timestamp=format_timestamp(source.start),
        chapter_title=source.chapter.title if source.chapter else source.hit.chunk.title,
        excerpt=source.excerpt,
        quote=source.quote,
    )


def sentences(text: str) -> list[str]:
    """The text's sentences. A Chinese terminator always ends one; a Latin one only before a space (not "3.5")
    and not after an abbreviation ("LeCun vs. Hinton", "the U.S. labs") or before a lowercase word."""
    parts, start = [], 0
    for end in _END.finditer(text):
        if _ends_sentence(text, end):
            parts.append(text[start : end.end()])
            start = end.end()
    parts.append(text[start:])
    return [s.strip() for s in parts if s.strip()]


def _ends_sentence(text: str, end: re.Match) -> bool:
    terminator = end.group(1)
    if terminator[0] in "。！？":
        return True
    space, following = _NEXT.match(text, end.end()).groups()
    if following and not space:  # "3.5", "e.g.,"
        return False
    if set(terminator) != {"."} or not following:
        return True
    word = _WORD_BEFORE.search(text, max(0, end.start() - 16), end.start())
    word = word.group() if word else ""  # longer than any abbreviation
    abbreviation = word.lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Za-z](?:\.[A-Za-z])+|[A-Z]", word)
    return not abbreviation and not following.islower()


def _excerpt(question: str, body: str, fits) -> str:
    """The body's sentences most about the question, kept in reading order, while `fits(text)` holds."""
    parts = sentences(body)
    wanted = set(tokenize(question))
    # The opening sentence usually states the chapter's point; a small bonus keeps it in.
    scores = [len(wanted & set(tokenize(s))) + (0.5 if i == 0 else 0) for i, s in enumerate(parts)]
    chosen: list[int] = []
    for i in sorted(range(len(parts)), key=lambda i: -scores[i]):
        trial = " ".join(parts[j] for j in sorted([*chosen, i]))
        if not fits(trial):
            if chosen:
                continue
            return _clip(parts[i], fits)
        chosen.append(i)
    return " ".join(parts[j] for j in sorted(chosen))


def _clip(text: str, fits) -> str:
    """A single sentence too long for the budget: cut it at a word boundary."""
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    while len(words) > 1 and not fits(joiner.join(words) + "…"):
        words = words[: int(len(words) * 0.8)]
    return joiner.join(words) + "…"
