"""store/topk.py: the best rows by a sampled threshold equal a full sort of the admitted rows, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from store import topk
from store.topk import top_rows


def _reference(scores: np.ndarray, admitted: np.ndarray, n: int, floor: float) -> np.ndarray:
    rows = np.flatnonzero(admitted & (scores > floor))
    return rows[np.lexsort((rows, -scores[rows]))][:n]


@pytest.mark.parametrize("density", [0.5, 0.02, 0.0005, 0.0])
@pytest.mark.parametrize("levels", [None, 7, 500])  # continuous scores, or few distinct values: many ties
def test_top_rows_equal_a_full_sort(density: float, levels: int | None):
    rng = np.random.default_rng([int(density * 1e4), levels or 0])
    for trial in range(5):
        scores = rng.normal(size=200_000).astype(np.float32)
        if levels:
            scores = np.round(scores * levels / 8) / levels
        admitted = rng.random(len(scores)) < density
        for n, floor in ((160, -np.inf), (40, 0.0), (40, 2.5), (1, -np.inf)):
            expected = _reference(scores, admitted, n, floor)
            np.testing.assert_array_equal(top_rows(scores, admitted, n, floor), expected)


def test_the_threshold_path_is_taken_and_falls_back_when_it_holds_too_few(monkeypatch: pytest.MonkeyPatch):
    """On a dense mask the sampled threshold decides; when it admits fewer than n rows, all admitted rows do."""
    rng = np.random.default_rng(3)
    scores = rng.random(100_000).astype(np.float32)
    admitted = np.ones(len(scores), dtype=bool)
    found = topk._above_threshold(scores, admitted, 40, -np.inf)
    assert found is not None and 40 <= len(found) < 2_000
    # A sample that overestimates: the only admitted sampled rows are 12 outliers, fewer than the 40 wanted.
    scores = rng.random(100_000).astype(np.float32)
    admitted[:: topk.STRIDE] = False
    outliers = np.arange(0, 100_000, topk.STRIDE)[:12]
    scores[outliers], admitted[outliers] = 5.0, True
    assert topk._above_threshold(scores, admitted, 40, -np.inf) is None
    found = top_rows(scores, admitted, 40)
    np.testing.assert_array_equal(found, _reference(scores, admitted, 40, -np.inf))
    assert set(outliers) < set(found.tolist())


def test_nothing_to_rank():
    assert top_rows(np.zeros(0, np.float32), np.zeros(0, bool), 40).tolist() == []
    assert top_rows(np.ones(10, np.float32), np.ones(10, bool), 0).tolist() == []
    assert top_rows(np.zeros(10, np.float32), np.ones(10, bool), 5, floor=0.0).tolist() == []
