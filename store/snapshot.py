"""What a search reads, held in process memory: every chunk with its e5 vector, BM25 and latent terms.

Chroma stays the store of record; a Snapshot is loaded from it once and reloaded when the
index's revision changes (any writer, this process or another, sets a new one). Dense search
is an exact dot product over all vectors under a numpy mask for the filters: at 100k chunks
Chroma's language-filtered HNSW query took ~490 ms, the masked product takes a few ms, and
an exact search never misses a neighbour the graph would.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from store.chunks import Chunk
from store.embedder import E5Embedding
from store.latent import LatentIndex
from store.lexical import LexicalIndex

_FIELDS = ("kind", "language", "episode_id")


class Snapshot:
    def __init__(self, revision: str | None, chunks: list[Chunk], vectors: np.ndarray,
                 terms: list[list[str]], embedder: E5Embedding):
        self.revision = revision
        self.chunks = chunks
        self.vectors = vectors  # (chunks, 384) float32, unit length
        self.lexical = LexicalIndex(terms)
        self.latent = LatentIndex([c.embed_text for c in chunks], embedder)
        self._codes: dict[str, tuple[np.ndarray, dict[str, int]]] = {}
        for name in _FIELDS:
            vocabulary: dict[str, int] = {}
            codes = [vocabulary.setdefault(getattr(c, name), len(vocabulary)) for c in chunks]
            self._codes[name] = (np.asarray(codes, dtype=np.int32), vocabulary)
        rows: dict[str, list[int]] = defaultdict(list)
        for row, chunk in enumerate(chunks):
            for person in chunk.people:
                rows[person].append(row)
        self._people = {person: np.asarray(r) for person, r in rows.items()}

    def __len__(self) -> int:
        return len(self.chunks)

    def where(self, name: str, values: list[str]) -> np.ndarray:
        """Rows whose `name` field (kind, language, episode_id) is one of `values`."""
        codes, vocabulary = self._codes[name]
        return np.isin(codes, [vocabulary[v] for v in values if v in vocabulary])

    def about(self, people: list[str]) -> np.ndarray:
        """Rows about any of `people` (canonical names)."""
        mask = np.zeros(len(self.chunks), dtype=bool)
        for person in people:
            if person in self._people:
                mask[self._people[person]] = True
        return mask

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return self.vectors @ vector
