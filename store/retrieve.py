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
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from store.chunks import TIMED_KINDS, Chunk
from store.index import Index
from store.latent import LatentIndex
from store.lexical import LexicalIndex
from store.people import PeopleIndex

RRF_K = 60
CANDIDATES = 40  # per ranked list
SECONDARY_WEIGHT = 0.1  # a chapter's pull quote matching too is weak extra evidence
LANGUAGES = ("en", "zh")
PER_PERSON = 2  # chapters each named person is guaranteed in a multi-person question


@dataclass
class Filters:
    episodes: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # canonical names
    kinds: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)

    def where(self, language: str | None = None) -> dict | None:
        clauses = [{"kind": {"$in": list(self.kinds or TIMED_KINDS)}}]
        if self.episodes:
            clauses.append({"episode_id": {"$in": list(self.episodes)}})
        if self.people:
            clauses.append({"$or": [{"people": {"$contains": p}} for p in self.people]}
                           if len(self.people) > 1 else {"people": {"$contains": self.people[0]}})
        if language:
            clauses.append({"language": language})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def admits(self, chunk: Chunk) -> bool:
        return (
            chunk.kind in (self.kinds or TIMED_KINDS)
            and (not self.episodes or chunk.episode_id in self.episodes)
            and (not self.people or any(p in chunk.people for p in self.people))
            and (not self.languages or chunk.language in self.languages)
        )


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


class Retriever:
    def __init__(self, index: Index, people: PeopleIndex):
        self.index = index
        self.people = people
        self._memory: tuple[LexicalIndex, LatentIndex] | None = None
        self._memory_count = -1
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._memory = None

    def memory(self) -> tuple[LexicalIndex, LatentIndex]:
        """In-process indexes built from Chroma; rebuilt when the chunk count shows another writer."""
        with self._lock:
            count = self.index.count()
            if self._memory is None or count != self._memory_count:
                chunks = self.index.all_chunks()
                self._memory = (LexicalIndex(chunks), LatentIndex(chunks, self.index.embedder))
                self._memory_count = count
            return self._memory

    def search(self, query: str, k: int = 8, filters: Filters | None = None) -> list[Hit]:
        filters = filters or Filters()
        vector = self.index.embedder.query(query)
        similarity: dict[str, float] = {}
        chunks: dict[str, Chunk] = {}
        lists: list[list[str]] = []

        for language in filters.languages or LANGUAGES:
            matches = self.index.dense(vector, CANDIDATES, filters.where(language))
            for m in matches:
                similarity[m.chunk.id], chunks[m.chunk.id] = m.similarity, m.chunk
            lists.append([m.chunk.id for m in matches])

        lexical, latent = self.memory()
        bm25 = _top(lexical.chunks, lexical.scores(query), filters, chunks)
        lists.append(list(bm25))
        lists.append(list(_top(latent.chunks, latent.scores(query), filters, chunks)))

        named = {p.name for p in self.people.mentioned_in(query)}
        if named:
            about = [cid for cid, c in chunks.items() if named & set(c.people)]
            lists.append(sorted(about, key=lambda cid: -similarity.get(cid, 0.0)))

        fused: dict[str, float] = {}
        for ranked in lists:
            for rank, cid in enumerate(ranked):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        hits = _group(fused, chunks, similarity, bm25)
        if len(named) > 1 and not filters.people:
            hits = self._per_person(query, sorted(named), filters) + hits
        return _number(_unique(hits), k)

    def _per_person(self, query: str, names: list[str], filters: Filters) -> list[Hit]:
        """A question naming several people: each one's best chapters on the topic, so none is crowded out."""
        topic = self.people.without_names(query) or query
        best = [self.search(topic, PER_PERSON, dataclasses.replace(filters, people=[name])) for name in names]
        return [hit for rank in range(PER_PERSON) for hits in best if rank < len(hits) for hit in [hits[rank]]]


def _top(candidates: list[Chunk], scores: np.ndarray, filters: Filters, seen: dict[str, Chunk]) -> dict[str, float]:
    """The best-scoring chunks the filters admit, as {chunk id: score}; records them in `seen`."""
    best: dict[str, float] = {}
    for i in _best_first(scores, CANDIDATES * 4):
        chunk = candidates[i]
        if scores[i] <= 0 or not filters.admits(chunk):
            continue
        best[chunk.id], seen[chunk.id] = float(scores[i]), chunk
        if len(best) == CANDIDATES:
            break
    return best


def _best_first(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the `n` highest scores, highest first: a partition, not a full sort (10 ms at 100k chunks)."""
    if len(scores) <= n:
        return np.argsort(-scores)
    top = np.argpartition(-scores, n)[:n]
    return top[np.argsort(-scores[top])]


def _group(fused, chunks, similarity, bm25) -> list[Hit]:
    hits: dict[tuple[str, int], Hit] = {}
    for cid in sorted(fused, key=lambda c: -fused[c]):
        chunk = chunks[cid]
        key = (chunk.episode_id, chunk.start)
        if key in hits:  # the anchor's other chunks add their evidence
            hit = hits[key]
            hit.score += fused[cid] * SECONDARY_WEIGHT
            hit.similarity = max(hit.similarity, similarity.get(cid, 0.0))
            hit.lexical = max(hit.lexical, bm25.get(cid, 0.0))
        else:
            hits[key] = Hit(chunk, fused[cid], similarity.get(cid, 0.0), bm25.get(cid, 0.0))
    return sorted(hits.values(), key=lambda h: -h.score)


def _unique(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple[str, int]] = set()
    return [h for h in hits if not (h.anchor in seen or seen.add(h.anchor))]


def _number(hits: list[Hit], k: int) -> list[Hit]:
    for n, hit in enumerate(hits[:k], 1):
        hit.rank = n
    return hits[:k]

