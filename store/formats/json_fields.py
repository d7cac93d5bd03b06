"""Fields of the JSON objects chapter and transcript files hold, read with errors that name them.

`where` is the object's path as a JSON author would point at it ("chapters[2]."), so a message
reads "chapters[2].startTime is missing".
"""

from __future__ import annotations

from store.errors import ParseError
from store.formats.checks import describe_value


def text_field(data: dict, key: str, path: str, where: str = "") -> str:
    """An optional text ("" when absent or null); any other type is an error."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(path, f"{where}{key}: expected text (a JSON string), got {describe_value(value)}")
    return value


def seconds_field(data: dict, key: str, path: str, where: str = "", scale: float = 1) -> float:
    """A required time: a number, not negative, times `scale` (1/1000 for milliseconds)."""
    if key not in data:
        raise ParseError(path, f"{where}{key} is missing")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        unit = "seconds" if scale == 1 else "milliseconds"
        raise ParseError(path, f"{where}{key}: expected a number of {unit}, got {describe_value(value)}")
    if value < 0:
        raise ParseError(path, f"{where}{key} is {value}; times cannot be negative")
    return value * scale


def objects(items: object, path: str, where: str) -> list[dict]:
    """`items` as a list of JSON objects, or an error naming the first item that is not one."""
    if not isinstance(items, list):
        raise ParseError(path, f"{where}: expected a list, got {describe_value(items)}")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ParseError(path, f"{where}[{i}]: expected an object, got {describe_value(item)}")
    return items
