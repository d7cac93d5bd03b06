"""Make every citation in an answer true: it points at a retrieved source that supports it.

A 1.5B model omits markers, invents `[7]` when there are four sources, and cites the wrong
one. So its markers are only a hint. Each sentence is scored against every source by
e5 similarity (cross-lingual: a Chinese sentence against an English chapter) plus word
overlap (names and terms survive translation); a marker is kept only when its source is
among the sentence's best supporters, an uncited sentence gets its best supporter if that
clears a floor, and an unsupported sentence keeps no citation. Markers are then renumbered
so the text's [n] and the citation list agree exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.context import Source, sentences
from store.episode import format_timestamp
from store.language import detect_language
from store.lexical import tokenize

MARKER = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,，、;]\s*\d+)*)\s*[\]】]")
MARGIN = 0.02  # a cited source this close to the best supporter still counts as support
FLOOR = 0.80  # e5 query-passage cosine below which a sentence is not about the source at all
CROSS_LINGUAL_FLOOR = 0.78  # e5 scores a Chinese sentence against an English source lower
OVERLAP = 0.5  # share of a sentence's words found in a source that counts as support by itself
_CLOSING = "。！？.!?"


@dataclass
class Citation:
    marker: int
    episode_id: str
    episode_title: str
    title: str  # chapter title
    start: str  # "58:00"
    start_seconds: int
    url: str
    quote: str

    @property
    def label(self) -> str:
        return f"{self.episode_title} · {self.start}"


def citation_for(source: Source, marker: int) -> Citation:
    episode, start = source.episode, source.start
    base = episode.url or f"/episode/{episode.id}"
    return Citation(
        marker=marker, episode_id=episode.id, episode_title=episode.title,
        title=source.chapter.title if source.chapter else source.hit.chunk.title,
        start=format_timestamp(start), start_seconds=start, url=f"{base}#t={start}", quote=source.quote,
    )  # fmt: skip


class SupportScorer:
    """How well each source supports a sentence: e5 similarity, and word overlap as a second witness."""

    def __init__(self, sources: list[Source], embedder):
        self.sources = sources
        self.embedder = embedder
        # Chapter and quote texts were embedded at ingest, so these vectors come from the cache.
        self.vectors = [embedder.passages(_texts(s)) for s in sources]
        self.words = [set(tokenize(s.text)) for s in sources]

    def scores(self, sentence: str) -> tuple[np.ndarray, np.ndarray]:
        query = self.embedder.query(sentence)
        similarity = np.array([float(np.max(v @ query)) for v in self.vectors])
        words = set(tokenize(sentence))
        overlap = np.array([len(words & w) / len(words) if words else 0.0 for w in self.words])
        return similarity, overlap


def _texts(source: Source) -> list[str]:
    chapter = source.chapter
    main = f"{chapter.title}\n{chapter.body}" if chapter else source.hit.chunk.embed_text
    return [main, source.quote] if source.quote else [main]


def verify(text: str, sources: list[Source], scorer: SupportScorer) -> tuple[str, list[Citation]]:
    """The answer with checked, renumbered markers, and the citations they point at."""
    numbering: dict[int, int] = {}  # source number -> marker shown to the user
    out = []
    for sentence in sentences(text):
        claimed = [int(n) for m in MARKER.finditer(sentence) for n in re.split(r"[,，、;]", m.group(1))]
        bare = MARKER.sub("", sentence).strip()
        if not bare:
            continue
        chosen = _supported(bare, claimed, sources, scorer)
        markers = [numbering.setdefault(n, len(numbering) + 1) for n in chosen]
        out.append(_with_markers(bare, markers))
    by_number = {s.number: s for s in sources}
    citations = [citation_for(by_number[n], marker) for n, marker in numbering.items()]
    joiner = "" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else " "
    return joiner.join(out), citations


def _supported(sentence: str, claimed: list[int], sources: list[Source], scorer: SupportScorer) -> list[int]:
    if not sources or len(tokenize(sentence)) < 2:  # "Yes." supports nothing on its own
        return []
    similarity, overlap = scorer.scores(sentence)
    best = float(similarity.max())
    numbers = [s.number for s in sources]
    language = detect_language(sentence)

    def supports(i: int) -> bool:
        chapter = sources[i].chapter
        source_language = chapter.language if chapter else sources[i].hit.chunk.language
        floor = FLOOR if source_language == language else CROSS_LINGUAL_FLOOR
        return similarity[i] >= floor and (similarity[i] >= best - MARGIN or overlap[i] >= OVERLAP)

    kept = [n for n in dict.fromkeys(claimed) if n in numbers and supports(numbers.index(n))]
    if kept:
        return kept
    top = int(np.argmax(similarity + overlap * 0.05))
    return [numbers[top]] if supports(top) else []


def _with_markers(sentence: str, markers: list[int]) -> str:
    if not markers:
        return sentence
    tags = "".join(f"[{m}]" for m in markers)
    if sentence[-1] in _CLOSING:
        return f"{sentence[:-1]} {tags}{sentence[-1]}" if sentence[-1] in ".!?" else f"{sentence[:-1]}{tags}{sentence[-1]}"
    return f"{sentence} {tags}"
