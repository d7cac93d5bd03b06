"""Open the configured Library, indexing the bundled seeds until they have been indexed once."""

from __future__ import annotations

import sys

from assistant.config import Settings
from store.library import Library


def open_library(settings: Settings, progress=None) -> Library:
    library = Library(
        settings.data_dir,
        settings.cache_dir,
        chroma_url=settings.chroma_url,
        collection=settings.collection,
        alias_files=[settings.seeds_dir / "aliases.toml", settings.data_dir / "aliases.toml"],
        glossary_files=[settings.seeds_dir / "glossary.toml", settings.data_dir / "glossary.toml"],
    )
    if settings.seeds_dir.is_dir():
        library.seed(settings.seeds_dir, progress=progress or _stderr_progress)
    return library


def _stderr_progress(done: int, total: int, label: str) -> None:
    if done < total:
        print(f"First run: indexing the demo episodes ({done + 1}/{total}) {label}…", file=sys.stderr, flush=True)
