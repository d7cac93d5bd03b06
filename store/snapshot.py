"""What a search reads, held in process memory: every chunk with its e5 vector, BM25 and latent terms.

Chroma stays the store of record; a Snapshot is loaded from it once and reloaded when the
index's revision changes (any writer, this process or another, sets a new one). Dense search
scans every vector under a numpy mask for the filters (store/dense.py): at 100k chunks Chroma's
language-filtered HNSW query took ~490 ms, the scan takes a few ms, and it never misses a
neighbour the graph would.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from store.chunks import Chunk
from store.dense import DenseIndex
from store.embedder import E5Embedding
from store.latent import LatentIndex
from store.lexical import LexicalIndex

_FIELDS = ("kind", "language", "episode_id")


def _rows_by(chunks: list[Chunk], values_of) -> dict[str, np.ndarray]:
    rows: dict[str, list[int]] = defaultdict(list)
    for row, chunk in enumerate(chunks):
        for value in values_of(chunk):
            rows[value].append(row)
    return {value: np.asarray(r) for value, r in rows.items()}


class Snapshot:
    def __init__(self, revision: str | None, chunks: list[Chunk], vectors: np.ndarray,
                 terms: list[list[str]], embedder: E5Embedding):
        self.revision = revision
        self.chunks = chunks
        self.dense = DenseIndex(vectors)
        self.lexical = LexicalIndex(terms)
        self.latent = LatentIndex([c.embed_text for c in chunks], embedder)
        # Row numbers per field value ("kind" -> "chapter" -> rows): a filter is a few index writes, not a scan.
        self._rows: dict[str, dict[str, np.ndarray]] = {}
        for name in _FIELDS:
            self._rows[name] = _rows_by(chunks, lambda chunk: [getattr(chunk, name)])
        self._rows["people"] = _rows_by(chunks, lambda chunk: chunk.people)

    def __len__(self) -> int:
        return len(self.chunks)

    def where(self, name: str, values: list[str]) -> np.ndarray:
        """A mask of the rows whose `name` (kind, language, episode_id, people) has one of `values`."""
        mask = np.zeros(len(self.chunks), dtype=bool)
        for value in values:
            if value in self._rows[name]:
                mask[self._rows[name][value]] = True
        return mask
