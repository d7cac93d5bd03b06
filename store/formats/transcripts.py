"""SRT and WebVTT transcripts -> TranscriptSegments, and attaching them to an episode.

Both formats are blocks separated by blank lines: an optional cue id, a timing line
`start --> end [cue settings]`, then text lines. One reader handles both; WebVTT adds a
`WEBVTT` header and NOTE/STYLE/REGION blocks, which are skipped. Real files mix the two
styles, so either accepts optional hours and ',' or '.' before the milliseconds.
"""

from __future__ import annotations

import dataclasses
import html
import re

from store.episode import Episode, TranscriptSegment
from store.errors import ParseError
from store.formats.checks import MAX_CUES, MAX_LINES, MAX_TEXT_CHARS, check_count, check_length, describe_value

_TIME = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[,.](\d{1,3})"  # 3 hour digits are plenty: times stop at 48 h
_TIMING = re.compile(rf"^{_TIME}\s*-->\s*{_TIME}(?:\s.*)?$")
# HTML-ish cue tags, and SRT's ASS overrides like {\an8}. Neither may contain its own opening character:
# with `<[^>]*>`, every '<' of a run without a '>' scanned to the end of the cue, and 100k of them took 8 s.
_TAG = re.compile(r"<([^<>]*)>|\{\\[^{}]*\}")
_VOICE = re.compile(r"v(?:\.\S+)?\s+(.+)", re.DOTALL)  # what a voice tag holds: <v.loud Yann LeCun>
_VTT_HEADER = re.compile(r"^WEBVTT(?:\s|$)")
_VTT_SKIPPED = re.compile(r"^(?:NOTE|STYLE|REGION)(?:\s|$)")

_Block = tuple[int, list[str]]  # (line number of its first line, its non-blank lines)


def parse_srt(text: str, path: str) -> list[TranscriptSegment]:
    return _parse_cues(_blocks(text, path), path, "00:00:01,000 --> 00:00:04,000")


def parse_vtt(text: str, path: str) -> list[TranscriptSegment]:
    blocks = _blocks(text, path)
    if not blocks or not _VTT_HEADER.match(blocks[0][1][0]):
        raise ParseError(path, "not a WebVTT file: the first line must be 'WEBVTT'")
    cues = [block for block in blocks[1:] if not _VTT_SKIPPED.match(block[1][0])]
    return _parse_cues(cues, path, "00:01.000 --> 00:04.000")


def attach_transcript(episode: Episode, segments: list[TranscriptSegment]) -> Episode:
    """A copy of `episode` with the transcript in time order (`checked_episode` says if it overruns)."""
    return dataclasses.replace(episode, transcript=sorted(segments, key=lambda s: (s.start, s.end)))


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


def _parse_cues(blocks: list[_Block], path: str, example: str) -> list[TranscriptSegment]:
    check_count(len(blocks), MAX_CUES, "cues", path)
    segments = []
    for n, (first_line, lines) in enumerate(blocks, start=1):
        at = 0 if "-->" in lines[0] else 1  # the cue id line is optional in both formats
        where = f"cue {n} (line {first_line + at})"
        timing = lines[at] if at < len(lines) else ""
        match = _TIMING.match(timing)
        if not match:
            problem = "bad timestamp in" if "-->" in timing else "expected a timing line, got"
            raise ParseError(path, f"{where}: {problem} {describe_value(timing)}; a timing line looks like {example!r}")
        parts = match.groups("0")  # absent hours read as 0
        start, end = _seconds(parts[:4]), _seconds(parts[4:])
        if end < start:
            raise ParseError(path, f"{where}: ends at {end:.3f} s, before it starts at {start:.3f} s")
        body = " ".join(lines[at + 1 :])
        check_length(body, MAX_TEXT_CHARS, where, path)  # before its tags are read
        voices = (_VOICE.fullmatch(tag[1]) for tag in _TAG.finditer(body) if tag[1])
        speaker = next((voice[1].strip() for voice in voices if voice), "")
        text = " ".join(html.unescape(_TAG.sub("", body)).split())
        if text:
            segments.append(TranscriptSegment(start=start, end=end, text=text, speaker=speaker))
    if not segments:
        raise ParseError(path, "no cues with text found")
    return segments


def _seconds(parts: tuple[str, ...]) -> float:
    hours, minutes, seconds, fraction = parts
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction) / 10 ** len(fraction)
