"""The Chroma side of the store: the chunks in one collection per language, whole episodes in another.

Chunks are kept per language so that a dense query for one language needs no metadata filter: a
Chroma server ranks for a client (store/retrieve.py) and, with chromadb 1.5.9, a `where` on language
made a 20k-row query 60 ms instead of 4 ms (about 490 ms at 100k). Libraries written before the
split hold one `{name}-chunks` collection; opening one moves its rows over once.

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
write sets a new random revision in the episode collection's metadata and stamps it on the files,
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
from store.language import LANGUAGES
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
        self.chunk_collections = {
            language: client.get_or_create_collection(f"{name}-chunks-{language}", embedding_function=embedder,
                                                      configuration=config)
            for language in LANGUAGES
        }  # fmt: skip
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
        self._migrate(f"{name}-chunks")
        self._repair()

    # -- writing -----------------------------------------------------------------------

    def upsert_episode(self, episode: Episode, source: str = "") -> IngestResult:
        chunks = chunk_episode(episode)
        stored = self._chunk_ids(episode.id)
        new = [c for c in chunks if c.id not in stored]
        orphans = {i: language for i, language in stored.items() if i not in {c.id for c in chunks}}
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
               orphans: dict[str, str]) -> None:
        self._begin(episode.id)
        for language, collection in self.chunk_collections.items():
            rows = [n for n, c in enumerate(new) if c.language == language]
            for start in range(0, len(rows), self._batch_size()):
                batch = rows[start : start + self._batch_size()]
                collection.upsert(
                    ids=[new[n].id for n in batch],
                    embeddings=vectors[batch],
                    documents=[new[n].text for n in batch],
                    metadatas=[_metadata(new[n]) for n in batch],
                )
        self.episodes_col.upsert(ids=[episode.id], embeddings=card, documents=[episode.to_json()],
                                 metadatas=[record])  # the commit point: readers now see the new version
        self._new_revision()
        self._delete_chunks(orphans)
        self._end(episode.id)

    def remove_episode(self, episode_id: str) -> int:
        """Delete an episode and its chunks; returns how many chunks went."""
        chunk_ids = self._chunk_ids(episode_id)
        with self.search.writing():
            before = self._read_revision()
            self._begin(episode_id)
            self.episodes_col.delete(ids=[episode_id])  # the commit point: readers no longer see it
            self._new_revision()
            self._delete_chunks(chunk_ids)
            self._end(episode_id)
            self.search.update(before, self._revision[1], episode_id, None)
        return len(chunk_ids)

    def _chunk_ids(self, episode_id: str) -> dict[str, str]:
        """The ids of an episode's stored chunks (listed by its record or not), each with its language."""
        return {i: language for language, collection in self.chunk_collections.items()
                for i in collection.get(where={"episode_id": episode_id}, include=[])["ids"]}  # fmt: skip

    def _delete_chunks(self, chunk_ids: dict[str, str]) -> None:
        for language, collection in self.chunk_collections.items():
            ids = [i for i, of in chunk_ids.items() if of == language]
            if ids:
                collection.delete(ids=ids)

    def _new_revision(self) -> None:
        self._set_revision(uuid.uuid4().hex)

    def _set_revision(self, revision: str) -> None:
        self.episodes_col.modify(metadata={"revision": revision})
        self._revision = (time.monotonic(), revision)

    def _migrate(self, legacy: str) -> None:
        """Move a library's chunks from before the split by language into their language's collection.

        Idempotent (upserts of the same rows), the old collection deleted last: a killed migration reruns.
        The revision moves too, so search files written before the split stay current.
        """
        try:
            old = self._client.get_collection(legacy, embedding_function=self.embedder)
        except (chromadb.errors.NotFoundError, ValueError):
            return
        total = old.count()
        for offset in range(0, total, _PAGE):
            rows = old.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset)
            for language, collection in self.chunk_collections.items():
                keep = [n for n, m in enumerate(rows["metadatas"]) if m["language"] == language]
                if keep:
                    collection.upsert(ids=[rows["ids"][n] for n in keep],
                                      embeddings=np.asarray(rows["embeddings"])[keep],
                                      documents=[rows["documents"][n] for n in keep],
                                      metadatas=[rows["metadatas"][n] for n in keep])  # fmt: skip
        revision = (old.metadata or {}).get("revision")
        if revision:
            self._set_revision(revision)
        self._client.delete_collection(legacy)

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
            stored = self._chunk_ids(episode_id)
            self._delete_chunks({i: of for i, of in stored.items() if not _visible(i, {"episode_id": episode_id}, listed)})
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
        return sum(collection.count() for collection in self.chunk_collections.values())

    def revision(self) -> str | None:
        """Changes with every write, by any process; None for an index never written to."""
        last = self._revision
        if last is None or time.monotonic() - last[0] > REVISION_SECONDS:
            self._read_revision()
        return self._revision[1]

    def _read_revision(self) -> str | None:
        collection = self._client.get_collection(self.episodes_col.name, embedding_function=self.embedder)
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
        for collection, offset in ((c, o) for c in self.chunk_collections.values() for o in range(0, c.count(), _PAGE)):
            rows = collection.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset)
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
