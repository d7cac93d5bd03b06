"""Clock times as podcast files write them, read as leniently as players do: `seconds_of("1:04.620")`.

One reader for SRT/VTT cue times, Podlove's Normal Play Time and HTML transcripts' <time>:
`[[H:]M:]S[.fff]`, with ',' or '.' before the fraction, any number of fraction digits, one-digit
hours and minutes past 99 when there are no hours (`100:00.000`), as players accept them. A field
after another is below 60 (`00:61.000` is wrong, not 1:01); the first field is not bounded.
"""

from __future__ import annotations

import re

# Bounded repeats, so a reading is linear however long the text; 5 first-field digits are 27 hours of
# seconds or 1,666 hours of minutes, past every limit checks.py sets.
_CLOCK = re.compile(r"(\d{1,5})(?::(\d{1,2}))?(?::(\d{1,2}))?(?:[.,](\d{1,9}))?")

EXAMPLES = "1:02:03.500, 02:03,500, 2:03 or 3.5"  # for messages about a time that is not one


def seconds_of(text: str) -> float | None:
    """The time `text` writes, in seconds; None when it is not a time."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        return None
    first, second, third, fraction = match.groups()
    fields = [int(field) for field in (first, second, third) if field is not None]
    if any(field >= 60 for field in fields[1:]):
        return None
    seconds = 0
    for field in fields:
        seconds = seconds * 60 + field
    return seconds + (int(fraction) / 10 ** len(fraction) if fraction else 0)
