"""Chapter files of every format -> an Episode, by one rule: `episode_from_marks`.

Podcasting 2.0 chapters JSON, Podlove Simple Chapters (JSON and XML) and WebVTT chapters all
describe chapter marks and little else, so they make their episode the same way. The episode
title is the caller's (a feed item's title), else the file's own title, else a readable title
made from the file name: its words, without "chapters" and the like, the first letter capitalised
when the name is all lower case (`cdspill_1995_chapters.json` -> "Cdspill 1995"). The id is the
title's slug, or the caller's id.

Times are float seconds in files and whole seconds in an Episode: a start rounds down and an end
up, so a chapter still covers all of its audio. A chapter without an end ends at the next chapter's
start, and none ends after the next one starts. A chapter file cannot say how long the episode
runs, so the duration is the last chapter's end when it has one; otherwise it stays 0 (unknown)
and the last chapter ends where it starts, the one zero-length chapter `checked_episode` accepts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from store.episode import Chapter, Episode, slugify
from store.formats.checks import MAX_CHAPTERS, check_count, checked_episode, clean_name
from store.language import detect_language

# Words a chapters file's name carries that say what the file is, not which episode it belongs to.
_FILE_WORDS = {"chapters", "chapter", "chaps", "psc", "kapitel", "marks"}


@dataclass(frozen=True)
class ChapterMark:
    start: float  # seconds
    title: str  # "" when the file gives none
    end: float | None = None  # seconds; None: at the next chapter's start


def episode_from_marks(
    marks: list[ChapterMark], path: str, episode_id: str | None = None, title: str | None = None,
    file_title: str = "", show: str = "",
) -> Episode:  # fmt: skip
    check_count(len(marks), MAX_CHAPTERS, "chapters", path)
    starts = [math.floor(mark.start) for mark in marks]
    chapters = []
    for i, mark in enumerate(marks):
        following = starts[i + 1] if i + 1 < len(marks) else starts[i]
        # Rounded up, an end may pass the next start (8:26.250 -> 507 s, next chapter at 506 s): it stops there.
        end = following if mark.end is None or i + 1 < len(marks) and mark.end >= following else math.ceil(mark.end)
        chapter_title = clean_name(mark.title) or f"Chapter {i + 1}"
        chapters.append(Chapter(start=starts[i], end=end, title=chapter_title, language=detect_language(chapter_title)))
    title = clean_name(title or "") or clean_name(file_title) or readable_title(path)
    episode = Episode(
        id=episode_id or slugify(title),
        title=title,
        show=clean_name(show),
        duration=chapters[-1].end if marks and marks[-1].end is not None else 0,
        chapters=chapters,
    )
    return checked_episode(episode, path)


def readable_title(path: str) -> str:
    """`cdspill_1995_chapters.vtt` -> "Cdspill 1995"; a name of file words only is kept whole."""
    words = [word for word in re.split(r"[\s_.-]+", Path(path).stem) if word]
    kept = [word for word in words if word.lower() not in _FILE_WORDS] or words
    title = " ".join(kept)
    return title[:1].upper() + title[1:] if title.islower() else title
