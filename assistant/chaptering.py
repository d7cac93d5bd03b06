"""Chapters for episodes that have a transcript and none: topic segmentation, then a title and summary by the LLM.

`Chapterer.chapters(episode)` splits the transcript into topics (assistant/topics.py) and has the local
LLM title and summarise each one in the episode's language, from its most central passages (the model
reads about 80 prompt tokens/s on two cores, so it gets an excerpt, not a whole chapter). The transcript
is quoted data in the prompt (prompts/chapter_*.md), never instructions. Chapters are marked
`generated=True`; from then on they chunk, retrieve, cite and compare as a publisher's chapters do.

`ingest_with_chapters` is the seam every ingest goes through (CLI and web; files, feeds, audio alike):
the library ingests as always, then each episode written without chapters is written again with
generated ones. The store never sees the LLM. If generation fails (no model, a server down), the
episode stays indexed with its transcript and the result says chapters were not generated. An
episode re-ingested with the transcript it had keeps the chapters generated for it before.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable

import numpy as np

from assistant.config import Settings
from assistant.context import sentences
from assistant.llm import LLM, Message, open_llm
from assistant.prompts import Prompts
from assistant.topics import Span, segment
from store.episode import Chapter, Episode, format_timestamp
from store.index import IngestResult
from store.language import detect_language, has_cjk
from store.library import Library

log = logging.getLogger(__name__)

EXCERPT_TOKENS = 320  # of transcript per chapter: about 4 s of prompt for the 1.5B model on two cores
REPLY_TOKENS = 96
MAX_TITLE_CHARS = 80
MAX_SUMMARY_CHARS = 400
SUMMARY_SENTENCES = 2  # the prompt asks for one or two; the 0.5B model wrote five, retelling the excerpt
_ENDS = ".!?。！？\"”’"
_FIELD = re.compile(r"^\W*(title|summary|标题|摘要)\W*\s*[:：]\s*(.*)$", re.I)


class Chapterer:
    def __init__(self, llm: LLM, prompts: Prompts, embed: Callable[[list[str]], np.ndarray]):
        self.llm = llm
        self.prompts = prompts
        self.embed = embed

    def chapters(self, episode: Episode, progress: Callable[[int, int], None] | None = None) -> list[Chapter]:
        """Generated chapters for the episode's transcript ([] without one), in order, covering all of it."""
        spans = segment(episode.transcript, self.embed)
        language = detect_language(" ".join(s.text for s in episode.transcript[:200]))
        end = max(episode.duration, round(spans[-1].end)) if spans else 0
        chapters = []
        for n, span in enumerate(spans):
            if progress:
                progress(n, len(spans))
            start = 0 if n == 0 else round(span.start)  # the first chapter is the episode's opening
            stop = round(spans[n + 1].start) if n + 1 < len(spans) else end
            title, summary = self._describe(span, start, stop, language)
            chapters.append(Chapter(start=start, end=stop, title=title or self.prompts.message(
                language, "chapter_untitled", number=n + 1), body=summary, language=language, generated=True))
        return chapters

    def _describe(self, span: Span, start: int, stop: int, language: str) -> tuple[str, str]:
        user = self.prompts.fill("chapter_user", start=format_timestamp(start), end=format_timestamp(stop),
                                 transcript=self._excerpt(span),
                                 language_instruction=self.prompts.message(language, "chapter_in"))  # fmt: skip
        messages = [Message("system", self.prompts.fill("chapter_system")), Message("user", user)]
        return parse_reply(self.llm.complete(messages, REPLY_TOKENS, stop=["\n\n\n", ">>>"]))

    def _excerpt(self, span: Span) -> str:
        """The span's most central passages (closest to its mean vector) that fit EXCERPT_TOKENS, in time order."""
        passages = [" ".join(s.text for s in block) for block in span.blocks]
        vectors = self.embed(passages)  # the vectors segmentation computed: cached by text
        centre = vectors.mean(0)
        chosen, used = [], 0
        for i in np.argsort(-(vectors @ centre), kind="stable"):
            size = self.llm.count_tokens(passages[i])
            if used + size <= EXCERPT_TOKENS or not chosen:
                chosen.append(i)
                used += size
        text = "\n".join(passages[i] for i in sorted(chosen))
        # A block is ~20 s (about 60 tokens); only one giant cue (a transcript without timing) gets this far.
        return text if self.llm.count_tokens(text) <= EXCERPT_TOKENS * 2 else text[: EXCERPT_TOKENS * 4]


def parse_reply(reply: str) -> tuple[str, str]:
    """(title, summary) from the model's "Title: ... / Summary: ..." lines; either may be "" if it gave none."""
    found: dict[str, str] = {}
    for line in reply.splitlines():
        if match := _FIELD.match(line.strip()):
            key = "title" if match.group(1).lower() in ("title", "标题") else "summary"
            found.setdefault(key, match.group(2).strip())
    title = found.get("title", "").strip(" \"'“”*#`").rstrip("。.")
    text = found.get("summary", "").strip(" *`")[:MAX_SUMMARY_CHARS]
    whole = [s for s in sentences(text)[:SUMMARY_SENTENCES] if s[-1] in _ENDS]  # not one cut off at the limit
    return title[:MAX_TITLE_CHARS], ("" if has_cjk(text) else " ").join(whole)


def lazy_chapterer(settings: Settings, library: Library) -> Callable[[], Chapterer]:
    """A Chapterer on the configured model, opened on the first call only (an ingest that needs none never loads it)."""
    opened: list[Chapterer] = []

    def get() -> Chapterer:
        if not opened:
            opened.append(Chapterer(open_llm(settings), Prompts(settings.prompts_dir), library.index.embedder.passages))
        return opened[0]

    return get


def needs_chapters(episode: Episode) -> bool:
    return bool(episode.transcript) and not episode.chapters


def write_chapters(library: Library, episode: Episode, chapters: list[Chapter]) -> IngestResult:
    """Store the episode again with these chapters (atomically, as every episode write is)."""
    return library.index.upsert_episode(dataclasses.replace(episode, chapters=chapters),
                                        library.index.sources().get(episode.id, ""))


def ingest_with_chapters(library: Library, ingest: Callable[[], list[IngestResult]],
                         chapterer: Callable[[], Chapterer] | None,
                         progress: Callable[[str, int, int], None] | None = None) -> list[IngestResult]:
    """Run `ingest` (any of the library's ingests), then give every episode it wrote without chapters generated
    ones; `chapterer` is called only if one is needed (it loads the model). None: leave them without.
    `progress(title, done, total)` reports each chapter being titled."""
    before = {e.id: e for e in library.episodes()}
    results = ingest()
    for result in results:
        episode = library.episode(result.episode_id)
        if episode is None or not needs_chapters(episode) or chapterer is None:
            continue
        earlier = before.get(episode.id)
        report = (lambda done, total, title=episode.title: progress(title, done, total)) if progress else None
        try:
            if earlier and earlier.transcript == episode.transcript and any(c.generated for c in earlier.chapters):
                chapters = earlier.chapters  # the same transcript: the same chapters, without asking the model again
            else:
                chapters = chapterer().chapters(episode, report)
            write_chapters(library, episode, chapters)
        except Exception as err:  # noqa: BLE001 - any failure of the model step leaves the episode as ingested
            log.warning("chapters not generated for %s", episode.id, exc_info=True)
            result.note = _join(result.note, f"{NOT_GENERATED} ({err}); the transcript is indexed")
            continue
        result.note = _join(result.note, f"{len(chapters)} {GENERATED}")
    return results


GENERATED, NOT_GENERATED = "chapters generated", "chapters were not generated"
_SEPARATOR = "; "
_CHAPTER_NOTE = re.compile(rf"(?:^|{_SEPARATOR})(\d+ {GENERATED}|{NOT_GENERATED}.*)$", re.S)


def _join(note: str, more: str) -> str:
    return f"{note}{_SEPARATOR}{more}" if note else more


def split_note(note: str) -> tuple[str, str]:
    """An ingest result's note as (what the ingest said, what the chapter step added last)."""
    match = _CHAPTER_NOTE.search(note)
    return (note[: match.start()], match.group(1)) if match else (note, "")
