"""The on-disk search index under the data dir: a manifest naming segments, kept in step with Chroma.

Every change is new files under new names (a segment folder, a tombstone list), each synced,
then a new manifest (revision, segments, tombstones) written beside the old one, synced, and
renamed over it. A process killed at any point leaves the old manifest, and everything it
names, intact; the next writer deletes what no manifest names. Readers never lock: they read
the manifest once and map what it names (a file a compaction deleted meanwhile sends them back
to the new manifest). Writers hold an flock, which the kernel drops when a writer dies.

An update applies to the manifest only if it reflects the Chroma revision just before the write;
otherwise the files are already stale and stay so, and the next reader rebuilds them from Chroma
(also when they are missing or unreadable). Compaction: a segment whose tombstoned share passes
COMPACT_SHARE is rewritten without its dead rows, and MERGE_FACTOR segments of one size tier
(powers of MERGE_FACTOR rows) merge into one, up to SEGMENT_ROWS, so an ingest per episode leaves
O(log n) segments and a merge rewrites little.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from store import segment as segment_files
from store.segment import Segment, SegmentData
from store.snapshot import Snapshot

MANIFEST = "manifest.json"
SEGMENT_ROWS = 100_000  # rows per segment written by a rebuild; merges stop at this size
COMPACT_SHARE = 0.25
MERGE_FACTOR = 4
_OPEN_TRIES = 5


@dataclass
class Entry:
    name: str
    rows: int
    dead: str | None = None  # a .npy of tombstoned row numbers
    dead_count: int = 0


@dataclass
class Manifest:
    revision: str | None
    segments: list[Entry] = field(default_factory=list)


class SearchFiles:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._lock_file = None

    # -- reading -----------------------------------------------------------------------

    def open(self) -> Snapshot | None:
        """The index as the manifest names it; None when it is missing or unreadable (rebuild it)."""
        for _ in range(_OPEN_TRIES):
            manifest = self._manifest()
            if manifest is None:
                return None
            try:
                segments = [Segment(self.folder / e.name) for e in manifest.segments]
                dead = [np.load(self.folder / e.dead) if e.dead else np.zeros(0, np.int64) for e in manifest.segments]
            except FileNotFoundError:
                continue  # a writer replaced the manifest and deleted what the old one named: read the new one
            except (ValueError, OSError, KeyError, json.JSONDecodeError):
                return None
            if any(s.rows != e.rows for s, e in zip(segments, manifest.segments)):
                return None
            return Snapshot(manifest.revision, segments, dead)
        return None

    def _manifest(self) -> Manifest | None:
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            return Manifest(data["revision"], [Entry(**e) for e in data["segments"]])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- writing -----------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Exclusive among writers, in this process and others; reentrant."""
        with self._lock:
            if self._depth == 0:
                self._lock_file = open(self.folder / "lock", "a")
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._lock_file.close()  # releases the flock
                    self._lock_file = None

    def current(self, revision: str | None) -> bool:
        manifest = self._manifest()
        return manifest is not None and manifest.revision == revision

    def update(self, before: str | None, after: str, episode_id: str, data: SegmentData | None) -> bool:
        """Replace `episode_id`'s rows with `data` (None: remove them), if the files reflect revision `before`."""
        with self.writing():
            manifest = self._manifest()
            if manifest is None or manifest.revision != before:
                return False  # already stale: the next reader rebuilds
            entries = [self._tombstone(e, episode_id) for e in manifest.segments]
            if data is not None and len(data):
                entries.append(self._write_segment(data))
            self._commit(Manifest(after, self._compact(entries)))
            return True

    def rebuild(self, revision: str | None, parts: Iterable[SegmentData]) -> None:
        """Replace everything with the rows `parts` yield (a full read of Chroma), in SEGMENT_ROWS segments."""
        with self.writing():
            entries, pending = [], []
            for part in parts:
                pending.append(part)
                if sum(map(len, pending)) >= SEGMENT_ROWS:
                    entries.append(self._write_segment(SegmentData.concat(pending)))
                    pending = []
            if pending and sum(map(len, pending)):
                entries.append(self._write_segment(SegmentData.concat(pending)))
            self._commit(Manifest(revision, entries))

    def _tombstone(self, entry: Entry, episode_id: str) -> Entry:
        segment = Segment(self.folder / entry.name)
        table = segment.tables["episode_id"]
        if episode_id not in table:
            return entry
        rows = np.nonzero(np.asarray(segment.fields["episode_id"]) == table.index(episode_id))[0]
        old = np.load(self.folder / entry.dead) if entry.dead else np.zeros(0, np.int64)
        dead = np.union1d(old, rows).astype(np.int64)
        if len(dead) == len(old):
            return entry
        name = f"dead-{uuid.uuid4().hex}.npy"
        segment_files.write_array(self.folder / name, dead)
        return Entry(entry.name, entry.rows, name, len(dead))

    def _write_segment(self, data: SegmentData) -> Entry:
        name = f"segment-{uuid.uuid4().hex}"
        segment_files.write(self.folder / name, data)
        return Entry(name, len(data))

    def _compact(self, entries: list[Entry]) -> list[Entry]:
        kept: list[Entry] = []
        for entry in entries:
            if entry.dead_count == entry.rows:
                continue
            if entry.dead_count > COMPACT_SHARE * entry.rows:
                entry = self._write_segment(self._alive(entry))
            kept.append(entry)
        while True:
            tiers: dict[int, list[Entry]] = {}
            for entry in kept:
                if entry.rows < SEGMENT_ROWS:
                    tiers.setdefault(int(math.log(entry.rows, MERGE_FACTOR)), []).append(entry)
            full = next((tier for tier in tiers.values() if len(tier) >= MERGE_FACTOR), None)
            if full is None:
                return kept
            merged = self._write_segment(SegmentData.concat([self._alive(e) for e in full]))
            kept = [e for e in kept if e not in full] + [merged]

    def _alive(self, entry: Entry) -> SegmentData:
        segment = Segment(self.folder / entry.name)
        dead = np.load(self.folder / entry.dead) if entry.dead else np.zeros(0, np.int64)
        return segment.take(np.setdiff1d(np.arange(entry.rows), dead))

    def _commit(self, manifest: Manifest) -> None:
        """Make `manifest` the index (atomically), then delete what it no longer names."""
        data = {"revision": manifest.revision, "segments": [vars(e) for e in manifest.segments]}
        temporary = self.folder / f"{MANIFEST}.{uuid.uuid4().hex}.tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.folder / MANIFEST)
        segment_files.sync_dir(self.folder)
        named = {MANIFEST, "lock"} | {e.name for e in manifest.segments} | {e.dead for e in manifest.segments if e.dead}
        for path in self.folder.iterdir():
            if path.name not in named:
                shutil.rmtree(path) if path.is_dir() else path.unlink()

