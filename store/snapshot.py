"""What a search reads: the segments a manifest names, memory-mapped, as one row space.

Rows are numbered across segments in manifest order; tombstoned rows (chunks deleted or
replaced since their segment was written) are never admitted. Opening reads the manifest and
each segment's small header and maps its arrays; the filter columns are joined into one array
each (a few MB at a million rows), and a chunk is decoded only when a search returns its row.

Chroma stays the store of record: the manifest carries the revision of the Chroma write it
reflects, and store/search_files.py rebuilds the files when that is not the current one.
Dense search scans every row's int8 code under a numpy mask for the filters (store/dense.py):
at 100k chunks Chroma's language-filtered HNSW query took ~490 ms, the scan a few ms, and it
never misses a neighbour the graph would.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from store.chunks import Chunk
from store.dense import DenseIndex
from store.latent import LatentIndex
from store.lexical import LexicalIndex
from store.rows import Rows
from store.segment import FIELDS, Segment

CACHED = ("kind", "language")  # fields with a handful of values; an episode or person mask is made per question


class Chunks:
    """The chunks by global row, decoded on access; iterating yields the live ones."""

    def __init__(self, rows: Rows, live: np.ndarray):
        self._rows, self._live = rows, live

    def __getitem__(self, row: int) -> Chunk:
        segment, local = self._rows.locate(int(row))
        return segment.chunk(local)

    def __iter__(self) -> Iterator[Chunk]:
        return (self[row] for row in np.nonzero(self._live)[0])

    def __len__(self) -> int:
        return int(self._live.sum())


class Snapshot:
    def __init__(self, revision: str | None, segments: list[Segment], dead: list[np.ndarray]):
        self.revision = revision
        self.rows = Rows(segments)
        self.live = np.ones(len(self.rows), dtype=bool)
        for start, rows in zip(self.rows.starts, dead):
            self.live[start + rows] = False
        self.chunks = Chunks(self.rows, self.live)
        self.dense = DenseIndex(self.rows)
        self.lexical = LexicalIndex(self.rows, self.live)
        self.latent = LatentIndex(self.rows)
        # One code array per field over all rows, with one value table: a filter is a comparison per value.
        self._masks: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._tables: dict[str, dict[str, int]] = {}
        self._codes: dict[str, np.ndarray] = {}
        for name in FIELDS:
            table = self._tables[name] = {}
            parts = []
            for segment in segments:
                remap = np.asarray([table.setdefault(v, len(table)) for v in segment.tables[name]], dtype=np.int32)
                parts.append(remap[segment.fields[name]] if len(remap) else np.zeros(segment.rows, np.int32))
            self._codes[name] = np.concatenate(parts) if parts else np.zeros(0, np.int32)

    def __len__(self) -> int:
        return len(self.chunks)

    def where(self, name: str, values: list[str]) -> np.ndarray:
        """A mask of the live rows whose `name` (kind, language, episode_id, people) has one of `values`.

        Read-only: the masks of kinds and languages are made once per snapshot (at a million rows each took
        1-2 ms per question), and every caller shares them.
        """
        key = (name, tuple(sorted(values)))
        if key in self._masks:
            return self._masks[key]
        mask = np.zeros(len(self.rows), dtype=bool)
        if name == "people":
            for start, segment in zip(self.rows.starts, self.rows.segments):
                for value in values:
                    mask[start + segment.rows_of_person(value)] = True
        else:
            for value in values:
                if value in self._tables[name]:
                    mask |= self._codes[name] == self._tables[name][value]
        mask &= self.live
        mask.setflags(write=False)
        if name in CACHED:
            self._masks[key] = mask
        return mask
