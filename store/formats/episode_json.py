"""The canonical episode JSON: exactly `Episode.to_json()`, so export and import round-trip.

Hand-written files get two conveniences and no more: a missing or empty `id` is derived
from the title with `slugify` (the same id the page parser would give that episode), and a
file may hold a list of episodes. Everything else is strict: a wrong type or a missing
field (a chapter's `end` included) is reported with the field's path, never coerced.
"""

from __future__ import annotations

import json
import math

import pydantic

from store.episode import Episode, slugify
from store.errors import ParseError
from store.formats.checks import MAX_EPISODES, check_count, checked_episode, clean_name, describe_value

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
# No time in seconds has more digits; Python's int() would refuse over 4,300 with a message about
# sys.set_int_max_str_digits, and a longer number is only slower to read.
_MAX_DIGITS = 20
_TOO_DEEP = "invalid JSON: nested too deeply"


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
    check_count(len(data), MAX_EPISODES, "episodes in one file", path)
    episodes = [episode_from_data(item, path, f"episode [{i}]: ") for i, item in enumerate(data)]
    ids = [e.id for e in episodes]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ParseError(path, f"episode ids must be unique; repeated: {', '.join(duplicates)}")
    return episodes


def episode_from_data(data: object, path: str, where: str = "") -> Episode:
    """`where` prefixes every message, to say which episode of a list is wrong."""
    if isinstance(data, dict) and not data.get("id") and isinstance(data.get("title"), str):
        data = {**data, "id": slugify(clean_name(data["title"]))}
    try:
        # Through JSON, not validate_python: strict Python mode wants dataclass instances, not dicts.
        episode = Episode.from_json(json.dumps(data))
    except pydantic.ValidationError as err:
        raise ParseError(path, where + _describe(err)) from None
    except RecursionError:  # json.dumps recurses as deep as json.loads did, a few frames further down
        raise ParseError(path, where + _TOO_DEEP) from None
    return checked_episode(episode, path, where)


def load_json(text: str, path: str) -> object:
    def reject(name: str) -> None:  # Python's json accepts NaN/Infinity; JSON and our times do not
        raise ParseError(path, f"invalid JSON: {name} is not a JSON number")

    def whole(digits: str) -> int:
        if len(digits.lstrip("-")) > _MAX_DIGITS:
            problem = f"a number of {len(digits):,} digits; times are seconds, at most {_MAX_DIGITS} digits"
            raise ParseError(path, problem)
        return int(digits)

    def real(digits: str) -> float:
        value = float(digits)
        if not math.isfinite(value):  # 1e400 reads as infinity
            raise ParseError(path, f"the number {describe_value(digits)} is too large")
        return value

    try:
        return json.loads(text, parse_constant=reject, parse_int=whole, parse_float=real)
    except json.JSONDecodeError as err:
        raise ParseError(path, f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise ParseError(path, _TOO_DEEP) from None


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
