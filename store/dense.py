"""Dense search over e5 vectors: a scan of int8 codes for a shortlist, exact float32 scores for it.

At 100k chunks a float32 scan reads 154 MB per question and waits on memory bandwidth (4-9 ms
on 2 cores, more when the machine is busy). The int8 codes are a quarter of that, and SIMD
kernels (simsimd) multiply them on one core faster than BLAS multiplies floats on two; the other
core scores latent terms meanwhile. An int8 score is within about 0.003 of the cosine; the
retriever takes a shortlist four times the size it keeps and rescores it exactly, and
`laidub bench` reports how often the result equals an exact scan.

At a million rows the scan reads 384 MB: 28 ms on one core (idle machine), so it runs in blocks
of BLOCK rows on two threads (simsimd releases the GIL), writing into one output array. With both
cores busy with other work (load 8) two threads measured the same as one (77 vs 80 ms p50); the
split is for a machine whose second core is free, and costs nothing when it is not.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import simsimd
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from store.rows import Rows

# OpenBLAS's idle threads spin for a while after every product, taking the cores that the next question's
# embedding or the LLM needs: a query embedding right after a 100k-row product took 46 ms instead of 32
# (2 cores). The products left to BLAS are small (a shortlist's rescore), so it runs on the calling thread.
threadpool_limits(1, user_api="blas")

BLOCK = 32_768  # rows per scan task (12.6 MB of codes): a 100k-row segment splits in four
_SCAN = ThreadPoolExecutor(2, thread_name_prefix="dense-scan")


class DenseIndex:
    """Dense scores over every segment's rows (store/segment.py holds the codes, their scale and the vectors)."""

    def __init__(self, rows: Rows):
        self._rows = rows

    def similarities(self, vector: np.ndarray) -> np.ndarray:
        """Every row's approximate cosine similarity to `vector`: for choosing a shortlist."""
        out = np.empty(len(self._rows), dtype=np.float32)
        codes, scale = quantize(vector[None, :])
        blocks = [(segment, begin, start + begin)
                  for start, segment in zip(self._rows.starts.tolist(), self._rows.segments)
                  for begin in range(0, segment.rows, BLOCK)]  # fmt: skip

        def scan(block: tuple) -> None:
            segment, begin, at = block
            end = min(begin + BLOCK, segment.rows)
            target = out[at : at + end - begin]
            simsimd.cdist(segment.codes[begin:end], codes, metric="dot", out=target.reshape(-1, 1), out_dtype="float32")
            target /= np.float32(segment.scale * scale)  # int8 dot products are exact in float32 (< 2**24)

        list(_SCAN.map(scan, blocks))
        return out

    def rescore(self, similarity: np.ndarray, rows: list[int] | np.ndarray, vector: np.ndarray) -> None:
        """Replace the approximate similarities of `rows` with exact ones, in place."""
        rows = np.asarray(rows, dtype=np.int64)
        for n, positions, local in self._rows.split(rows):
            similarity[rows[positions]] = self._rows.segments[n].vector_rows(local) @ vector

    def exact(self, vector: np.ndarray) -> np.ndarray:
        """Every row's exact cosine similarity: what the int8 shortlist is checked against (`laidub bench`)."""
        parts = [np.asarray(s.vectors) @ vector for s in self._rows.segments]
        return np.concatenate([np.zeros(0, dtype=np.float32), *parts])


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """int8 codes on one scale for the whole matrix, so that code dot products rank rows as cosines do."""
    scale = 127.0 / max(float(np.abs(vectors).max(initial=0.0)), 1e-12)
    return np.round(vectors * scale).astype(np.int8), scale
