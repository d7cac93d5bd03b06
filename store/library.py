"""The store's front door: ingest files, list episodes, search. CLI, UI and Assistant use this.

Ingest is all-or-nothing per call: every file is parsed (and so validated) before anything is
written, so one bad file in a batch leaves the index exactly as it was.
"""

from __future__ import annotations

import threading
from pathlib import Path

from store.chunks import ALL_KINDS
from store.embedder import E5Embedding
from store.episode import Episode
from store.errors import ParseError, UnknownFilter
from store.formats import SUFFIXES, load_file
from store.glossary import load_terms
from store.index import Index, IngestResult, connect
from store.language import LANGUAGES
from store.lexical import add_words
from store.people import PeopleIndex
from store.retrieve import Filters, Hit, Retriever


class Library:
    def __init__(self, data_dir: Path, cache_dir: Path, chroma_url: str = "", collection: str = "laidub",
                 alias_files: list[Path] = (), glossary_files: list[Path] = ()):
        self.alias_files = list(alias_files)
        add_words(load_terms(list(glossary_files)))
        self.index = Index(connect(data_dir, chroma_url), collection, E5Embedding(str(cache_dir / "embeddings.sqlite")))
        self._lock = threading.Lock()
        self._episodes: list[Episode] | None = None
        self._people: PeopleIndex | None = None
        self._revision: str | None = None
        self.retriever = Retriever(self.index, lambda: self.people)

    # -- what is indexed ---------------------------------------------------------------

    def episodes(self) -> list[Episode]:
        """The indexed episodes, reloaded when any writer (another process too) has changed the index."""
        revision = self.index.revision()
        with self._lock:
            if self._episodes is None or revision != self._revision:
                self._episodes, self._revision, self._people = self.index.episodes(), revision, None
            return self._episodes

    def episode(self, episode_id: str) -> Episode | None:
        return next((e for e in self.episodes() if e.id == episode_id), None)

    @property
    def people(self) -> PeopleIndex:
        episodes = self.episodes()
        if self._people is None:
            self._people = self._people_of(episodes)
        return self._people

    def _people_of(self, episodes: list[Episode]) -> PeopleIndex:
        people = PeopleIndex.build(episodes, self.alias_files)
        # jieba must know every name before chunks are tokenized (at ingest) or questions are.
        add_words([alias for person in people.people for alias in person.aliases])
        return people

    def is_empty(self) -> bool:
        return self.index.count() == 0

    # -- writing -----------------------------------------------------------------------

    def parse(self, paths: list[Path], episode_id: str | None = None) -> list[Episode]:
        """Parse every file first; raises ParseError naming the first bad file."""
        known = {e.id: e for e in self.episodes()}
        parsed: list[Episode] = []
        for path in paths:
            if not Path(path).is_file():
                raise ParseError(str(path), "no such file")
            parsed += load_file(Path(path), episode_id=episode_id, existing=known | {e.id: e for e in parsed})
        return parsed

    def ingest(self, paths: list[Path], episode_id: str | None = None, progress=None) -> list[IngestResult]:
        episodes = self.parse(paths, episode_id)
        self._people_of(self.episodes() + episodes)
        results = []
        for n, episode in enumerate(episodes):
            if progress:
                progress(n, len(episodes), episode.title)
            results.append(self.index.upsert_episode(episode))
        if progress:
            progress(len(episodes), len(episodes), "done")
        return results

    def ingest_if_empty(self, seeds_dir: Path, progress=None) -> list[IngestResult]:
        if not self.is_empty():
            return []
        seeds = sorted(p for p in Path(seeds_dir).iterdir() if p.suffix in SUFFIXES)
        return self.ingest(seeds, progress=progress)

    # -- searching ---------------------------------------------------------------------

    def filters(self, episodes=(), people=(), kinds=(), languages=()) -> Filters:
        """Resolve user-facing filter values, rejecting unknown ones with the valid choices."""
        known = {e.id: e for e in self.episodes()}
        by_title = {e.title.lower(): e.id for e in known.values()}
        episode_ids = []
        for value in episodes:
            episode_id = value if value in known else by_title.get(value.lower())
            if not episode_id:
                raise UnknownFilter(f"unknown episode {value!r}; known episode ids: {', '.join(sorted(known)) or '(none indexed)'}")
            episode_ids.append(episode_id)
        names = []
        for value in people:
            person = self.people.resolve(value)
            if not person:
                choices = ", ".join(p.name for p in self.people.people)
                raise UnknownFilter(f"unknown person {value!r}; known people: {choices or '(none)'}")
            names.append(person.name)
        for value in kinds:
            if value not in ALL_KINDS:
                raise UnknownFilter(f"unknown kind {value!r}; kinds: {', '.join(ALL_KINDS)}")
        for value in languages:
            if value not in LANGUAGES:
                raise UnknownFilter(f"unknown language {value!r}; languages: {', '.join(LANGUAGES)}")
        return Filters(episode_ids, names, list(kinds), list(languages))

    def search(self, query: str, k: int = 8, filters: Filters | None = None) -> list[Hit]:
        return self.retriever.search(query, k, filters)
