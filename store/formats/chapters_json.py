"""Podcasting 2.0 chapters JSON: `{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro"}]}`.

The file describes chapters and little else, so the episode title is the caller's, else the
file's optional "title", else the file name; the id is the title's slug (or the caller's id).
"podcastName" becomes the show; images, links and waypoints have no place in an Episode.

Times are float seconds in the file and whole seconds in an Episode: a start rounds down and
an `endTime` up, so a chapter still covers all of its audio. A chapter without `endTime` ends
at the next chapter's start. The file cannot say how long the episode runs, so the duration
is the last chapter's `endTime` when it has one; otherwise it stays 0 (unknown) and the last
chapter ends where it starts — the one zero-length chapter `checked_episode` accepts.
"""

from __future__ import annotations

import math
from pathlib import Path

from store.episode import Chapter, Episode, slugify
from store.errors import ParseError
from store.formats.checks import MAX_CHAPTERS, check_count, checked_episode, clean_name, describe_value
from store.formats.episode_json import load_json
from store.language import detect_language


def parse_chapters_json(text: str, path: str, episode_id: str | None = None, title: str | None = None) -> Episode:
    return chapters_from_data(load_json(text, path), path, episode_id, title)


def chapters_from_data(data: object, path: str, episode_id: str | None = None, title: str | None = None) -> Episode:
    if not isinstance(data, dict) or "version" not in data:
        raise ParseError(
            path,
            'no "version": a Podcasting 2.0 chapters file looks like '
            '{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro"}]}',
        )
    items = data.get("chapters")
    if not isinstance(items, list) or not items:
        raise ParseError(path, f'"chapters" must be a non-empty list, got {describe_value(items)}')
    check_count(len(items), MAX_CHAPTERS, "chapters", path)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParseError(path, f"chapters[{i}]: expected an object, got {describe_value(item)}")
    starts = [math.floor(_seconds(item, "startTime", path, i)) for i, item in enumerate(items)]
    chapters = []
    for i, item in enumerate(items):
        following = starts[i + 1] if i + 1 < len(items) else starts[i]
        end = math.ceil(_seconds(item, "endTime", path, i)) if "endTime" in item else following
        chapter_title = _text(item, "title", path, f"chapters[{i}].") or f"Chapter {i + 1}"
        chapters.append(Chapter(start=starts[i], end=end, title=chapter_title, language=detect_language(chapter_title)))
    title = title or _text(data, "title", path) or Path(path).stem
    episode = Episode(
        id=episode_id or slugify(title),
        title=title,
        show=_text(data, "podcastName", path),
        duration=chapters[-1].end if "endTime" in items[-1] else 0,
        chapters=chapters,
    )
    return checked_episode(episode, path)


def _seconds(item: dict, key: str, path: str, i: int) -> float:
    if key not in item:
        raise ParseError(path, f"chapters[{i}].{key} is missing")
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(path, f"chapters[{i}].{key}: expected a number of seconds, got {describe_value(value)}")
    if value < 0:
        raise ParseError(path, f"chapters[{i}].{key} is {value}; times cannot be negative")
    return value


def _text(data: dict, key: str, path: str, where: str = "") -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ParseError(path, f"{where}{key}: expected text (a JSON string), got {describe_value(value)}")
    return clean_name(value)
