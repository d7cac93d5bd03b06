"""Every file LaiDub Ask can ingest, behind one entry point: `load_file` (or `load_text`).

The extension picks the family; a .json file is then sniffed (transcript, chapters of either
kind, or episode JSON), and a .vtt file is a transcript or a chapters file (chapters_vtt.py says
how they are told apart). Transcripts of every format attach to an indexed episode; chapter files
of every format make an episode (chapters.py). Whatever goes wrong surfaces as a ParseError naming
the file, and what a file may hold (MAX_FILE_BYTES and the rest) is in `checks`.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from store.episode import Episode, TranscriptSegment, slugify
from store.errors import ParseError
from store.formats import chapters_json, podlove_chapters
from store.formats.chapters_vtt import chapters_from_cues, is_chapters_vtt
from store.formats.checks import MAX_FILE_BYTES, checked_episode
from store.formats.episode_json import episodes_from_data, load_json
from store.formats.laidub_page import parse_page
from store.formats.text import read_text
from store.formats.transcript_html import parse_html_transcript
from store.formats.transcript_json import is_json_transcript, segments_from_data
from store.formats.transcripts import attach_transcript, parse_srt, read_vtt, segments_of

_PAGES = {".txt", ".md"}
SUPPORTED = (
    ".txt/.md (LaiDub page), .json (episode JSON, Podcasting 2.0 or Podlove chapters or transcript), "
    ".srt/.vtt/.html (transcript; .vtt chapters too), .psc (Podlove Simple Chapters)"
)

SUFFIXES = (*sorted(_PAGES), ".json", ".srt", ".vtt", ".html", ".psc")  # what ingest, seeds and uploads accept

__all__ = ["MAX_FILE_BYTES", "SUFFIXES", "SUPPORTED", "ParseError", "load_file", "load_text"]


def load_file(
    path: str | PathLike[str], episode_id: str | None = None, existing: dict[str, Episode] | None = None
) -> list[Episode]:
    """The episodes a file defines or updates.

    A transcript updates an episode already indexed (`existing`, keyed by id): the one named
    `episode_id`, else the one whose id is the file name's slug. `episode_id` also sets the id
    of an episode built from a chapters file.
    """
    name = str(path)
    suffix = Path(path).suffix.lower()
    _check_suffix(suffix, name)
    try:
        text = read_text(path)
    except OSError as err:
        raise ParseError(name, f"cannot read the file ({err.strerror})") from None
    return load_text(text, name, suffix, episode_id, existing)


def load_text(
    text: str, name: str, suffix: str, episode_id: str | None = None, existing: dict[str, Episode] | None = None
) -> list[Episode]:
    """As `load_file`, for text already read (a feed's linked transcript, say); `suffix` picks the format."""
    _check_suffix(suffix, name)
    existing = existing or {}
    if suffix in _PAGES:
        return parse_page(text, name)
    if suffix == ".json":
        data = load_json(text, name)
        if is_json_transcript(data):
            return _attached(segments_from_data(data, name), name, episode_id, existing)
        if podlove_chapters.is_podlove_chapters(data):
            return [podlove_chapters.chapters_from_data(data, name, episode_id)]
        if chapters_json.is_podcasting_chapters(data):
            return [chapters_json.chapters_from_data(data, name, episode_id)]
        return episodes_from_data(data, name)
    if suffix == ".psc":
        return [podlove_chapters.parse_psc(text, name, episode_id)]
    if suffix == ".vtt":
        header, cues = read_vtt(text, name)
        if is_chapters_vtt(name, cues):
            return [chapters_from_cues(cues, header, name, episode_id)]
        return _attached(segments_of(cues, name), name, episode_id, existing)
    segments = parse_srt(text, name) if suffix == ".srt" else parse_html_transcript(text, name)
    return _attached(segments, name, episode_id, existing)


def _check_suffix(suffix: str, name: str) -> None:
    if suffix not in SUFFIXES:
        raise ParseError(name, f"unsupported file type {suffix or '(no extension)'!r}; supported: {SUPPORTED}")


def _attached(
    segments: list[TranscriptSegment], name: str, episode_id: str | None, existing: dict[str, Episode]
) -> list[Episode]:
    wanted = episode_id or slugify(Path(name).stem)
    if wanted not in existing:
        known = ", ".join(sorted(existing)) or "none yet"
        raise ParseError(
            name, f"no indexed episode {wanted!r} to attach this transcript to; pass --episode ID (known: {known})"
        )
    return [checked_episode(attach_transcript(existing[wanted], segments), name)]
