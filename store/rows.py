"""Row numbers across segments: a search sees one long table, each segment (store/segment.py) holds a part."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Rows:
    """Global row numbers <-> (segment, row in segment)."""

    def __init__(self, segments: list):  # of store.segment.Segment, not imported: segment imports dense, dense us
        self.segments = segments
        self.starts = np.cumsum([0] + [s.rows for s in segments])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def locate(self, row: int) -> tuple:
        n = int(np.searchsorted(self.starts, row, side="right")) - 1
        return self.segments[n], row - int(self.starts[n])

    def split(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(segment number, positions in `rows`, rows within that segment) for each segment `rows` touch."""
        which = np.searchsorted(self.starts, rows, side="right") - 1
        for n in np.unique(which):
            positions = np.nonzero(which == n)[0]
            yield int(n), positions, rows[positions] - self.starts[n]
