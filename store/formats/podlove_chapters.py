"""Podlove Simple Chapters, as JSON (the web player's) and as XML (`.psc`, the spec's own form).

JSON (podlove-ui packages/types/src/chapter.ts, PodloveWebPlayerChapter): a list of `{"start":
"00:00:00.000", "title", "href", "image"}`, or the web player's episode config `{"title", "show":
{"title"}, "chapters": [...]}`. A string `start` is Normal Play Time; a number is milliseconds, as
the web player's toPlayerTime reads it. In the config form every start must be a string and no
chapter may have a numeric "end": an episode JSON's chapters have "start" too, and an "end", both
in whole seconds, and a hand-written one with "15:51" as a start should hear that it is wrong.

XML (podlove-specifications, podlove-simple-chapters.md 1.2): `<psc:chapters version="1.2"
xmlns:psc="http://podlove.org/simple-chapters"><psc:chapter start="3:07" title="..."/>`. `start`
is Normal Play Time (`01:35:52`, `7:48`, `35:12.250`, `37`). Clients must resort chapters by
time, so both forms are sorted. Entity declarations are refused, the one way an XML file of a few
bytes can expand to gigabytes.
"""

from __future__ import annotations

from xml.parsers import expat

from store.episode import Episode
from store.errors import ParseError
from store.formats.chapters import ChapterMark, episode_from_marks
from store.formats.checks import MAX_CHAPTERS, check_count, describe_value
from store.formats.json_fields import objects, seconds_field, text_field
from store.formats.timecodes import EXAMPLES, seconds_of

_NAMESPACE = "http://podlove.org/simple-chapters"


def is_podlove_chapters(data: object) -> bool:
    if isinstance(data, list):
        first = data[0] if data else None
        return isinstance(first, dict) and "start" in first and "chapters" not in first
    if not isinstance(data, dict) or not isinstance(data.get("chapters"), list) or not data["chapters"]:
        return False
    return all(
        isinstance(c, dict) and isinstance(c.get("start"), str) and not isinstance(c.get("end"), (int, float))
        for c in data["chapters"]
    )


def chapters_from_data(data: object, path: str, episode_id: str | None = None, title: str | None = None) -> Episode:
    items = data if isinstance(data, list) else data["chapters"]
    check_count(len(items), MAX_CHAPTERS, "chapters", path)
    marks = []
    for i, item in enumerate(objects(items, path, "chapters")):
        where = f"chapters[{i}]."
        start = item.get("start")
        if isinstance(start, str):
            seconds = _clock(start, path, where + "start")
        else:
            seconds = seconds_field(item, "start", path, where, scale=1 / 1000)
        marks.append(ChapterMark(seconds, text_field(item, "title", path, where)))
    if isinstance(data, list):
        return episode_from_marks(_sorted(marks), path, episode_id, title)
    show = data.get("show")
    show_title = text_field(show, "title", path, "show.") if isinstance(show, dict) else ""
    return episode_from_marks(_sorted(marks), path, episode_id, title, text_field(data, "title", path), show_title)


def parse_psc(text: str, path: str, episode_id: str | None = None, title: str | None = None) -> Episode:
    marks: list[ChapterMark] = []
    root: list[str] = []
    parser = expat.ParserCreate(namespace_separator=" ")

    def start_element(name: str, attributes: dict[str, str]) -> None:
        local = name.rsplit(" ", 1)[-1]
        if not root:
            root.append(name)
            if local != "chapters":
                raise ParseError(path, f"line {parser.CurrentLineNumber}: the root is <{local}>, not <psc:chapters>")
        if local != "chapter":
            return
        where = f"line {parser.CurrentLineNumber}: <psc:chapter> "
        if "start" not in attributes:
            raise ParseError(path, where + "has no start")
        check_count(len(marks) + 1, MAX_CHAPTERS, "chapters", path)
        marks.append(ChapterMark(_clock(attributes["start"], path, where + "start"), attributes.get("title", "")))

    def refuse_entity(name: str, *_) -> None:
        raise ParseError(path, f"line {parser.CurrentLineNumber}: declares an XML entity ({name}); not allowed")

    parser.StartElementHandler = start_element
    parser.EntityDeclHandler = refuse_entity
    try:
        parser.Parse(text, True)
    except expat.ExpatError as err:
        problem = expat.errors.messages[err.code] if err.code else str(err)
        raise ParseError(path, f"invalid XML at line {err.lineno}, column {err.offset + 1}: {problem}") from None
    if not marks:
        raise ParseError(path, f"no <psc:chapter> elements (namespace {_NAMESPACE})")
    return episode_from_marks(_sorted(marks), path, episode_id, title)


def _clock(value: str, path: str, what: str) -> float:
    seconds = seconds_of(value)
    if seconds is None:
        raise ParseError(path, f"{what} {describe_value(value)} is not a time like {EXAMPLES}")
    return seconds


def _sorted(marks: list[ChapterMark]) -> list[ChapterMark]:
    return sorted(marks, key=lambda mark: mark.start)
