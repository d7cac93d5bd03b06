"""Cut an Episode into the Chunks we embed and search.

Kinds: `chapter` (title + body), `quote` (the pull quote, the guest's own words), `summary`,
`entity` (one per entity), `segment` (transcript windows). Chapters, quotes and segments
carry a timestamp a user can jump to; summary and entities describe the whole episode.

A chunk's id is its place in the episode (episode id, kind, position) plus its content digest:
ingesting the same file twice writes nothing, and an edited chunk gets a new id beside the old
one, so an update never changes a chunk a reader of the previous version can see (store/index.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from store.episode import Episode, TranscriptSegment
from store.language import LANGUAGES, detect_language

TIMED_KINDS = ("chapter", "quote", "segment")
ALL_KINDS = ("chapter", "quote", "segment", "summary", "entity")
# Transcript cues are grouped into windows starting at most this far apart. A hit's timestamp is its window's
# start, so every sentence in it is spoken within this many seconds after the cited second (issue #16 asks
# +-15 s); 60 s windows cited a sentence up to a minute early.
SEGMENT_SECONDS = 15


@dataclass
class Chunk:
    id: str
    episode_id: str
    episode_title: str
    kind: str
    title: str  # chapter title, entity name, "Summary"
    text: str
    language: str
    start: int = 0
    end: int = 0
    show: str = ""
    people: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Changes whenever anything we store for the chunk changes."""
        parts = [self.kind, self.title, self.text, self.language, str(self.start), str(self.end),
                 self.episode_title, self.show, "|".join(self.people)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    @property
    def place(self) -> str:
        return place_of(self.id)

    @property
    def embed_text(self) -> str:
        return f"{self.title}\n{self.text}" if self.kind == "chapter" else self.text


def place_of(chunk_id: str) -> str:
    """A chunk id without its digest: the same for every version of the chunk."""
    return chunk_id.split("#", 1)[0]


def chunk_episode(episode: Episode) -> list[Chunk]:
    def make(kind: str, key: str, **fields) -> Chunk:
        chunk = Chunk(id="", episode_id=episode.id, kind=kind, episode_title=episode.title,
                      show=episode.show, **fields)
        chunk.id = f"{episode.id}/{kind}/{key}#{chunk.digest}"
        return chunk

    chunks = [make("summary", "0", title="Summary", text=episode.summary,
                   language=_language(episode.summary_language, episode.summary), end=episode.duration,
                   people=episode.people)] if episode.summary else []
    for chapter in episode.chapters:
        # The guest speaks throughout an interview: each chapter is also their view.
        span = dict(start=chapter.start, end=chapter.end, people=list(dict.fromkeys(episode.guests + chapter.people)))
        chunks.append(make("chapter", str(chapter.start), title=chapter.title, text=chapter.body,
                           language=_language(chapter.language, chapter.body or chapter.title), **span))
        if chapter.quote:
            chunks.append(make("quote", str(chapter.start), title=chapter.title, text=chapter.quote.text,
                               language=detect_language(chapter.quote.text), **span))
    for n, entity in enumerate(episode.entities):
        text = f"{entity.name} ({entity.type}): {entity.description}"
        people = [entity.name] if entity.type == "person" else []
        chunks.append(make("entity", str(n), title=entity.name, text=text,
                           language=detect_language(entity.description or entity.name), people=people))
    for window in _windows(episode.transcript):
        start, end = int(window[0].start), int(window[-1].end)
        chapter = episode.chapter_at(start)
        text = " ".join(s.text for s in window)
        chunks.append(make("segment", str(start), title=chapter.title if chapter else "", text=text,
                           language=detect_language(text), start=start, end=end,
                           people=list(dict.fromkeys(episode.guests + (chapter.people if chapter else [])))))
    return chunks


def _language(declared: str, text: str) -> str:
    """The declared language if it is one we index (a chunk is stored and ranked with its language's), else detected."""
    return declared if declared in LANGUAGES else detect_language(text)


def _windows(segments: list[TranscriptSegment]) -> list[list[TranscriptSegment]]:
    windows: list[list[TranscriptSegment]] = []
    for segment in segments:
        if windows and segment.start - windows[-1][0].start < SEGMENT_SECONDS:
            windows[-1].append(segment)
        else:
            windows.append([segment])
    return windows
