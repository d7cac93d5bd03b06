"""WebVTT chapters files (`<track kind="chapters">`): each cue a chapter, its text the title.

A .vtt file is read as chapters when its name says so ("chapter" in it: `episode-12-chapters.vtt`),
or when every cue is shaped like a title and lasts like a chapter: one line of at most
MAX_TITLE_CHARS, no <v> speaker, no sentence-final '.' or '。' (titles end in '?' or '!' at most),
and a median cue of at least MIN_MEDIAN_SECONDS. Captions fail the last test by far (a cue is
2-7 s: two lines of 32 characters, in the Podcasting 2.0 guidance), and a transcript cued by
paragraph fails the others. The header's text after "WEBVTT" is the file's title, if any.
"""

from __future__ import annotations

from pathlib import Path
from statistics import median

from store.episode import Episode
from store.formats.chapters import ChapterMark, episode_from_marks
from store.formats.transcripts import Cue

MAX_TITLE_CHARS = 100
MIN_MEDIAN_SECONDS = 30


def is_chapters_vtt(path: str, cues: list[Cue]) -> bool:
    if "chapter" in Path(path).stem.lower():
        return True
    titled = [cue for cue in cues if cue.text]
    return bool(titled) and all(_title_shaped(cue) for cue in titled) and median(
        cue.end - cue.start for cue in titled
    ) >= MIN_MEDIAN_SECONDS


def chapters_from_cues(
    cues: list[Cue], header: str, path: str, episode_id: str | None = None, title: str | None = None
) -> Episode:
    marks = [ChapterMark(cue.start, cue.text, cue.end) for cue in sorted(cues, key=lambda cue: cue.start)]
    return episode_from_marks(marks, path, episode_id, title, file_title=header)


def _title_shaped(cue: Cue) -> bool:
    return cue.lines == 1 and not cue.voice and len(cue.text) <= MAX_TITLE_CHARS and not cue.text.endswith((".", "。"))
