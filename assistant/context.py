"""Pack retrieved chapters into numbered sources that fit the prompt's token budget.

Prompt size is the latency budget: the 1.5B model reads 80-156 tokens/s on two cores (it
depends on the machine), so a whole chapter per source would cost seconds before the first
token. So the prompt gets evidence, not chapters: the sentences of the top chapters (their
bodies, pull quotes and retrieved transcript segments) most relevant to the question, chosen one
at a time across the chapters while the budget lasts. Relevance is e5 similarity between the
question and each sentence, which works across languages: a Chinese question shares no words
with an English chapter, so word overlap kept only each chapter's first sentence.

The chosen sentences go back to their chapter, in reading order, one source per chapter, so a
citation still points at the chapter's timestamp.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.prompts import Prompts
from store.chunks import TIMED_KINDS
from store.episode import Chapter, Episode, format_timestamp
from store.language import detect_language
from store.library import Library
from store.retrieve import Hit

# A candidate sentence end: terminators, closing quotes, and citation markers written after the terminator
# ("... Meta. [1]"), which belong to the sentence they follow.
_END = re.compile(r"([.!?]+|[。！？]+)[\"'”’」』)）]*(?:\s*[\[【]\s*\d[\d\s,，、;]*[\]】])*")
_NEXT = re.compile(r"(\s*)(\S?)")
_WORD_BEFORE = re.compile(r"(?<![A-Za-z.])[A-Za-z.]*$")
# Words that end in a period mid-sentence; "U.S.", "e.g." and initials are recognised by their shape.
_ABBREVIATIONS = {"vs", "v", "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "cf", "approx", "al", "fig", "inc"}

# A sentence's relevance drops by this much per place its chapter is below the best hit: the retriever's
# ranking fuses more evidence (BM25, latent terms, people) than one sentence's similarity, whose spread within
# a chapter is about 0.08. Measured as the share of key points present in the packed sources (dev and
# tests/data/extra_eval.jsonl, 33 questions, 200 tokens): 0.01 -> 0.81, 0.03 -> 0.86, 0.05 -> 0.88 but the
# gold chapter fell out of 3 of the 33 (Chinese questions whose best hit is a neighbour of the right chapter).
RANK_STEP = 0.03


@dataclass
class Source:
    number: int
    hit: Hit
    episode: Episode
    chapter: Chapter | None
    excerpt: str  # the chosen sentences of the chapter's body (and of its retrieved transcript segments)
    quote: str  # the chosen sentences of its pull quote, the guest's own words

    @property
    def start(self) -> int:
        """The second a citation points at: the chapter's start, except in a generated chapter, whose start is
        a guess at a topic change (minutes from the words): there a transcript hit cites its own second."""
        if self.chapter and not (self.chapter.generated and self.hit.chunk.kind == "segment"):
            return self.chapter.start
        return self.hit.chunk.start

    @property
    def title(self) -> str:
        return self.chapter.title if self.chapter else self.hit.chunk.title

    @property
    def text(self) -> str:
        """Everything the source says, for checking what it supports."""
        return f"{self.chapter.title if self.chapter else ''} {self.excerpt} {self.quote}".strip()


@dataclass
class _Chapter:
    """A retrieved chapter (or a chunk outside any chapter) whose sentences compete for the budget."""

    hit: Hit  # its best hit
    episode: Episode
    chapter: Chapter | None
    body: list[str]
    quote: list[str]


@dataclass(frozen=True)
class _Sentence:
    chapter: int  # index into the candidate chapters, best first
    in_quote: bool
    position: int  # within its body or quote, for reading order
    text: str


def pack(question: str, hits: list[Hit], library: Library, prompts: Prompts, count_tokens: Callable[[str], int],
         budget: int, max_sources: int = 4) -> list[Source]:
    """Sources for the prompt, best hit first, within `budget` tokens in total."""
    chapters = _candidates(hits, library, max_sources)
    pieces = [
        _Sentence(n, in_quote, i, text)
        for n, c in enumerate(chapters)
        for in_quote, part in ((False, c.body), (True, c.quote))
        for i, text in enumerate(part)
    ]
    if not pieces:
        return []
    ranked = _by_relevance(question, pieces, library)

    # Tokenizing costs more the longer the text (a 400-token text took 5 ms, a sentence 0.1 ms): count each
    # sentence and each source's heading once, add them up while choosing, and check the exact total at the end.
    size = {p: count_tokens(f" {p.text}") for p in pieces}
    heading = [count_tokens(render_source(Source(n + 1, c.hit, c.episode, c.chapter, "", ""), prompts)) + 1
               for n, c in enumerate(chapters)]
    quote_line = count_tokens(prompts.fill("source_quote", quote="")) + 1

    def estimate(chosen: list[_Sentence]) -> int:
        quoted = {p.chapter for p in chosen if p.in_quote}
        return (sum(size[p] for p in chosen) + sum(heading[n] for n in {p.chapter for p in chosen})
                + quote_line * len(quoted))

    def cost(chosen: list[_Sentence]) -> int:
        return sum(count_tokens(render_source(s, prompts)) for s in _sources(chapters, chosen))

    chosen: list[_Sentence] = []
    for piece in ranked:
        if estimate([*chosen, piece]) <= budget:
            chosen.append(piece)
    while len(chosen) > 1 and cost(chosen) > budget:  # the estimate was short: drop the least relevant
        chosen.pop()
    if not chosen or cost(chosen) > budget:  # not even one sentence fits: cut the most relevant one down
        best = ranked[0]
        text = _clip(best.text, lambda t: cost([_Sentence(best.chapter, best.in_quote, 0, t)]) <= budget)
        chosen = [_Sentence(best.chapter, best.in_quote, 0, text)]
    return _sources(chapters, chosen)


def render_source(source: Source, prompts: Prompts) -> str:
    lines = [source.excerpt, prompts.fill("source_quote", quote=source.quote) if source.quote else ""]
    return prompts.fill(
        "source",
        number=source.number,
        episode_title=source.episode.title,
        timestamp=format_timestamp(source.start),
        chapter_title=source.title,
        evidence="\n".join(line for line in lines if line),
    )


def ranked_sentences(question: str, sources: list[Source], library: Library) -> list[tuple[Source, str]]:
    """The packed sources' sentences (excerpts and quotes), most relevant to the question first."""
    pieces = [_Sentence(n, in_quote, i, text)
              for n, source in enumerate(sources)
              for in_quote, part in ((False, source.excerpt), (True, source.quote))
              for i, text in enumerate(sentences(part))]
    return [(sources[p.chapter], p.text) for p in _by_relevance(question, pieces, library)] if pieces else []


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


def _candidates(hits: list[Hit], library: Library, limit: int) -> list[_Chapter]:
    """The first `limit` chapters the hits fall in, best first; a transcript segment joins its chapter."""
    found: dict[object, _Chapter] = {}
    for hit in hits:
        chunk = hit.chunk
        episode = library.episode(chunk.episode_id)
        if episode is None:
            continue
        chapter = episode.chapter_at(chunk.start) if chunk.kind in TIMED_KINDS else None
        key = (episode.id, chapter.start) if chapter else chunk.id
        own = sentences(chunk.text) if chunk.kind == "segment" or chapter is None else []
        if key in found:
            found[key].body += [s for s in own if s not in found[key].body]
        elif len(found) < limit:
            body = sentences(chapter.body) if chapter else []
            quote = sentences(chapter.quote.text) if chapter and chapter.quote else []
            found[key] = _Chapter(hit, episode, chapter, body + [s for s in own if s not in body], quote)
    return list(found.values())


def _by_relevance(question: str, pieces: list[_Sentence], library: Library) -> list[_Sentence]:
    """The sentences, most relevant to the question first."""
    embedder = library.index.embedder
    question_vector = embedder.query_vectors(question).dense  # retrieval embedded the question already
    similarity = embedder.passages([p.text for p in pieces]) @ question_vector  # cached on disk by text
    # e5 scores a same-language pair higher: for a Chinese question, Chinese sentences of unrelated chapters
    # scored 0.85-0.89 and the English sentences that answer it 0.80-0.82 (dev d05). Centring each language's
    # scores on their mean keeps the comparison about relevance.
    languages = np.array([detect_language(p.text) for p in pieces])
    for language in set(languages):
        similarity[languages == language] -= similarity[languages == language].mean()
    priority = similarity - RANK_STEP * np.array([p.chapter for p in pieces])
    return [pieces[i] for i in np.argsort(-priority, kind="stable")]


def _sources(chapters: list[_Chapter], chosen: list[_Sentence]) -> list[Source]:
    """One source per chapter with a chosen sentence, numbered best chapter first, sentences in reading order."""
    sources = []
    for n, c in enumerate(chapters):
        mine = sorted((p for p in chosen if p.chapter == n), key=lambda p: (p.in_quote, p.position))
        if mine:
            excerpt = " ".join(p.text for p in mine if not p.in_quote)
            quote = " ".join(p.text for p in mine if p.in_quote)
            sources.append(Source(len(sources) + 1, c.hit, c.episode, c.chapter, excerpt, quote))
    return sources


def _clip(text: str, fits: Callable[[str], bool]) -> str:
    """A single sentence too long for the budget: cut it at a word boundary."""
    words = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    while len(words) > 1 and not fits(joiner.join(words) + "…"):
        words = words[: int(len(words) * 0.8)]
    return joiner.join(words) + "…"
