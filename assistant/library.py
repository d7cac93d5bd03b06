"""Open the configured Library, indexing the bundled seeds until they have been indexed once."""

from __future__ import annotations

import sys
import time

from assistant.config import Settings
from store.episode import format_timestamp
from store.library import Library
from store.transcribe import Progress, Transcriber

PROGRESS_EVERY = 10.0  # seconds between progress lines inside a window (one line per window besides)


def open_library(settings: Settings, progress=None) -> Library:
    library = Library(
        settings.data_dir,
        settings.cache_dir,
        chroma_url=settings.chroma_url,
        collection=settings.collection,
        fulltext_words=settings.server_fulltext_words,
        alias_files=[settings.seeds_dir / "aliases.toml", settings.data_dir / "aliases.toml"],
        glossary_files=[settings.seeds_dir / "glossary.toml", settings.data_dir / "glossary.toml"],
        transcriber=Transcriber(settings.cache_dir, settings.whisper_model, settings.threads,
                                settings.transcribe_window, _TranscribeProgress()),
    )
    if settings.seeds_dir.is_dir():
        library.seed(settings.seeds_dir, progress=progress or _stderr_progress)
    return library


def _stderr_progress(done: int, total: int, label: str) -> None:
    if done < total:
        print(f"First run: indexing the demo episodes ({done + 1}/{total}) {label}…", file=sys.stderr, flush=True)


class _TranscribeProgress:
    """One stderr line per finished window, and one at most every PROGRESS_EVERY seconds within a window."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not p.done and now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        total = f" / {format_timestamp(p.duration)} ({100 * min(p.position / p.duration, 1):.0f}%)" if p.duration else ""
        speed = f", {p.speed:.1f}x realtime" if p.speed else ""
        eta = f", ETA {format_timestamp(p.eta)}" if p.eta is not None else ""
        resumed = f", {p.resumed} from checkpoints" if p.resumed else ""
        print(f"Transcribing {p.name}: {format_timestamp(p.position)}{total}{speed}{eta} "
              f"[window {p.window}{resumed}]", file=sys.stderr, flush=True)
