"""HTML transcripts as Podcasting 2.0 describes them -> TranscriptSegments.

The spec (podcast-namespace, transcripts/transcripts.md): `<cite>Kevin:</cite> <time>0:00</time>
<p>text</p>` per monologue; each tag is optional. A paragraph is spoken by the last <cite> before
it, from the last <time> before it until the next paragraph's time, and becomes sentence segments
(store/formats/sentences.py). A file without any <time> is refused: every citation would point at
0:00. Other tags are read through (their text kept) except <script>, <style> and <head>.

The tags are found by one pattern with no nested repeats, not by html.parser: every step is
linear in the file, as tests/test_fuzz.py requires of hostile input, and a message can name the
line of a bad <time>.
"""

from __future__ import annotations

import html
import re

from store.episode import TranscriptSegment
from store.errors import ParseError
from store.formats.checks import MAX_CUES, MAX_LINES, MAX_TEXT_CHARS, check_count, check_length, describe_value
from store.formats.sentences import sentences
from store.formats.timecodes import EXAMPLES, seconds_of

_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>")
_HIDDEN = {"script", "style", "head", "title"}  # tags whose text is no part of the transcript
_BREAKS = {"br", "div", "li"}  # tags between which words must stay apart


def parse_html_transcript(text: str, path: str) -> list[TranscriptSegment]:
    check_count(text.count("\n") + 1, MAX_LINES, "lines", path)
    text = _without_comments(text)
    speaker, start, hidden = "", None, 0
    capture: str | None = None  # the tag whose text is being read: cite, time or p
    texts: list[str] = []
    paragraphs: list[tuple[float | None, str, str]] = []  # (the last <time>, the last <cite>, the text)
    line, counted = 1, 0

    def close(tag: str) -> None:
        nonlocal speaker, start
        value = " ".join(html.unescape("".join(texts)).split())
        if tag == "cite":
            speaker = value.rstrip(" :：")
        elif tag == "time":
            start = seconds_of(value)
            if start is None:
                raise ParseError(path, f"line {line}: <time> holds {describe_value(value)}, not a time like {EXAMPLES}")
        elif value:
            check_length(value, MAX_TEXT_CHARS, f"the paragraph at line {line}", path)
            check_count(len(paragraphs) + 1, MAX_CUES, "paragraphs", path)
            paragraphs.append((start, speaker, value))

    position = 0
    for match in _TAG.finditer(text):
        if capture and not hidden:
            texts.append(text[position : match.start()])
        position = match.end()
        line += text.count("\n", counted, match.start())
        counted = match.start()
        closing, name = match[1], match[2].lower()
        if name in _HIDDEN:
            hidden = max(0, hidden - 1) if closing else hidden + 1
        elif name in ("cite", "time", "p"):
            if capture:  # the spec does not nest them: any of them ends the one open
                close(capture)
                capture = None
            if not closing:
                capture, texts = name, []
        elif capture and name in _BREAKS:
            texts.append(" ")
    if capture:
        texts.append(text[position:])
        close(capture)
    if not paragraphs:
        raise ParseError(path, "no <p> paragraphs with text found; an HTML transcript is <cite>, <time> and <p> tags")
    if all(start is None for start, *_ in paragraphs):
        raise ParseError(path, "no <time> tags: without times no paragraph can be cited at its moment")
    return sentences(_timed(paragraphs))


def _without_comments(text: str) -> str:
    """`text` with <!-- comments --> blanked out but their newlines kept, so line numbers stay true.

    By find, not a lazy pattern: a pattern retried at each of 1M unclosed "<!--" would scan to the end 1M times.
    """
    parts, position = [], 0
    while (opening := text.find("<!--", position)) >= 0:
        closing = text.find("-->", opening + 4)
        end = len(text) if closing < 0 else closing + 3
        parts += [text[position:opening], "\n" * text.count("\n", opening, end)]
        position = end
    return "".join(parts) + text[position:]


def _timed(paragraphs: list[tuple[float | None, str, str]]) -> list[TranscriptSegment]:
    """Each paragraph from its start to the next one's; paragraphs before the first <time> start at 0."""
    pieces = []
    starts = [start or 0.0 for start, *_ in paragraphs]
    for i, (_, speaker, text) in enumerate(paragraphs):
        end = max(starts[i], starts[i + 1]) if i + 1 < len(paragraphs) else starts[i]
        pieces.append(TranscriptSegment(starts[i], end, text, speaker))
    return pieces
