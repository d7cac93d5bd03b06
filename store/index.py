"""The Chroma side of the store: one collection of chunks, one of whole episodes.

Embedded `PersistentClient` by default; a URL switches to `HttpClient`, so the same code runs
against a shared Chroma server. Chunks are written with our own e5 vectors and the collection
is bound to our embedding function, so Chroma never reaches for its downloading default.

Writes are ordered so a failure cannot lose what was indexed: everything that can fail on
bad input (parsing, embedding) happens before the first write; new and changed chunks are
upserted before orphans of an edited episode are deleted.

Search does not query Chroma's HNSW: it reads a Snapshot of every chunk (store/snapshot.py).
Each write sets a new random revision in the chunk collection's metadata, so every reader,
in any process, sees cheaply (about a millisecond) that its snapshot is stale. A reader trusts the
revision it read for REVISION_SECONDS: one question asked for it 11 times (21 for a comparison), and
against a Chroma server each ask is a round trip. Its own writes it sees at once.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from store.chunks import Chunk, chunk_episode
from store.embedder import DIM, E5Embedding
from store.episode import Episode
from store.lexical import document_terms
from store.snapshot import Snapshot

_PAGE = 2000  # rows per Chroma get(); the server caps request sizes
REVISION_SECONDS = 1.0  # how late a reader may see another process's write


@dataclass
class IngestResult:
    episode_id: str
    title: str
    added: int
    updated: int
    removed: int
    unchanged: int

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
    data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)


class Index:
    def __init__(self, client, name: str, embedder: E5Embedding):
        self.embedder = embedder
        self._client = client
        self._revision: tuple[float, str | None] | None = None  # (when read, value)
        config = {"hnsw": {"space": "cosine"}}
        self.chunks_col = client.get_or_create_collection(
            f"{name}-chunks", embedding_function=embedder, configuration=config
        )
        # Chroma re-reads the writes it has not yet synced (up to `sync_threshold`, documents included) on
        # every write. Episode documents are whole episodes, so at the default of 1000 a write took 0.9 s
        # once 400 episodes were stored (0.06 s syncing every 10); a new episode-sized HNSW syncs cheaply.
        self.episodes_col = client.get_or_create_collection(
            f"{name}-episodes", embedding_function=embedder,
            configuration={"hnsw": {"space": "cosine", "batch_size": 10, "sync_threshold": 10}},
        )

    # -- writing -----------------------------------------------------------------------

    def upsert_episode(self, episode: Episode) -> IngestResult:
        chunks = chunk_episode(episode)
        stored = self.chunks_col.get(where={"episode_id": episode.id}, include=["metadatas"])
        digests = {i: (m or {}).get("digest") for i, m in zip(stored["ids"], stored["metadatas"])}
        changed = [c for c in chunks if digests.get(c.id) != c.digest]
        vectors = self.embedder.passages([c.embed_text for c in changed])
        self.embedder.latent([c.embed_text for c in changed])  # cached now, so no search waits for it
        card = self.embedder.passages([f"{episode.title}\n{episode.summary}"])

        for start in range(0, len(changed), self._batch_size()):
            batch = changed[start : start + self._batch_size()]
            self.chunks_col.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[start : start + len(batch)],
                documents=[c.text for c in batch],
                metadatas=[_metadata(c) for c in batch],
            )
        orphans = sorted(set(digests) - {c.id for c in chunks})
        if orphans:
            self.chunks_col.delete(ids=orphans)
        document = episode.to_json()
        if changed or orphans or self.episodes_col.get(ids=[episode.id])["documents"] != [document]:
            self.episodes_col.upsert(
                ids=[episode.id],
                embeddings=card,
                documents=[document],
                metadatas=[{"title": episode.title, "show": episode.show}],
            )
            self._new_revision()  # only on a real change: every reader reloads its snapshot after one
        added = sum(1 for c in changed if c.id not in digests)
        return IngestResult(episode.id, episode.title, added, len(changed) - added, len(orphans),
                            len(chunks) - len(changed))

    def remove_episode(self, episode_id: str) -> None:
        self.chunks_col.delete(where={"episode_id": episode_id})
        self.episodes_col.delete(ids=[episode_id])
        self._new_revision()

    def _new_revision(self) -> None:
        revision = uuid.uuid4().hex
        self.chunks_col.modify(metadata={"revision": revision})
        self._revision = (time.monotonic(), revision)

    # -- reading -----------------------------------------------------------------------

    def episodes(self) -> list[Episode]:
        rows = self.episodes_col.get(include=["documents"])
        episodes = [Episode.from_json(doc) for doc in rows["documents"]]
        return sorted(episodes, key=lambda e: e.title.lower())

    def count(self) -> int:
        return self.chunks_col.count()

    def revision(self) -> str | None:
        """Changes with every write, by any process; None for an index never written to."""
        last = self._revision
        if last is None or time.monotonic() - last[0] > REVISION_SECONDS:
            collection = self._client.get_collection(self.chunks_col.name, embedding_function=self.embedder)
            last = self._revision = (time.monotonic(), (collection.metadata or {}).get("revision"))
        return last[1]

    def snapshot(self) -> Snapshot:
        revision = self.revision()  # read first: a write during the load leaves the snapshot stale, not wrong
        chunks, vectors, terms = [], [], []
        for offset in range(0, self.count(), _PAGE):
            rows = self.chunks_col.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset)
            for i, d, m in zip(rows["ids"], rows["documents"], rows["metadatas"]):
                chunk = _chunk(i, d, m)
                chunks.append(chunk)
                # Chunks indexed before terms were stored are tokenized now.
                terms.append(m["terms"].split(" ") if m.get("terms") else document_terms(chunk))
            vectors.append(np.asarray(rows["embeddings"], dtype=np.float32).reshape(-1, DIM))
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, DIM), dtype=np.float32)
        return Snapshot(revision, chunks, matrix, terms, self.embedder)

    def _batch_size(self) -> int:
        return min(self._client.get_max_batch_size(), 1000)


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
