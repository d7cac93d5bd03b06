"""The domain model: what an episode is, independent of the file it came from.

Every parser produces an `Episode`; every later stage (chunking, indexing, answering,
the UI) reads one. The canonical JSON form is `Episode.to_json()` / `Episode.from_json()`,
validated by pydantic so a wrong field type names the field instead of failing later.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from dataclasses import dataclass, field

import pydantic

_STRICT = pydantic.ConfigDict(extra="forbid")  # a misspelled field must not vanish silently


@dataclass
class Quote:
    __pydantic_config__ = _STRICT

    text: str
    start: int  # seconds: the start of the chapter the quote belongs to
    speaker: str = ""


@dataclass
class Chapter:
    __pydantic_config__ = _STRICT

    start: int  # seconds from the episode start
    end: int  # next chapter's start, or the episode's duration
    title: str
    body: str = ""
    quote: Quote | None = None
    language: str = "en"
    people: list[str] = field(default_factory=list)  # canonical names the chapter talks about
    generated: bool = False  # made by topic segmentation and the local LLM, not by the publisher

    @property
    def timestamp(self) -> str:
        return format_timestamp(self.start)


@dataclass
class Entity:
    __pydantic_config__ = _STRICT

    name: str
    type: str  # normalized: person, organization, product, concept, software, other
    description: str = ""


@dataclass
class TranscriptSegment:
    __pydantic_config__ = _STRICT

    start: float
    end: float
    text: str
    speaker: str = ""


@dataclass
class Episode:
    __pydantic_config__ = _STRICT

    id: str
    title: str
    show: str = ""
    host: str = ""
    guests: list[str] = field(default_factory=list)
    duration: int = 0  # seconds; 0 when unknown
    summary: str = ""
    summary_language: str = "en"
    languages: list[str] = field(default_factory=list)
    url: str = ""
    published: str = ""  # ISO 8601 date (a feed item's pubDate), "" when unknown
    media_url: str = ""  # the audio: an http(s) enclosure URL, or a file:// URI inside the library's media dir
    media_type: str = ""  # its MIME type, e.g. audio/mpeg
    chapters: list[Chapter] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    transcript: list[TranscriptSegment] = field(default_factory=list)

    @property
    def people(self) -> list[str]:
        """Everyone the episode names as a person: host, guests, person entities."""
        names = [self.host, *self.guests]
        names += [e.name for e in self.entities if e.type == "person"]
        return list(dict.fromkeys(n for n in names if n))

    def chapter_at(self, seconds: float) -> Chapter | None:
        """The chapter playing at `seconds`, for attaching transcript segments."""
        current = None
        for chapter in self.chapters:
            if chapter.start <= seconds:
                current = chapter
        return current

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Episode:
        return _EPISODE.validate_json(text, strict=True)



_EPISODE = pydantic.TypeAdapter(Episode)


def slugify(text: str) -> str:
    """Stable, URL-safe episode id from a title; keeps CJK characters readable."""
    text = unicodedata.normalize("NFKC", text).lower().replace("'", "")
    slug = re.sub(r"[^\w]+", "-", text).strip("-")
    return slug or "episode"


def parse_timestamp(text: str) -> int:
    """'15:51' -> 951, '1:21:56' -> 4916. Raises ValueError on anything else."""
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a timestamp: {text!r}")
    numbers = [int(p) for p in parts]
    if any(n >= 60 for n in numbers[1:]):
        raise ValueError(f"not a timestamp: {text!r}")
    seconds = 0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds


def format_timestamp(seconds: float) -> str:
    """951 -> '15:51', 4331 -> '1:12:11' (the style podcast players show)."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"
