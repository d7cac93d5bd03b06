"""SRT and WebVTT transcripts -> TranscriptSegments, read as leniently as players read them.

Both formats are blocks separated by blank lines: an optional cue id, a timing line
`start --> end [cue settings]`, then text lines. One reader handles both; WebVTT adds a
`WEBVTT` header and NOTE/STYLE/REGION blocks, which are skipped. Real files mix the two styles
and bend both, and players accept what this reader accepts: any clock `timecodes` reads (no
hours, no milliseconds, `0.000`, `1:04.620`, `100:00.000`), cue ids of any kind (numbered from 0
too), a blank line between a timing line and its text, overlapping cues (kept, in time order),
CRLF, a byte order mark, HTML tags and entities, `<v Name>` with or without `</v>`, no final
newline. A block without a timing line anywhere else is an error naming its line.

Speakers come from `<v Name>`, or from `Name:` prefixes (Podcasting 2.0's SRT convention), which
are given on the first cue of each turn only: the name is that turn's speaker until the next
prefix, and leaves the text. A prefix is a name of 1-3 capitalised words (or CJK) before ':' or
'：' at the start of a cue, and only counts when the file prefixes at least two different names:
a conversation has two speakers, while "Note: recorded live" once, or twice, is a label.
"""

from __future__ import annotations

import dataclasses
import html
import re
from dataclasses import dataclass

from store.episode import Episode, TranscriptSegment
from store.errors import ParseError
from store.formats.checks import MAX_CUES, MAX_LINES, MAX_TEXT_CHARS, check_count, check_length, describe_value
from store.formats.timecodes import seconds_of

# The clocks themselves are read by `seconds_of`; this only finds the two sides of the arrow.
_TIMING = re.compile(r"^([\d:.,]+)\s*-->\s*([\d:.,]+)(?:\s.*)?$")
# HTML-ish cue tags, and SRT's ASS overrides like {\an8}. Neither may contain its own opening character:
# with `<[^>]*>`, every '<' of a run without a '>' scanned to the end of the cue, and 100k of them took 8 s.
_TAG = re.compile(r"<([^<>]*)>|\{\\[^{}]*\}")
_VOICE = re.compile(r"v(?:\.\S+)?\s+(.+)", re.DOTALL)  # what a voice tag holds: <v.loud Yann LeCun>
_VTT_HEADER = re.compile(r"^WEBVTT(?:\s|$)")
_VTT_SKIPPED = re.compile(r"^(?:NOTE|STYLE|REGION)(?:\s|$)")
# "Travis: When you first...", "Dr. Jane Doe: ...", "杨立昆：...". Letters only (no digits: "Part 2: ...").
_PREFIX = re.compile(r"([^\W\d_](?:[^\W\d_]|['’.-])*(?: [^\W\d_](?:[^\W\d_]|['’.-])*){0,2}) ?(?::\s+|：\s*)(?=\S)")
_MAX_PREFIX_CHARS = 32
_MAX_UNCASED_PREFIX_CHARS = 4  # a Chinese name is 2-4 characters; a longer run before '：' is a clause

_Block = tuple[int, list[str]]  # (line number of its first line, its non-blank lines)


@dataclass
class Cue:
    """A cue as read, before it becomes a transcript segment or a chapter."""

    start: float
    end: float
    text: str  # tags removed, entities decoded, on one line
    voice: str = ""  # from a <v Name> tag
    lines: int = 1  # text lines in the file


def parse_srt(text: str, path: str) -> list[TranscriptSegment]:
    return segments_of(_read_cues(_blocks(text, path), path, "00:00:01,000 --> 00:00:04,000"), path)


def parse_vtt(text: str, path: str) -> list[TranscriptSegment]:
    return segments_of(read_vtt(text, path)[1], path)


def read_vtt(text: str, path: str) -> tuple[str, list[Cue]]:
    """The header's text after `WEBVTT` (a title, if the file has one) and the cues."""
    blocks = _blocks(text, path)
    if not blocks or not _VTT_HEADER.match(blocks[0][1][0]):
        raise ParseError(path, "not a WebVTT file: the first line must be 'WEBVTT'")
    header = blocks[0][1][0][len("WEBVTT") :].strip(" \t-:")
    cues = [block for block in blocks[1:] if not _VTT_SKIPPED.match(block[1][0])]
    return header, _read_cues(cues, path, "00:01.000 --> 00:04.000")


def segments_of(cues: list[Cue], path: str) -> list[TranscriptSegment]:
    """The cues with text, as segments, with `Name:` prefixes read as turn speakers."""
    cues = [cue for cue in cues if cue.text]
    if not cues:
        raise ParseError(path, "no cues with text found")
    prefixes = [_prefix(cue) for cue in cues]
    if len({match[1] for match in prefixes if match}) < 2:
        return [TranscriptSegment(cue.start, cue.end, cue.text, cue.voice) for cue in cues]
    segments, turn = [], ""
    for cue, match in zip(cues, prefixes, strict=True):
        turn = match[1] if match else turn
        text = cue.text[match.end() :] if match else cue.text
        segments.append(TranscriptSegment(cue.start, cue.end, text, cue.voice or turn))
    return segments


def attach_transcript(episode: Episode, segments: list[TranscriptSegment]) -> Episode:
    """A copy of `episode` with the transcript in time order (`checked_episode` says if it overruns)."""
    return dataclasses.replace(episode, transcript=sorted(segments, key=lambda s: (s.start, s.end)))


def _prefix(cue: Cue) -> re.Match | None:
    match = None if cue.voice else _PREFIX.match(cue.text)
    if not match:
        return None
    name = match[1]
    cased = name.lower() != name.upper()
    if len(name) > (_MAX_PREFIX_CHARS if cased else _MAX_UNCASED_PREFIX_CHARS):
        return None
    return match if all(not word[0].islower() for word in name.split()) else None


def _blocks(text: str, path: str) -> list[_Block]:
    lines = text.lstrip("\ufeff").splitlines()
    check_count(len(lines), MAX_LINES, "lines", path)
    blocks: list[_Block] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if blocks and blocks[-1][0] + len(blocks[-1][1]) == number:
            blocks[-1][1].append(line.strip())
        else:
            blocks.append((number, [line.strip()]))
    return blocks


def _read_cues(blocks: list[_Block], path: str, example: str) -> list[Cue]:
    check_count(len(blocks), MAX_CUES, "cues", path)
    cues: list[Cue] = []
    for first_line, lines in blocks:
        # The cue id line is optional in both formats; a block of one line can only be a timing line.
        at = 0 if "-->" in lines[0] or len(lines) == 1 else 1
        timing = lines[at]
        if "-->" not in timing and cues and not cues[-1].lines:  # a blank line after the last timing line
            cues[-1] = _with_text(cues[-1], lines, f"cue {len(cues)} (line {first_line})", path)
            continue
        where = f"cue {len(cues) + 1} (line {first_line + at})"
        match = _TIMING.match(timing)
        start, end = (seconds_of(match[1]), seconds_of(match[2])) if match else (None, None)
        if start is None or end is None:
            problem = "bad timestamp in" if "-->" in timing else "expected a timing line, got"
            raise ParseError(path, f"{where}: {problem} {describe_value(timing)}; a timing line looks like {example!r}")
        if end < start:
            raise ParseError(path, f"{where}: ends at {end:.3f} s, before it starts at {start:.3f} s")
        cues.append(_with_text(Cue(start, end, "", lines=0), lines[at + 1 :], where, path))
    return cues


def _with_text(cue: Cue, lines: list[str], where: str, path: str) -> Cue:
    body = " ".join(lines)
    check_length(body, MAX_TEXT_CHARS, where, path)  # before its tags are read
    voices = (_VOICE.fullmatch(tag[1]) for tag in _TAG.finditer(body) if tag[1])
    voice = next((match[1].strip() for match in voices if match), "")
    text = " ".join(html.unescape(_TAG.sub("", body)).split())
    return dataclasses.replace(cue, text=text, voice=voice, lines=len(lines))
