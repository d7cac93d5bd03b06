"""Kill a real `laidub ingest` with SIGKILL, again and again, and check what readers see afterwards.

Each trial is a fresh library: the process first indexes the seeds (the first run), then a
batch of episodes, and is killed at a point spread over a measured uncut run, so kills land in
seeding, between episodes and inside an episode's write. After each kill a reader must see only
whole episodes (every chunk its record lists, nothing else), and the next run must complete the
seeds and the batch. The numbers are printed for the closing note: `pytest -s tests/test_crash.py`.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import chromadb
import pytest
from chromadb.api.client import SharedSystemClient

from store.chunks import chunk_episode
from store.formats import load_file
from store.library import Library
from store.people import Cast

REPO = Path(__file__).parent.parent
TRIALS = 22
COPIES = 6  # episodes in the killed batch, on top of the three seeds

pytestmark = pytest.mark.crash


def _batch(folder: Path) -> list[Path]:
    """Copies of the seed episodes under new ids: their embeddings are cached, so the run is mostly writes."""
    seeds = load_file(REPO / "seeds" / "laidub-page.txt")
    paths = []
    for n in range(COPIES):
        episode = seeds[n % len(seeds)]
        copy = dataclasses.replace(episode, id=f"copy-{n}", title=f"Copy {n}: {episode.title}")
        paths.append(folder / f"copy-{n}.json")
        paths[-1].write_text(copy.to_json(), encoding="utf-8")
    return paths


def _unfinished_writes(data_dir: Path) -> int:
    """Journal entries the killed process left: it died inside an episode's write."""
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    try:
        rows = client.get_collection("laidub-state").get(include=[])
        return sum(1 for i in rows["ids"] if i.startswith("write:"))
    except Exception:  # killed before the collection existed
        return 0
    finally:
        SharedSystemClient.clear_system_cache()


def _half_episodes(data_dir: Path, cache_dir: Path) -> list[str]:
    """Episodes a reader sees incompletely (a chunk or its cast missing or stale), and chunks or casts it keeps
    of episodes that have no record."""
    library = Library(data_dir, cache_dir)  # opening repairs what the killed writer left
    try:
        episodes = library.episodes()
        recorded = {e.id: {c.id for c in chunk_episode(e)} for e in episodes}
        visible: dict[str, set[str]] = {}
        for chunk in library.retriever.snapshot().chunks:
            visible.setdefault(chunk.episode_id, set()).add(chunk.id)
        casts = {c.episode_id: c for c in library.casts()}
        stale = {e.id for e in episodes if casts.get(e.id) != Cast.of(e)}
        orphans = set(library.index.casts_col.get(include=[])["ids"]) - set(recorded)
        return sorted(stale | orphans | {e for e in set(recorded) | set(visible) if recorded.get(e) != visible.get(e, set())})
    finally:
        SharedSystemClient.clear_system_cache()


def test_kill_9_during_ingest_never_leaves_half_episodes(
    tmp_path: Path, cache_dir: Path, make_env: Callable[..., dict[str, str]],
    laidub: Callable[..., subprocess.CompletedProcess[str]],
):
    batch = _batch(tmp_path)
    command = [str(Path(sys.executable).parent / "laidub"), "ingest", *map(str, batch), "--json"]

    warm = make_env(tmp_path / "warm")  # fills the embedding cache and measures an uncut run
    assert laidub(warm, "ingest", *map(str, batch)).returncode == 0
    started = time.monotonic()
    assert laidub(make_env(tmp_path / "timed"), "ingest", *map(str, batch)).returncode == 0
    uncut = time.monotonic() - started

    inside = half = 0
    for trial in range(TRIALS):
        data_dir = tmp_path / f"trial-{trial}"
        env = make_env(data_dir)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(uncut * (0.15 + 0.8 * trial / TRIALS))  # from start-up to the last episode
        process.send_signal(signal.SIGKILL)
        process.wait()
        inside += _unfinished_writes(data_dir) > 0
        broken = _half_episodes(data_dir, cache_dir)
        half += bool(broken)
        assert broken == [], f"trial {trial}: half-written episodes visible: {broken}"

        if trial % 3 == 0:  # the next run finishes the seeds and the batch
            rerun = laidub(env, "ingest", *map(str, batch), "--json")
            assert rerun.returncode == 0, rerun.stderr
            ids = {e["id"] for e in json.loads(laidub(env, "episodes", "--json").stdout)["episodes"]}
            assert ids == {e.id for e in load_file(REPO / "seeds" / "laidub-page.txt")} | {f"copy-{n}" for n in range(COPIES)}
            assert _half_episodes(data_dir, cache_dir) == []

    print(f"\ncrash test: {TRIALS} kills, {inside} inside an episode's write, {half} with half episodes visible; "
          f"uncut run {uncut:.1f} s")
    assert inside >= 3, "the kills never landed inside a write: the test would not see a torn one"
