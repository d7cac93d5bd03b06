"""The canonical episode JSON: exactly `Episode.to_json()`, so export and import round-trip.

Hand-written files get two conveniences and no more: a missing or empty `id` is derived
from the title with `slugify` (the same id the page parser would give that episode), and a
file may hold a list of episodes. Everything else is strict: a wrong type or a missing
field (a chapter's `end` included) is reported with the field's path, never coerced.
"""

from __future__ import annotations

import json

import pydantic

from store.episode import Episode, slugify
from store.errors import ParseError

_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "text (a JSON string)",
    "bool_type": "true or false",
    "list_type": "a list",
    "dataclass_type": "an object",
}
_MISSING_HINTS: dict[int | str, str] = {
    "end": " (a chapter ends at the next chapter's start, or at the episode's duration, in seconds)"
}
_MAX_REPORTED = 3


def parse_episode_json(text: str, path: str) -> Episode:
    data = load_json(text, path)
    if isinstance(data, list):
        raise ParseError(path, "holds a list of episodes; expected a single episode object")
    return episode_from_data(data, path)


def dump_episode_json(episode: Episode) -> str:
    return episode.to_json()


def episodes_from_data(data: object, path: str) -> list[Episode]:
    """One episode object, or a list of them (an export of several episodes)."""
    if not isinstance(data, list):
        return [episode_from_data(data, path)]
    if not data:
        raise ParseError(path, "holds an empty list; expected episodes")
    episodes = [episode_from_data(item, path, f"episode [{i}]: ") for i, item in enumerate(data)]
    ids = [e.id for e in episodes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ParseError(path, f"episode ids must be unique; repeated: {', '.join(duplicates)}")
    return episodes


def episode_from_data(data: object, path: str, where: str = "") -> Episode:
    """`where` prefixes every message, to say which episode of a list is wrong."""
    if isinstance(data, dict) and not data.get("id") and isinstance(data.get("title"), str):
        data = {**data, "id": slugify(data["title"])}
    try:
        # Through JSON, not validate_python: strict Python mode wants dataclass instances, not dicts.
        episode = Episode.from_json(json.dumps(data))
    except pydantic.ValidationError as err:
        raise ParseError(path, where + _describe(err)) from None
    check_episode(episode, path, where)
    return episode


def load_json(text: str, path: str) -> object:
    def reject(name: str) -> None:  # Python's json accepts NaN/Infinity; JSON and our times do not
        raise ParseError(path, f"invalid JSON: {name} is not a JSON number")

    try:
        return json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as err:
        raise ParseError(path, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None


def check_episode(episode: Episode, path: str, where: str = "") -> None:
    """What types cannot say: ids and titles exist, chapters run forward and inside the episode.

    A zero-length chapter is allowed only last, in an episode of unknown duration: a chapter
    list without end times (Podcasting 2.0) cannot say when the last chapter ends.
    """
    problem = _semantic_problem(episode)
    if problem:
        raise ParseError(path, where + problem)


def _semantic_problem(episode: Episode) -> str | None:
    if not episode.title.strip():
        return "the title is empty"
    if not episode.id.strip():
        return "the id is empty"
    chapters = episode.chapters
    for i, chapter in enumerate(chapters):
        if chapter.start < 0:
            return f"chapters[{i}] starts at {chapter.start} s; a start cannot be negative"
        if i and chapter.start <= chapters[i - 1].start:
            return f"chapters[{i}] starts at {chapter.start} s, not after chapters[{i - 1}] ({chapters[i - 1].start} s)"
    for i, chapter in enumerate(chapters):  # ends only once the order is known good, to blame the right field
        open_ended = i == len(chapters) - 1 and not episode.duration and chapter.end == chapter.start
        if chapter.end <= chapter.start and not open_ended:
            return f"chapters[{i}] ends at {chapter.end} s, not after its start ({chapter.start} s)"
        if episode.duration and chapter.end > episode.duration:
            return f"chapters[{i}] ends at {chapter.end} s, after the episode's duration ({episode.duration} s)"
    return None


def _describe(err: pydantic.ValidationError) -> str:
    problems = []
    for error in err.errors()[:_MAX_REPORTED]:
        subject = f"field {_field(error['loc'])}" if error["loc"] else "the episode"
        if error["type"] == "missing":
            problems.append(f"{subject} is missing{_MISSING_HINTS.get(error['loc'][-1], '')}")
        elif error["type"] in _EXPECTED:
            problems.append(f"{subject}: expected {_EXPECTED[error['type']]}, got {describe_value(error['input'])}")
        else:
            problems.append(f"{subject}: {error['msg'].lower()}")
    hidden = err.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {hidden} more problems)" if hidden else "")


def _field(loc: tuple) -> str:
    """('chapters', 2, 'start') -> 'chapters[2].start', as a JSON author would point at it."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def describe_value(value: object) -> str:
    """The offending value as a JSON author would name it."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
