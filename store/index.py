"""The Chroma side of the store: one collection of chunks, one of whole episodes.

Embedded `PersistentClient` by default; a URL switches to `HttpClient`, so the same code runs
against a shared Chroma server. Chunks are written with our own e5 vectors and the collection
is bound to our embedding function, so Chroma never reaches for its downloading default.

An episode's write is atomic to readers, even if the process is killed mid-write: a chunk's id
holds its content digest (store/chunks.py), so new chunks are written beside the old ones, and
the episode record, which lists its chunk ids, is the commit point. Readers take only the chunks
their episode's record lists, so they see the old version or the new one, never a mix, and no
chunk of an episode without a record. A journal entry, written before the first chunk and deleted
after the last old chunk, tells the next opener what a killed writer left behind to delete.

Search does not query Chroma's HNSW: it reads the on-disk search files (store/search_files.py),
memory-mapped, which every write here updates under a file lock after its Chroma commit. Each
write sets a new random revision in the chunk collection's metadata and stamps it on the files,
so every reader, in any process, sees cheaply (about a millisecond) that its snapshot is stale,
and a reader whose files lag Chroma (a writer killed between the two) rebuilds them from Chroma. A reader trusts the
revision it read for REVISION_SECONDS: one question asked for it 11 times (21 for a comparison), and
against a Chroma server each ask is a round trip. Its own writes it sees at once.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from store.chunks import Chunk, chunk_episode, place_of
from store.embedder import DIM, E5Embedding
from store.episode import Episode
from store.errors import SettingsError
from store.lexical import document_terms
from store.search_files import SearchFiles
from store.segment import SegmentData
from store.snapshot import Snapshot

_PAGE = 2000  # rows per Chroma get(); the server caps request sizes
REVISION_SECONDS = 1.0  # how late a reader may see another process's write
_UNIT = [1.0] + [0.0] * (DIM - 1)  # the vector of a state row: Chroma needs one, cosine needs it non-zero


@dataclass
class IngestResult:
    episode_id: str
    title: str
    added: int
    updated: int
    removed: int
    unchanged: int
    note: str = ""  # what the user should know: a new id given on a collision, or what was replaced
    warnings: list[str] = field(default_factory=list)  # a feed item's parts that were skipped, and why

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def connect(data_dir: Path, url: str = ""):
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    try:
        (data_dir / "chroma").mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file where a folder should be, or no permission
        raise SettingsError(f"LAIDUB_DATA_DIR={data_dir} cannot hold the library: {err.strerror}") from None
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)


class Index:
    def __init__(self, client, name: str, embedder: E5Embedding, search_dir: Path):
        self.embedder = embedder
        self._client = client
        self.search = SearchFiles(search_dir)  # what searches read; kept in step with every write below
        self._revision: tuple[float, str | None] | None = None  # (when read, value)
        config = {"hnsw": {"space": "cosine"}}
        self.chunks_col = client.get_or_create_collection(
            f"{name}-chunks", embedding_function=embedder, configuration=config
        )
        # Chroma re-reads the writes it has not yet synced (up to `sync_threshold`, documents included) on
        # every write. Episode documents are whole episodes, so at the default of 1000 a write took 0.9 s
        # once 400 episodes were stored (0.06 s syncing every 10); a new episode-sized HNSW syncs cheaply.
        small = {"hnsw": {"space": "cosine", "batch_size": 10, "sync_threshold": 10}}
        self.episodes_col = client.get_or_create_collection(
            f"{name}-episodes", embedding_function=embedder, configuration=small
        )
        # Unfinished writes ("write:<episode id>"), flags ("seeded") and followed feeds ("feed:<url>"): a handful
        # of rows, never searched. Feeds live here, not in a file, so a shared Chroma server shares them too.
        self.state_col = client.get_or_create_collection(f"{name}-state", embedding_function=embedder,
                                                         configuration=small)
        self._repair()

    # -- writing -----------------------------------------------------------------------

    def upsert_episode(self, episode: Episode, source: str = "") -> IngestResult:
        chunks = chunk_episode(episode)
        stored = set(self.chunks_col.get(where={"episode_id": episode.id}, include=[])["ids"])
        new = [c for c in chunks if c.id not in stored]
        orphans = sorted(stored - {c.id for c in chunks})
        record = {"title": episode.title, "show": episode.show, "source": source,
                  "chunks": "\n".join(c.id for c in chunks)}
        current = self.episodes_col.get(ids=[episode.id], include=["documents", "metadatas"])
        if not new and not orphans and current["documents"] == [episode.to_json()] and current["metadatas"] == [record]:
            return IngestResult(episode.id, episode.title, 0, 0, 0, len(chunks))

        texts = [c.embed_text for c in chunks]
        every = self.embedder.passages(texts)  # the unchanged chunks' vectors come from the cache
        latent = self.embedder.latent(texts)
        vectors = every[[n for n, c in enumerate(chunks) if c.id not in stored]]
        card = self.embedder.passages([f"{episode.title}\n{episode.summary}"])
        with self.search.writing():  # readers of the search files wait for them, not for a rebuild
            before = self._read_revision()
            self._write(episode, record, card, new, vectors, orphans)
            self.search.update(before, self._revision[1], episode.id,
                               SegmentData.from_chunks(chunks, every, [document_terms(c) for c in chunks], latent))

        places = {place_of(i) for i in stored}
        updated = sum(1 for c in new if c.place in places)
        removed = len({place_of(i) for i in orphans} - {c.place for c in chunks})
        return IngestResult(episode.id, episode.title, len(new) - updated, updated, removed,
                            len(chunks) - len(new))

    def _write(self, episode: Episode, record: dict, card: np.ndarray, new: list[Chunk], vectors: np.ndarray,
               orphans: list[str]) -> None:
        self._begin(episode.id)
        for start in range(0, len(new), self._batch_size()):
            batch = new[start : start + self._batch_size()]
            self.chunks_col.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[start : start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[_metadata(c) for c in batch],
            )
        self.episodes_col.upsert(ids=[episode.id], embeddings=card, documents=[episode.to_json()],
                                 metadatas=[record])  # the commit point: readers now see the new version
        self._new_revision()
        if orphans:
            self.chunks_col.delete(ids=orphans)
        self._end(episode.id)

    def remove_episode(self, episode_id: str) -> int:
        """Delete an episode and its chunks; returns how many chunks went."""
        chunk_ids = self.chunks_col.get(where={"episode_id": episode_id}, include=[])["ids"]
        with self.search.writing():
            before = self._read_revision()
            self._begin(episode_id)
            self.episodes_col.delete(ids=[episode_id])  # the commit point: readers no longer see it
            self._new_revision()
            if chunk_ids:
                self.chunks_col.delete(ids=chunk_ids)
            self._end(episode_id)
            self.search.update(before, self._revision[1], episode_id, None)
        return len(chunk_ids)

    def _new_revision(self) -> None:
        revision = uuid.uuid4().hex
        self.chunks_col.modify(metadata={"revision": revision})
        self._revision = (time.monotonic(), revision)

    # -- the journal of unfinished writes ----------------------------------------------

    def _begin(self, episode_id: str) -> None:
        self._set_state(f"write:{episode_id}", {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})

    def _end(self, episode_id: str) -> None:
        self.state_col.delete(ids=[f"write:{episode_id}"])

    def _repair(self) -> None:
        """Delete what killed writers left: chunks their episode's record does not list (invisible to readers)."""
        rows = self.state_col.get(where={"pid": {"$gte": 0}}, include=["metadatas"])
        for entry, meta in zip(rows["ids"], rows["metadatas"]):
            if not _abandoned(meta):
                continue  # another process is writing it right now
            episode_id = entry.removeprefix("write:")
            listed = self._listed_chunks([episode_id])
            stored = self.chunks_col.get(where={"episode_id": episode_id}, include=[])["ids"]
            leftovers = [i for i in stored if not _visible(i, {"episode_id": episode_id}, listed)]
            if leftovers:
                self.chunks_col.delete(ids=leftovers)
            self.state_col.delete(ids=[entry])

    def _set_state(self, key: str, meta: dict) -> None:
        self.state_col.upsert(ids=[key], embeddings=[_UNIT], documents=[key], metadatas=[meta])

    def is_seeded(self) -> bool:
        return bool(self.state_col.get(ids=["seeded"], include=[])["ids"])

    def mark_seeded(self) -> None:
        self._set_state("seeded", {"at": time.time()})

    def feeds(self) -> list[dict]:
        """The followed feeds' rows ("feed:<url>"), as `set_feed` wrote them."""
        rows = self.state_col.get(where={"kind": "feed"}, include=["metadatas"])
        return sorted(rows["metadatas"], key=lambda m: m["title"].lower())

    def set_feed(self, url: str, title: str, items: int, refreshed: str) -> None:
        self._set_state(f"feed:{url}", {"kind": "feed", "url": url, "title": title, "items": items,
                                        "refreshed": refreshed})

    # -- reading -----------------------------------------------------------------------

    def episodes(self) -> list[Episode]:
        rows = self.episodes_col.get(include=["documents"])
        episodes = [Episode.from_json(doc) for doc in rows["documents"]]
        return sorted(episodes, key=lambda e: e.title.lower())

    def sources(self) -> dict[str, str]:
        """The file name each episode was last written from ("" for episodes indexed before sources were kept)."""
        rows = self.episodes_col.get(include=["metadatas"])
        return {i: (m or {}).get("source", "") for i, m in zip(rows["ids"], rows["metadatas"])}

    def count(self) -> int:
        return self.chunks_col.count()

    def revision(self) -> str | None:
        """Changes with every write, by any process; None for an index never written to."""
        last = self._revision
        if last is None or time.monotonic() - last[0] > REVISION_SECONDS:
            self._read_revision()
        return self._revision[1]

    def _read_revision(self) -> str | None:
        collection = self._client.get_collection(self.chunks_col.name, embedding_function=self.embedder)
        self._revision = (time.monotonic(), (collection.metadata or {}).get("revision"))
        return self._revision[1]

    def snapshot(self) -> Snapshot:
        """The search files, memory-mapped; rebuilt from Chroma first when missing, unreadable or stale."""
        revision = self.revision()
        snapshot = self.search.open()
        if snapshot is not None and snapshot.revision == revision:
            return snapshot
        with self.search.writing():  # a writer in the middle of an update finishes it first
            revision = self._read_revision()
            snapshot = self.search.open()
            if snapshot is None or snapshot.revision != revision:
                self.search.rebuild(revision, self._visible_rows())
                snapshot = self.search.open()
        return snapshot

    def _visible_rows(self) -> Iterator[SegmentData]:
        """Every chunk readers see, a page at a time, read from Chroma: what a rebuild writes."""
        listed = self._listed_chunks()
        for offset in range(0, self.count(), _PAGE):
            rows = self.chunks_col.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset)
            keep = [n for n, (i, m) in enumerate(zip(rows["ids"], rows["metadatas"])) if _visible(i, m, listed)]
            chunks = [_chunk(rows["ids"][n], rows["documents"][n], rows["metadatas"][n]) for n in keep]
            # Chunks indexed before terms were stored are tokenized now.
            terms = [m["terms"].split(" ") if m.get("terms") else document_terms(c)
                     for c, m in zip(chunks, (rows["metadatas"][n] for n in keep))]
            vectors = np.asarray(rows["embeddings"], dtype=np.float32).reshape(-1, DIM)[keep]
            yield SegmentData.from_chunks(chunks, vectors, terms, self.embedder.latent([c.embed_text for c in chunks]))

    def _listed_chunks(self, episode_ids: list[str] | None = None) -> dict[str, set[str] | None]:
        """Each recorded episode's chunk ids; None for a record from before records listed them (all count)."""
        rows = self.episodes_col.get(ids=episode_ids, include=["metadatas"])
        return {i: set(m["chunks"].split("\n")) if (m or {}).get("chunks") else None
                for i, m in zip(rows["ids"], rows["metadatas"])}

    def _batch_size(self) -> int:
        return min(self._client.get_max_batch_size(), 1000)


def _visible(chunk_id: str, meta: dict, listed: dict[str, set[str] | None]) -> bool:
    """A chunk is searchable once its episode's record is written and lists it."""
    episode_id = meta["episode_id"]
    return episode_id in listed and (listed[episode_id] is None or chunk_id in listed[episode_id])


def _abandoned(journal: dict) -> bool:
    """A write whose process is gone (same machine), or that began over an hour ago (any machine)."""
    if time.time() - journal.get("started", 0) > 3600:
        return True
    if journal.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(journal["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _metadata(chunk: Chunk) -> dict:
    meta = {
        "episode_id": chunk.episode_id, "episode_title": chunk.episode_title, "show": chunk.show,
        "kind": chunk.kind, "title": chunk.title, "language": chunk.language,
        "start": chunk.start, "end": chunk.end, "digest": chunk.digest,
    }  # fmt: skip
    terms = document_terms(chunk)
    if terms:  # jieba's dictionary changes as people are added: the terms an ingest saw are kept with the chunk
        meta["terms"] = " ".join(terms)
    if chunk.people:  # Chroma rejects empty lists
        meta["people"] = list(chunk.people)
    return meta


def _chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        id=chunk_id, episode_id=meta["episode_id"], episode_title=meta["episode_title"],
        kind=meta["kind"], title=meta["title"], text=text, language=meta["language"],
        start=meta["start"], end=meta["end"], show=meta.get("show", ""), people=list(meta.get("people") or []),
    )  # fmt: skip
