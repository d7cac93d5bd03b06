"""Audio files as episodes: probe a file (is it audio, how long, its tags), build the Episode from its
transcript, and keep a copy in the library's media dir for playback.

Probing reads only the container's header, so `laidub ingest a.mp3 broken.mp3` refuses the broken
file before spending an hour on the first. The copy is named by the file's sha256: the same audio
ingested twice (or under another name) is stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av

from store.bundled import file_chunks
from store.episode import Episode, TranscriptSegment, slugify
from store.errors import ParseError
from store.formats.checks import MAX_SECONDS, checked_episode

AUDIO_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".wav": "audio/wav", ".flac": "audio/flac",
               ".ogg": "audio/ogg", ".opus": "audio/opus"}
AUDIO_SUFFIXES = tuple(AUDIO_TYPES)


@dataclass(frozen=True)
class AudioFile:
    path: Path
    sha256: str
    duration: float | None  # seconds, from the container's header; None when it does not say
    title: str  # the title tag, else the file name made readable
    show: str  # the album tag, else ""


def is_audio(path: Path) -> bool:
    return Path(path).suffix.lower() in AUDIO_TYPES


def probe_audio(path: Path) -> AudioFile:
    """What the container says about an audio file; a ParseError naming the file if it holds no audio."""
    name = str(path)
    try:
        with av.open(name, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise ParseError(name, "holds no audio stream (is it a video or image without sound?)")
            duration = container.duration / av.time_base if container.duration else None
            # Ogg and Opus keep their tags on the stream, MP3/M4A/FLAC on the container.
            found = {**container.streams.audio[0].metadata, **container.metadata}
            tags = {k.lower(): v.strip() for k, v in found.items() if isinstance(v, str)}
    except av.FFmpegError as err:
        raise ParseError(name, f"not an audio file that can be decoded ({err.strerror or err}); "
                               f"supported: {', '.join(AUDIO_SUFFIXES)}") from None
    except OSError as err:
        raise ParseError(name, f"cannot read the file ({err.strerror})") from None
    if duration is not None and duration > MAX_SECONDS:
        raise ParseError(name, f"{duration / 3600:.0f} hours of audio, over the limit of {MAX_SECONDS // 3600} hours")
    title = tags.get("title") or readable_name(Path(path).stem)
    return AudioFile(Path(path), _sha256(Path(path)), duration, title, tags.get("album", ""))


def readable_name(stem: str) -> str:
    """'my_show-ep_042' -> 'My show ep 042': separators become spaces, a lowercase start is capitalised."""
    words = re.sub(r"[\s_.\-]+", " ", stem).strip() or "Untitled audio"
    return words[0].upper() + words[1:]


def audio_episode(audio: AudioFile, language: str, duration: float, segments: list[TranscriptSegment],
                  media_url: str) -> Episode:
    """The episode an audio file is: its title, its transcript, its playable copy; no chapters (yet)."""
    episode = Episode(
        id=slugify(audio.title), title=audio.title, show=audio.show, duration=round(duration),
        summary_language=language, languages=[language], media_url=media_url,
        media_type=AUDIO_TYPES[audio.path.suffix.lower()], transcript=segments,
    )
    return checked_episode(episode, str(audio.path))


def media_path(media_dir: Path, audio: AudioFile) -> Path:
    return media_dir / f"{audio.sha256[:32]}{audio.path.suffix.lower()}"


def copy_to_media(audio: AudioFile, media_dir: Path) -> Path:
    """The audio's copy in the media dir (mode 0700: the library's files are the user's alone), made once."""
    target = media_path(media_dir, audio)
    media_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    media_dir.chmod(0o700)
    if target.is_file() and target.stat().st_size == audio.path.stat().st_size:
        return target  # named by content: same name and size is the same file
    fd, tmp = tempfile.mkstemp(prefix=".copy-", suffix=target.suffix, dir=media_dir)
    os.close(fd)
    try:
        shutil.copyfile(audio.path, tmp)
        os.replace(tmp, target)  # a killed copy never leaves a half file under the real name
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()
