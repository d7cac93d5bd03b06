"""Make every sentence shown true to the source it cites, and every citation point at such a source.

A 1.5B model omits markers, invents `[7]` when there are four sources, cites the wrong one, and states
things no source says while citing one that is about the topic. So its markers are only a hint, and
similarity is not support: each sentence is checked by the ClaimChecker (claims.py) against the
sources, the ones it cites first. A cited source that supports it keeps its marker; a sentence whose
markers are wrong moves to the first source that supports it; a sentence no source supports is not
shown at all. Markers are then renumbered so the text's [n] and the citation list agree exactly.

Streaming goes through the same gate, sentence by sentence (SentenceStream): text reaches the user
only once its sentence has been checked, so an injected instruction or link is never on screen, not
even for a moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from assistant.claims import ClaimChecker, evidence_text
from assistant.context import Source, sentences
from store.episode import format_timestamp
from store.language import has_cjk

MARKER = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,，、;]\s*\d+)*)\s*[\]】]")
_CLOSING = "。！？.!?"
_UNFINISHED_MARKER = re.compile(r"[\[【][\d,，、;\s]*[\]】]?")
_MARKERS = r"(?:\s*[\[【]\s*\d+(?:\s*[,，、;]\s*\d+)*\s*[\]】])"
# Phrases that only point at sources ("According to [1] and [3], ..."): with the markers gone they would
# leave "According to and, ..." behind, so they go with them. The citation chips say where a claim is from.
_SOURCE_PHRASES = [
    re.compile(rf"\b(?:according\s+to|as\s+(?:stated|mentioned|noted|said|described)\s+in|based\s+on|per|in)\s+"
               rf"(?:the\s+)?(?:sources?|chapters?|episodes?)?\s*{_MARKERS}(?:\s*(?:,|and|&)\s*{_MARKERS})*\s*,?\s*", re.I),
    re.compile(rf"\b(?:the\s+)?(?:sources?|chapters?)\s*{_MARKERS}(?:\s*(?:,|and|&)\s*{_MARKERS})*\s+"
               rf"(?:says?|states?|notes?|mentions?|explains?|shows?)\s+(?:that\s+)?", re.I),
    re.compile(rf"\b(?:according\s+to|based\s+on)\s+(?:the\s+)?sources?(?:\s+(?:and|,))*\s*,?\s*", re.I),
    re.compile(rf"(?:根据|据|按照|参考)(?:来源|资料|节目)?\s*{_MARKERS}?(?:\s*[和、与及]\s*{_MARKERS})*\s*(?:所述|的内容)?[，,]?"),
]


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
    generated: bool = False  # the chapter was made by topic segmentation and the model
    media: str = ""  # the episode's audio at the cited second (`file://...#t=951`, or its enclosure URL), if it has audio

    @property
    def label(self) -> str:
        return f"{self.episode_title} · {self.start}"


def citation_for(source: Source, marker: int) -> Citation:
    episode, start = source.episode, source.start
    base = episode.url or f"/episode/{episode.id}"
    return Citation(
        marker=marker, episode_id=episode.id, episode_title=episode.title,
        title=source.title,
        start=format_timestamp(start), start_seconds=start, url=f"{base}#t={start}", quote=source.quote,
        generated=bool(source.chapter and source.chapter.generated),
        media=f"{episode.media_url}#t={start}" if episode.media_url else "",
    )  # fmt: skip


class Support:
    """Which of the retrieved sources support a sentence, by the claim check."""

    def __init__(self, sources: list[Source], checker: ClaimChecker):
        self.sources = sources
        self.checker = checker
        self.texts = {s.number: evidence_text(s.episode, s.chapter, _vouched(s)) for s in sources}

    def supporters(self, sentence: str, claimed: list[int]) -> list[int]:
        """The cited sources that support the sentence; else the first other one that does; else none."""
        kept = [n for n in dict.fromkeys(claimed) if n in self.texts and self.checker.supports(sentence, self.texts[n])]
        if kept:
            return kept
        return next(([n] for n in self.texts if n not in claimed and self.checker.supports(sentence, self.texts[n])), [])


@dataclass
class SentenceStream:
    """The gate between the model and the user: feed it the model's deltas, get back only checked text.

    A sentence is released once the next one has begun (a marker after its full stop, "Meta. [1]",
    still belongs to it), checked against the sources, given its renumbered markers, and joined to
    what was shown before it.
    """

    support: Support
    numbering: dict[int, int] = field(default_factory=dict)  # source number -> marker shown to the user
    shown: list[str] = field(default_factory=list)
    dropped: int = 0  # sentences no source supports
    _pending: str = ""

    def checked(self, deltas: Iterable[str]) -> Iterator[str]:
        """The checked text of a whole stream of deltas, sentence by sentence."""
        for delta in deltas:
            yield from self.feed(delta)
        yield from self.close()

    def feed(self, delta: str) -> Iterator[str]:
        self._pending += delta
        *done, last = sentences(self._pending) or [""]
        if not done or _UNFINISHED_MARKER.fullmatch(last):
            return  # the last sentence may go on; "Meta. [1": that marker still belongs to the one before
        self._pending = self._pending[self._pending.rindex(last):]
        for sentence in done:
            yield from self._release(sentence)

    def close(self) -> Iterator[str]:
        rest, self._pending = self._pending, ""
        for sentence in sentences(rest):
            yield from self._release(sentence, final=True)

    @property
    def text(self) -> str:
        return "".join(self.shown)

    def citations(self) -> list[Citation]:
        by_number = {s.number: s for s in self.support.sources}
        return [citation_for(by_number[n], marker) for n, marker in self.numbering.items()]

    def _release(self, sentence: str, final: bool = False) -> Iterator[str]:
        claimed = [int(n) for m in MARKER.finditer(sentence) for n in re.split(r"[,，、;]", m.group(1))]
        bare = repair(sentence)
        if final and bare and bare[-1] not in _CLOSING and len(self.shown):
            return  # cut off at the token limit: a fragment is not a claim
        chosen = self.support.supporters(bare, claimed) if bare else []
        if not chosen:
            self.dropped += bool(bare)
            return
        markers = [self.numbering.setdefault(n, len(self.numbering) + 1) for n in chosen]
        piece = _with_markers(bare, markers)
        if self.shown and not (has_cjk(self.shown[-1][-1:]) or has_cjk(piece[:1]) or self.shown[-1][-1] in "。！？"):
            piece = " " + piece
        self.shown.append(piece)
        yield piece


def _vouched(source: Source) -> str:
    """The hit's text and every sentence of the source the model was shown. A quote or transcript hit stands for
    its chapter, whose body sentences the prompt carries (context.pack): checked against the hit alone, the
    chapter's own sentence "DeepMind had a secret plan ... backed by a $1 billion pledge from Reid Hoffman"
    was unsupported by its source (dev d24)."""
    text = source.hit.chunk.text
    return " ".join([text, *(s for s in sentences(source.excerpt) if s not in text)])


def repair(sentence: str) -> str:
    """The sentence without its markers and the phrases that only pointed at them, as prose."""
    for phrase in _SOURCE_PHRASES:
        sentence = phrase.sub(" ", sentence)
    text = MARKER.sub("", sentence)
    text = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", " ".join(text.split()))
    text = re.sub(r"^(?:[,，;；:：]|and\b|和|、)\s*", "", text, flags=re.I).strip()
    text = re.sub(r"([,，])\s*(?:and\s*)?([,，.。])", r"\2", text)
    return text[:1].upper() + text[1:] if text else ""


def verify(text: str, support: Support) -> tuple[str, list[Citation]]:
    """The answer's supported sentences with checked, renumbered markers, and the citations they point at."""
    gate = SentenceStream(support)
    for _ in gate.checked([text]):
        pass
    return gate.text, gate.citations()


def _with_markers(sentence: str, markers: list[int]) -> str:
    tags = "".join(f"[{m}]" for m in markers)
    if sentence[-1] in _CLOSING:
        return f"{sentence[:-1]} {tags}{sentence[-1]}" if sentence[-1] in ".!?" else f"{sentence[:-1]}{tags}{sentence[-1]}"
    return f"{sentence} {tags}"
