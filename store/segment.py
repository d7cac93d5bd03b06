"""One immutable piece of the on-disk search index: a folder of .npy files, memory-mapped on open.

A segment holds, for its rows (chunks): float32 vectors and their int8 codes (store/dense.py),
BM25 postings (term hash -> rows, term frequencies) with each row's length (store/lexical.py),
latent-term postings (feature -> rows, weights; store/latent.py), the filter columns (kind,
language, episode as codes into small value tables; people as rows per person) and each
chunk's JSON in one blob with offsets, decoded only for the rows a search returns.

Nothing is parsed on open but a small JSON header: numpy maps the arrays and the page cache does
the rest, so opening costs the same at 1,000 rows or 1,000,000. Segments are written once under a
fresh name and never changed; deletions are a tombstone list beside them (store/search_files.py).
Postings key terms by a 64-bit hash, not by string, so segments merge by concatenating arrays.
Latent postings are impact-ordered (each feature's rows by weight, heaviest first): a search reads
only the first rows of a common feature's column, then rescores its shortlist exactly from a
row-major copy (store/latent.py). FORMAT changes with the layout;
a segment of another format does not open, and the search files are rebuilt from Chroma.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from store.chunks import Chunk
from store.dense import quantize
from store.embedder import DIM, unpack

FIELDS = ("kind", "language", "episode_id")  # one value per row; "people" has several
FORMAT = 2  # 2: latent postings by weight within each feature, and by row (1: by feature only, rows in order)


@dataclass
class SegmentData:
    """A segment's contents in memory, before it is written (from chunks, or merged from segments)."""

    records: list[bytes]  # each row's Chunk as JSON
    vectors: np.ndarray  # (rows, DIM) float32, unit length
    fields: dict[str, list[str]]  # FIELDS -> one value per row
    people: list[list[str]]
    lexical: tuple[np.ndarray, np.ndarray, np.ndarray]  # (rows, term hashes, term frequencies)
    lengths: np.ndarray  # each row's token count, for BM25's length normalisation
    latent: tuple[np.ndarray, np.ndarray, np.ndarray]  # (rows, features, weights)

    @classmethod
    def from_chunks(cls, chunks: list[Chunk], vectors: np.ndarray, terms: list[list[str]],
                    latent: list[np.ndarray]) -> SegmentData:
        hashes: dict[str, int] = {}
        lex_rows, lex_terms, lex_tf = [], [], []
        lat_rows, lat_cols, lat_vals = [], [], []
        for row, (words, packed) in enumerate(zip(terms, latent)):
            for word, count in Counter(words).items():
                lex_rows.append(row)
                if word not in hashes:
                    hashes[word] = term_hash(word)
                lex_terms.append(hashes[word])
                lex_tf.append(count)
            indices, values = unpack(packed)
            lat_rows.append(np.full(len(indices), row, dtype=np.int32))
            lat_cols.append(indices.astype(np.int32))
            lat_vals.append(values.astype(np.float32))
        return cls(
            records=[json.dumps(dataclasses.asdict(c), ensure_ascii=False).encode() for c in chunks],
            vectors=np.asarray(vectors, dtype=np.float32).reshape(-1, DIM),
            fields={name: [getattr(c, name) for c in chunks] for name in FIELDS},
            people=[list(c.people) for c in chunks],
            lexical=(np.asarray(lex_rows, dtype=np.int32), np.asarray(lex_terms, dtype=np.uint64),
                     np.asarray(lex_tf, dtype=np.float32)),
            lengths=np.asarray([len(words) for words in terms], dtype=np.float32),
            latent=_concat_triples([(np.concatenate(lat_rows), np.concatenate(lat_cols), np.concatenate(lat_vals))]
                                   if chunks else []),
        )  # fmt: skip

    @classmethod
    def concat(cls, parts: list[SegmentData]) -> SegmentData:
        offsets = np.cumsum([0] + [len(p.records) for p in parts])
        shift = lambda triples: [(t[0] + np.int32(o), t[1], t[2]) for t, o in zip(triples, offsets)]  # noqa: E731
        return cls(
            records=[r for p in parts for r in p.records],
            vectors=np.concatenate([p.vectors for p in parts]) if parts else np.zeros((0, DIM), np.float32),
            fields={name: [v for p in parts for v in p.fields[name]] for name in FIELDS},
            people=[v for p in parts for v in p.people],
            lexical=_concat_triples(shift([p.lexical for p in parts])),
            lengths=np.concatenate([p.lengths for p in parts]) if parts else np.zeros(0, np.float32),
            latent=_concat_triples(shift([p.latent for p in parts])),
        )

    def __len__(self) -> int:
        return len(self.records)


def term_hash(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")


def _concat_triples(triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
    if not triples:
        return np.zeros(0, np.int32), np.zeros(0, np.uint64), np.zeros(0, np.float32)
    return tuple(np.concatenate([t[n] for t in triples]) for n in range(3))


class Postings:
    """Columns (terms or features) -> rows and values, column-major: a query reads only its own columns."""

    def __init__(self, indptr: np.ndarray, rows: np.ndarray, values: np.ndarray):
        self.indptr, self.rows, self.values = indptr, rows, values

    def gather(self, columns: np.ndarray, depth: np.ndarray | None = None):
        """(rows, values, which of `columns` each entry came from) for the given column numbers.

        `depth`: read only each column's first entries (that many), for impact-ordered postings.
        """
        starts, ends = self.indptr[columns], self.indptr[columns + 1]
        if depth is not None:
            ends = np.minimum(ends, starts + depth)
        sizes = ends - starts
        if not len(columns) or not sizes.sum():
            return np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.int64)
        which = np.repeat(np.arange(len(columns)), sizes)
        return _runs(self.rows, starts, ends), _runs(self.values, starts, ends), which

    def column_sizes(self, columns: np.ndarray) -> np.ndarray:
        return self.indptr[columns + 1] - self.indptr[columns]

    def triples(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every entry as (row, column key, value): how a merge reads a segment back."""
        return _whole(self.rows), np.repeat(keys, np.diff(self.indptr)), _whole(self.values)


def _runs(array, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Entries start..end-1 of each (start, end) of a mapped array or a Reads, one run after another."""
    if isinstance(array, Reads):
        return array.runs(starts, ends)
    sizes = ends - starts
    # One index array for all the runs: a Python list of aranges took ~1 ms per 100 columns.
    return array[np.arange(int(sizes.sum())) + np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)]


def _whole(array) -> np.ndarray:
    return array.array if isinstance(array, Reads) else array


def _postings(rows: np.ndarray, keys: np.ndarray, values: np.ndarray, columns: np.ndarray | None = None,
              by_value: bool = False):
    """Column-major postings of (row, key, value) triples: indptr over `columns` (or the sorted unique keys).

    Within a column, entries go by row, or `by_value`: by value, largest first (then by row).
    """
    order = np.lexsort((rows, -np.asarray(values), keys) if by_value else (rows, keys))
    keys = keys[order]
    columns = np.unique(keys) if columns is None else columns
    indptr = np.searchsorted(keys, columns, side="left").astype(np.int64)
    indptr = np.append(indptr, len(keys))
    return columns, indptr, rows[order].astype(np.int32), values[order].astype(np.float32)


LATENT_DIM = 16384


def write(folder: Path, data: SegmentData) -> None:
    """Write `data` as a segment in `folder` (a new name), every file synced before this returns."""
    folder.mkdir(parents=True)
    vectors = data.vectors
    codes, scale = quantize(vectors)
    tables = {name: sorted(set(values)) for name, values in data.fields.items()}
    people = sorted({p for row in data.people for p in row})
    person_code = {p: n for n, p in enumerate(people)}
    person_rows = [(person_code[p], row) for row, names in enumerate(data.people) for p in names]
    codes_p = np.asarray([c for c, _ in person_rows], dtype=np.int64)
    rows_p = np.asarray([r for _, r in person_rows], dtype=np.int32)
    _, people_indptr, people_rows, _ = _postings(rows_p, codes_p, np.zeros(len(rows_p)), np.arange(len(people)))
    terms, lex_indptr, lex_rows, lex_tf = _postings(*data.lexical)
    _, lat_indptr, lat_rows, lat_vals = _postings(data.latent[0], data.latent[1].astype(np.int64), data.latent[2],
                                                  np.arange(LATENT_DIM), by_value=True)  # fmt: skip
    _, by_row_indptr, by_row_features, by_row_values = _postings(data.latent[1], data.latent[0].astype(np.int64),
                                                                 data.latent[2], np.arange(len(data)))  # fmt: skip
    offsets = np.cumsum([0] + [len(r) for r in data.records], dtype=np.int64)
    arrays = {
        "vectors": vectors, "codes": codes,
        "offsets": offsets, "records": np.frombuffer(b"".join(data.records), dtype=np.uint8),
        "people_indptr": people_indptr, "people_rows": people_rows,
        "terms": terms, "lex_indptr": lex_indptr, "lex_rows": lex_rows, "lex_tf": lex_tf, "lengths": data.lengths,
        "lat_indptr": lat_indptr, "lat_rows": lat_rows, "lat_values": lat_vals,
        "lat_row_indptr": by_row_indptr, "lat_row_features": by_row_features, "lat_row_values": by_row_values,
    }  # fmt: skip
    for name, values in data.fields.items():
        code = {v: n for n, v in enumerate(tables[name])}
        arrays[name] = np.asarray([code[v] for v in values], dtype=np.int32)
    for name, array in arrays.items():
        write_array(folder / f"{name}.npy", array)
    header = {"format": FORMAT, "rows": len(data), "scale": scale, "tables": tables, "people": people}
    with open(folder / "header.json", "w", encoding="utf-8") as out:
        json.dump(header, out, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
    sync_dir(folder)


def write_array(path: Path, array: np.ndarray) -> None:
    """A .npy file, on disk (synced) when this returns."""
    with open(path, "wb") as out:
        np.save(out, np.ascontiguousarray(array))
        out.flush()
        os.fsync(out.fileno())


def sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Reads:
    """A .npy array read at scattered rows with pread, not through its map.

    A mapped page counts in the process's RSS, and each fault maps the 64 KB around it (the kernel's
    fault-around; MADV_RANDOM does not stop it): at 1M rows, 48 searches rescoring vectors and latent rows
    through the maps left 5.1 GB of file pages in RSS, and the latent columns' first entries 1.45 GB more.
    pread copies just the rows, from the page cache.
    """

    def __init__(self, path: Path):
        mapped = np.load(path, mmap_mode="r")
        self.array = np.asarray(mapped)  # the map, for reading it whole (a merge)
        self.dtype, self._offset, self._inner = mapped.dtype, mapped.offset, mapped.shape[1:]
        self._row = mapped.dtype.itemsize * int(np.prod(self._inner, dtype=np.int64))  # bytes per row
        self._file = open(path, "rb", buffering=0)  # closed with the segment

    def runs(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Rows start..end-1 of each (start, end), one after another."""
        fd, row, offset = self._file.fileno(), self._row, self._offset
        parts = [os.pread(fd, (e - s) * row, offset + s * row) for s, e in zip(starts.tolist(), ends.tolist())]
        return np.frombuffer(b"".join(parts), self.dtype).reshape(-1, *self._inner)


class Segment:
    """A written segment, memory-mapped (its scattered reads by pread: Reads)."""

    def __init__(self, folder: Path):
        self.folder = folder
        header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
        if header.get("format", 1) != FORMAT:
            raise ValueError(f"segment {folder.name} has format {header.get('format', 1)}, not {FORMAT}")
        self.rows: int = header["rows"]
        self.scale: float = header["scale"]
        self.tables: dict[str, list[str]] = header["tables"]
        self.people: list[str] = header["people"]
        # Plain arrays over the maps: a np.memmap's indexing costs a Python call per access (chunk decoding).
        load = lambda name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))  # noqa: E731
        self.vectors, self.codes = load("vectors"), load("codes")
        self.offsets, self.records = load("offsets"), load("records")
        self.fields = {name: load(name) for name in FIELDS}
        self.people_postings = Postings(load("people_indptr"), load("people_rows"), None)
        self.terms = load("terms")
        self.lexical = Postings(load("lex_indptr"), load("lex_rows"), load("lex_tf"))
        self.lengths = load("lengths")
        # A question reads a few hundred entries of each of its ~160 columns, by pread: mapped, each took 64 KB.
        self.latent = Postings(load("lat_indptr"), Reads(folder / "lat_rows.npy"), Reads(folder / "lat_values.npy"))
        # The same entries by row: a shortlist's exact latent scores.
        self._latent_indptr = load("lat_row_indptr")
        self._latent_features = Reads(folder / "lat_row_features.npy")
        self._latent_values = Reads(folder / "lat_row_values.npy")
        self._vectors, self._records = Reads(folder / "vectors.npy"), Reads(folder / "records.npy")
        shapes = [len(self.vectors), len(self.codes), len(self.offsets) - 1, len(self.lengths),
                  *(len(a) for a in self.fields.values())]  # fmt: skip
        if any(n != self.rows for n in shapes) or self.offsets[-1] != len(self.records):
            raise ValueError(f"segment {folder.name} is inconsistent")

    def chunk(self, row: int) -> Chunk:
        start, end = self.offsets[row : row + 2]
        return Chunk(**json.loads(self._records.runs(np.asarray([start]), np.asarray([end])).tobytes()))

    def vector_rows(self, rows: np.ndarray) -> np.ndarray:
        """The float32 vectors of `rows` (row numbers in this segment), in their order."""
        return self._vectors.runs(rows, rows + 1)

    def latent_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features, weights, which of `rows` each came from): the latent vectors of `rows`."""
        starts, ends = self._latent_indptr[rows], self._latent_indptr[rows + 1]
        which = np.repeat(np.arange(len(rows)), ends - starts)
        return self._latent_features.runs(starts, ends), self._latent_values.runs(starts, ends), which

    def columns_of(self, hashes: np.ndarray) -> np.ndarray:
        """The lexical column of each term hash, -1 for terms this segment does not have."""
        if not len(self.terms):
            return np.full(len(hashes), -1)
        at = np.minimum(np.searchsorted(self.terms, hashes), len(self.terms) - 1)
        return np.where(self.terms[at] == hashes, at, -1)

    def rows_of_person(self, name: str) -> np.ndarray:
        if name not in self.people:
            return np.zeros(0, np.int32)
        code = self.people.index(name)
        indptr = self.people_postings.indptr
        return np.asarray(self.people_postings.rows[indptr[code] : indptr[code + 1]])

    def take(self, keep: np.ndarray) -> SegmentData:
        """The rows `keep` (sorted row numbers) as data for a new segment: what a merge or compaction writes."""
        new_row = np.full(self.rows, -1, dtype=np.int64)
        new_row[keep] = np.arange(len(keep))

        def kept(triples):
            rows, keys, values = triples
            alive = new_row[rows] >= 0
            return new_row[rows[alive]].astype(np.int32), keys[alive], np.asarray(values[alive])

        people: list[list[str]] = [[] for _ in keep]
        for name in self.people:
            for row in new_row[self.rows_of_person(name)]:
                if row >= 0:
                    people[row].append(name)
        return SegmentData(
            records=[bytes(self.records[self.offsets[r] : self.offsets[r + 1]]) for r in keep],
            vectors=np.asarray(self.vectors[keep]),
            fields={name: [self.tables[name][c] for c in self.fields[name][keep]] for name in FIELDS},
            people=people,
            lexical=kept(self.lexical.triples(self.terms)),
            lengths=np.asarray(self.lengths[keep]),
            latent=kept(self.latent.triples(np.arange(LATENT_DIM, dtype=np.uint64))),
        )
