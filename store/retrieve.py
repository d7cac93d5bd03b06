"""Hybrid retrieval: dense (e5) per language, BM25, e5 latent terms and the people a question
names, fused by reciprocal rank fusion (RRF).

The measured trap: with multilingual-e5-small a Chinese question scores every Chinese chunk
above every English one, whatever the topic. Similarities are only comparable within a
language, so the dense side runs one ranked list per chunk language and lets reciprocal
rank fusion interleave them: the best English chapter for a Chinese question now competes
with the best Chinese chapter on rank, not on a biased score. BM25 catches names and
English terms inside Chinese questions; latent terms match concepts across languages
("后训练" ~ "post-training"); the people list pulls in chapters about the person
the question names by any alias ("杨立昆" -> Yann LeCun).

Results are grouped by anchor (episode + chapter start), so a chapter and its pull quote
count once; the hit keeps the chunk that matched best.

The ranked lists come from a source: the memory-mapped search files (`snapshot_candidates`), or,
with LAIDUB_CHROMA_URL, the Chroma server's own queries (store/server_ranking.py, no latent list).
Fusion, grouping and the per-person lists are this module's, the same for both.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from store.chunks import TIMED_KINDS, Chunk
from store.dense import DenseIndex
from store.embedder import E5Embedding
from store.index import Index
from store.language import LANGUAGES
from store.people import PeopleIndex
from store.snapshot import Snapshot
from store.topk import top_rows

RRF_K = 60
CANDIDATES = 40  # per ranked list
SHORTLIST = 4 * CANDIDATES  # dense rows chosen by approximate (int8) similarity, then rescored exactly
SECONDARY_WEIGHT = 0.1  # a chapter's pull quote matching too is weak extra evidence
PER_PERSON = 2  # chapters each named person is guaranteed in a multi-person question

_LISTS = ThreadPoolExecutor(2, thread_name_prefix="ranked-lists")  # the UI serves several sessions at once


@dataclass
class Filters:
    episodes: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # canonical names
    kinds: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)

    def mask(self, snapshot: Snapshot) -> np.ndarray:
        """The snapshot rows these filters admit."""
        keep = snapshot.where("kind", list(self.kinds or TIMED_KINDS))  # read-only, shared: combined into new masks
        if self.episodes:
            keep = keep & snapshot.where("episode_id", self.episodes)
        if self.people:
            keep = keep & snapshot.where("people", self.people)
        if self.languages:
            keep = keep & snapshot.where("language", self.languages)
        return keep


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused RRF score
    similarity: float  # best cosine similarity of the anchor's chunks to the question
    lexical: float  # best BM25 score of the anchor's chunks
    rank: int = 0

    @property
    def anchor(self) -> tuple[str, int]:
        return (self.chunk.episode_id, self.chunk.start)


@dataclass
class Candidates:
    """What a source ranked for one question: the lists to fuse, and what fusion reads of their rows.

    Rows are whatever the source numbers chunks by (snapshot rows, Chroma ids); every row in `lists`
    has an exact similarity.
    """

    lists: list[list]  # ranked rows, best first: dense per language, lexical, latent (embedded only)
    chunk: Callable[[object], Chunk]
    similarity: Callable[[object], float]  # cosine to the question
    lexical: Callable[[object], float]  # BM25
    about: Callable[[set[str]], Callable[[object], bool]]  # names -> is a row about one of them


Ranking = Callable[[str, Filters, set[str]], Candidates]  # (question, filters, people named) -> candidates


class Retriever:
    """Fuses the ranked lists of a source: the memory-mapped search files, or a Chroma server's own queries."""

    def __init__(self, index: Index, people: Callable[[], PeopleIndex], server: Ranking | None = None):
        self.index = index
        self.people = people  # the current people index: it changes as episodes are added
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self._server = server  # ranks on a Chroma server (store/server_ranking.py); None: the search files

    def snapshot(self) -> Snapshot:
        """The chunks as last loaded from Chroma; reloaded when any writer has changed the index."""
        with self._lock:
            if self._snapshot is None or self._snapshot.revision != self.index.revision():
                self._snapshot = self.index.snapshot()
            return self._snapshot

    def search(self, query: str, k: int = 8, filters: Filters | None = None) -> list[Hit]:
        filters = filters or Filters()
        named = {p.name for p in self.people().mentioned_in(query)}
        if self._server is not None:
            found = self._server(query, filters, named)
        else:
            found = snapshot_candidates(self.snapshot(), self.index.embedder, query, filters)
        lists = list(found.lists)
        if named:
            candidates = {row for ranked in lists for row in ranked}
            mentions = found.about(named)
            about = [row for row in candidates if mentions(row)]
            lists.append(sorted(about, key=lambda row: -found.similarity(row)))

        fused: dict = {}
        for ranked in lists:
            for rank, row in enumerate(ranked):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank + 1)
        hits = _group(fused, found)
        if len(named) > 1 and not filters.people:
            hits = self._per_person(query, sorted(named), filters) + hits
        return _number(_unique(hits), k)

    def _per_person(self, query: str, names: list[str], filters: Filters) -> list[Hit]:
        """A question naming several people: each one's best chapters on the topic, so none is crowded out."""
        topic = self.people().without_names(query) or query
        best = [self.search(topic, PER_PERSON, dataclasses.replace(filters, people=[name])) for name in names]
        return [hit for rank in range(PER_PERSON) for hits in best if rank < len(hits) for hit in [hits[rank]]]


def snapshot_candidates(snapshot: Snapshot, embedder: E5Embedding, query: str, filters: Filters) -> Candidates:
    """The embedded path: dense per language, BM25 and latent lists ranked over the memory-mapped search files."""
    admitted = filters.mask(snapshot)
    # BM25 needs no embedding: it is scored while the question is embedded (~30 ms; both mostly outside the GIL).
    lexical = _LISTS.submit(snapshot.lexical.scores, query)
    vectors = embedder.query_vectors(query)
    # Latent scoring beside the dense scan (which splits over both cores itself): neither holds the GIL long.
    latent = _LISTS.submit(snapshot.latent.shortlist, vectors.latent, admitted)
    similarity = snapshot.dense.similarities(vectors.dense)  # approximate until rescored
    lists: list[list[int]] = [
        dense_best(snapshot.dense, similarity, admitted & snapshot.where("language", [language]), vectors.dense)
        for language in filters.languages or LANGUAGES
    ]
    bm25 = lexical.result()
    lists.append(_best(bm25, admitted))
    found = np.asarray([row for ranked in lists for row in ranked], dtype=np.int64)
    lists.append(snapshot.latent.rank(vectors.latent, np.union1d(latent.result(), found), CANDIDATES))
    # Every row read later (ranks, people, grouping) is in one of the lists, so every similarity read is exact.
    snapshot.dense.rescore(similarity, lists[-2] + lists[-1], vectors.dense)

    def about(names: set[str]) -> Callable[[int], bool]:  # a mask, not a chunk decoded per candidate (~27 µs each)
        return snapshot.where("people", sorted(names)).__getitem__

    return Candidates(lists, snapshot.chunks.__getitem__, lambda row: float(similarity[row]),
                      lambda row: float(bm25[row]), about)


def dense_best(dense: DenseIndex, similarity: np.ndarray, admitted: np.ndarray, vector: np.ndarray) -> list[int]:
    """The CANDIDATES admitted rows most similar to `vector`, best first.

    A shortlist chosen by the approximate `similarity` (from `dense.similarities`), rescored exactly in place.
    """
    shortlist = np.asarray(_best(similarity, admitted, floor=-1.0, n=SHORTLIST), dtype=np.int64)
    dense.rescore(similarity, shortlist, vector)
    return shortlist[np.argsort(-similarity[shortlist], kind="stable")[:CANDIDATES]].tolist()


def _best(scores: np.ndarray, admitted: np.ndarray, floor: float = 0.0, n: int = CANDIDATES) -> list[int]:
    """Rows of the best `n` scores above `floor` among the admitted rows, best first (store/topk.py)."""
    return top_rows(scores, admitted, n, floor).tolist()


def _group(fused: dict, found: Candidates) -> list[Hit]:
    hits: dict[tuple[str, int], Hit] = {}
    for row in sorted(fused, key=lambda r: -fused[r]):
        chunk = found.chunk(row)
        key = (chunk.episode_id, chunk.start)
        if key in hits:  # the anchor's other chunks add their evidence
            hit = hits[key]
            hit.score += fused[row] * SECONDARY_WEIGHT
            hit.similarity = max(hit.similarity, found.similarity(row))
            hit.lexical = max(hit.lexical, found.lexical(row))
        else:
            hits[key] = Hit(chunk, fused[row], found.similarity(row), found.lexical(row))
    return sorted(hits.values(), key=lambda h: -h.score)


def _unique(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple[str, int]] = set()
    return [h for h in hits if not (h.anchor in seen or seen.add(h.anchor))]


def _number(hits: list[Hit], k: int) -> list[Hit]:
    for n, hit in enumerate(hits[:k], 1):
        hit.rank = n
    return hits[:k]

