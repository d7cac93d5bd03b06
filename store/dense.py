"""Dense search over e5 vectors: a scan of int8 codes for a shortlist, exact float32 scores for it.

At 100k chunks a float32 scan reads 154 MB per question and waits on memory bandwidth (4-9 ms
on 2 cores, more when the machine is busy). The int8 codes are a quarter of that, and SIMD
kernels (simsimd) multiply them on one core faster than BLAS multiplies floats on two; the other
core scores latent terms meanwhile. An int8 score is within about 0.003 of the cosine; the
retriever takes a shortlist four times the size it keeps and rescores it exactly, and
`laidub bench` reports how often the result equals an exact scan."""

from __future__ import annotations

import numpy as np
import simsimd
from threadpoolctl import threadpool_limits

# OpenBLAS's idle threads spin for a while after every product, taking the cores that the next question's
# embedding or the LLM needs: a query embedding right after a 100k-row product took 46 ms instead of 32
# (2 cores). The products left to BLAS are small (a shortlist's rescore), so it runs on the calling thread.
threadpool_limits(1, user_api="blas")


class DenseIndex:
    def __init__(self, vectors: np.ndarray):
        self.vectors = vectors  # (rows, 384) float32, unit length
        self._codes, self._scale = _quantize(vectors)

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Every row's approximate cosine similarity to `vector`: for choosing a shortlist."""
        if not len(self.vectors):
            return np.zeros(0, dtype=np.float32)
        codes, scale = _quantize(vector[None, :])
        dots = simsimd.cdist(self._codes, codes, metric="dot", out_dtype="float32")
        return np.asarray(dots).ravel() / np.float32(self._scale * scale)

    def rescore(self, similarity: np.ndarray, rows: list[int] | np.ndarray, vector: np.ndarray) -> None:
        """Replace the approximate similarities of `rows` with exact ones, in place."""
        if len(rows):
            similarity[rows] = self.vectors[rows] @ vector


def _quantize(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """int8 codes on one scale for the whole matrix, so that code dot products rank rows as cosines do."""
    scale = 127.0 / max(float(np.abs(vectors).max(initial=0.0)), 1e-12)
    return np.round(vectors * scale).astype(np.int8), scale
