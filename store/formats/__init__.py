"""Every file LaiDub Ask can ingest, behind one entry point: `load_file`.

The extension picks the family; a .json file is then sniffed, because episode JSON and
Podcasting 2.0 chapters share it. Whatever goes wrong surfaces as a ParseError naming the file,
and what a file may hold (MAX_FILE_BYTES and the rest) is in `checks`.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from store.episode import Episode, slugify
from store.errors import ParseError
from store.formats.chapters_json import chapters_from_data
from store.formats.checks import MAX_FILE_BYTES, checked_episode
from store.formats.episode_json import episodes_from_data, load_json
from store.formats.laidub_page import parse_page
from store.formats.text import read_text
from store.formats.transcripts import attach_transcript, parse_srt, parse_vtt

_PAGES = {".txt", ".md"}
_TRANSCRIPTS = {".srt": parse_srt, ".vtt": parse_vtt}
SUPPORTED = ".txt/.md (LaiDub page), .json (episode JSON or Podcasting 2.0 chapters), .srt/.vtt (transcript)"

SUFFIXES = (*sorted(_PAGES), ".json", *_TRANSCRIPTS)  # what ingest, the seeds folder and uploads accept

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
    if suffix not in SUFFIXES:
        raise ParseError(name, f"unsupported file type {suffix or '(no extension)'!r}; supported: {SUPPORTED}")
    try:
        text = read_text(path)
    except OSError as err:
        raise ParseError(name, f"cannot read the file ({err.strerror})") from None
    return load_text(text, name, suffix, episode_id, existing)


def load_text(
    text: str, name: str, suffix: str, episode_id: str | None = None, existing: dict[str, Episode] | None = None
) -> list[Episode]:
    """As `load_file`, for text already read (a feed's linked transcript, say); `suffix` picks the format."""
    existing = existing or {}
    if suffix in _PAGES:
        return parse_page(text, name)
    if suffix == ".json":
        data = load_json(text, name)
        if _is_podcasting_chapters(data):
            return [chapters_from_data(data, name, episode_id)]
        return episodes_from_data(data, name)
    segments = _TRANSCRIPTS[suffix](text, name)
    wanted = episode_id or slugify(Path(name).stem)
    if wanted not in existing:
        known = ", ".join(sorted(existing)) or "none yet"
        raise ParseError(
            name, f"no indexed episode {wanted!r} to attach this transcript to; pass --episode ID (known: {known})"
        )
    return [checked_episode(attach_transcript(existing[wanted], segments), name)]


def _is_podcasting_chapters(data: object) -> bool:
    """A "version" key, or chapters timed by "startTime" (episode JSON uses "start")."""
    if not isinstance(data, dict):
        return False
    chapters = data.get("chapters")
    timed = isinstance(chapters, list) and any(isinstance(c, dict) and "startTime" in c for c in chapters)
    return "version" in data or timed
