"""JSON transcripts -> TranscriptSegments: Podcasting 2.0's and Podlove's.

Podcasting 2.0 (podcast-namespace, transcripts/transcripts.md): `{"version": "1.0.0", "segments":
[{"speaker", "startTime", "endTime", "body"}]}`, times in float seconds, `endTime` and `speaker`
optional; segments are often single words.

Podlove (podlove-publisher lib/modules/transcripts/model/transcript.php, `prepare_transcript`; the
web player's PodloveWebPlayerTranscript in podlove-ui packages/types): a list of `{"start":
"00:00:01.500", "start_ms": 1500, "end", "end_ms", "speaker", "voice", "text"}`, or, "grouped",
`{"speaker", "voice", "items": [...]}` per turn. "voice" is the speaker's name as the VTT <v> tag
gave it; "speaker" is a contributor id (a number) unless a file puts a name there. Without
`start_ms`, a string `start` is a clock and a number is milliseconds, as the web player reads it.

Either way the pieces become sentence segments (store/formats/sentences.py).
"""

from __future__ import annotations

from store.episode import TranscriptSegment
from store.errors import ParseError
from store.formats.checks import MAX_CUES, MAX_TEXT_CHARS, check_count, check_length, describe_value
from store.formats.json_fields import objects, seconds_field, text_field
from store.formats.sentences import sentences
from store.formats.timecodes import EXAMPLES, seconds_of


def is_json_transcript(data: object) -> bool:
    """Podcasting 2.0's "segments", or a Podlove list whose first item has "text" or grouped "items"."""
    if isinstance(data, dict):
        return "segments" in data
    first = data[0] if isinstance(data, list) and data else None
    return isinstance(first, dict) and ("text" in first or "items" in first)


def segments_from_data(data: object, path: str) -> list[TranscriptSegment]:
    pieces = _podcasting(data, path) if isinstance(data, dict) else _podlove(data, path)
    segments = sentences(pieces)
    if not segments:
        raise ParseError(path, "no transcript text found")
    return segments


def _podcasting(data: dict, path: str) -> list[TranscriptSegment]:
    items = objects(data["segments"], path, "segments")
    check_count(len(items), MAX_CUES, "segments", path)
    pieces = []
    for i, item in enumerate(items):
        where = f"segments[{i}]."
        start = seconds_field(item, "startTime", path, where)
        end = seconds_field(item, "endTime", path, where) if "endTime" in item else start
        if end < start:
            raise ParseError(path, f"segments[{i}] ends at {end} s, before it starts at {start} s")
        body = text_field(item, "body", path, where)
        check_length(body, MAX_TEXT_CHARS, f"segments[{i}].body", path)
        pieces.append(TranscriptSegment(start, end, body, text_field(item, "speaker", path, where)))
    return pieces


def _podlove(data: list, path: str) -> list[TranscriptSegment]:
    turns = objects(data, path, "the transcript")
    check_count(len(turns), MAX_CUES, "transcript items", path)
    pieces = []
    for i, turn in enumerate(turns):
        if "items" not in turn:
            pieces.append(_podlove_item(turn, turn, path, f"[{i}]."))
            continue
        items = objects(turn["items"], path, f"[{i}].items")
        check_count(len(pieces) + len(items), MAX_CUES, "transcript items", path)
        pieces += [_podlove_item(item, turn, path, f"[{i}].items[{j}].") for j, item in enumerate(items)]
    return pieces


def _podlove_item(item: dict, turn: dict, path: str, where: str) -> TranscriptSegment:
    start, end = _podlove_time(item, "start", path, where), _podlove_time(item, "end", path, where, optional=True)
    if end is None:
        end = start
    if end < start:
        raise ParseError(path, f"{where.rstrip('.')} ends at {end} s, before it starts at {start} s")
    text = text_field(item, "text", path, where)
    check_length(text, MAX_TEXT_CHARS, f"{where}text", path)
    voice = text_field(turn, "voice", path, where)
    speaker = turn.get("speaker")
    named = isinstance(speaker, str) and not speaker.strip().isdigit()  # else a contributor id
    return TranscriptSegment(start, end, text, voice or (speaker if named else ""))


def _podlove_time(item: dict, key: str, path: str, where: str, optional: bool = False) -> float | None:
    if f"{key}_ms" in item:
        return seconds_field(item, f"{key}_ms", path, where, scale=1 / 1000)
    if key not in item:
        if optional:
            return None
        raise ParseError(path, f"{where}{key} is missing (and {key}_ms)")
    value = item[key]
    if isinstance(value, str):
        seconds = seconds_of(value)
        if seconds is None:
            raise ParseError(path, f"{where}{key}: {describe_value(value)} is not a time like {EXAMPLES}")
        return seconds
    return seconds_field(item, key, path, where, scale=1 / 1000)
