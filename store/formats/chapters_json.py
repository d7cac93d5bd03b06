"""Podcasting 2.0 chapters JSON: `{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Intro"}]}`.

Times are float seconds (`startTime`, optional `endTime`); "title" is the file's title and
"podcastName" becomes the show; images, links and waypoints have no place in an Episode. The
episode is made as every chapters file's is (store/formats/chapters.py).
"""

from __future__ import annotations

from store.episode import Episode
from store.errors import ParseError
from store.formats.chapters import ChapterMark, episode_from_marks
from store.formats.checks import MAX_CHAPTERS, check_count, describe_value
from store.formats.episode_json import load_json
from store.formats.json_fields import objects, seconds_field, text_field


def parse_chapters_json(text: str, path: str, episode_id: str | None = None, title: str | None = None) -> Episode:
    return chapters_from_data(load_json(text, path), path, episode_id, title)


def is_podcasting_chapters(data: object) -> bool:
    """A "version" key, or chapters timed by "startTime" (episode JSON uses "start")."""
    if not isinstance(data, dict):
        return False
    chapters = data.get("chapters")
    timed = isinstance(chapters, list) and any(isinstance(c, dict) and "startTime" in c for c in chapters)
    return "version" in data or timed


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
    marks = []
    for i, item in enumerate(objects(items, path, "chapters")):
        where = f"chapters[{i}]."
        end = seconds_field(item, "endTime", path, where) if "endTime" in item else None
        start = seconds_field(item, "startTime", path, where)
        marks.append(ChapterMark(start, text_field(item, "title", path, where), end))
    file_title, show = text_field(data, "title", path), text_field(data, "podcastName", path)
    return episode_from_marks(marks, path, episode_id, title, file_title=file_title, show=show)
