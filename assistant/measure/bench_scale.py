"""`laidub bench --library SIZES`: the big libraries (assistant/measure/distractor_library.py), measured
the way a user meets them, each number in a fresh process.

For each size the library is built or finished first (resumable; a complete one costs a listing of
its episodes). Then, each in a new Python process on that library (LAIDUB_DATA_DIR and
LAIDUB_CACHE_DIR pointing at it):

- a search process: opening the library and its search files, then every bench and dev question
  searched with its embedding computed afresh; the process's peak RSS (getrusage) is taken right
  after; then dev recall@5 and MRR among the distractors, per question language.
- a cold `laidub search "..." --json`, its wall time and peak RSS (wait4).
- up to 100k chunks (what the issue asks), one more distractor episode ingested into the library (its
  passages are cached and its card embedded before the clock starts, so the time is everything but
  embedding), searched for, then removed again, so the library stays the one built and every run
  measures the same thing.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from assistant.config import Settings
from assistant.measure.bench import QUESTIONS, _fresh_ms, own_peak_rss_mb
from assistant.measure.distractor_library import (SHIPPED_HNSW_UP_TO, Pool, bench_root, build, distractor,
                                                  distractors_needed, library_dir, open_bench_library, seed_episodes)
from assistant.measure.evaluate import load_cases, percentiles, retrieval_metrics
from store import embedder
from store.chunks import chunk_episode
from store.errors import SettingsError
from store.retrieve import Filters

DEV_QUESTIONS = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "dev.jsonl"
COLD_QUESTION = "Why did Yann LeCun leave Meta?"


def run_scale(settings: Settings, sizes: list[int], dev: Path, progress: Callable[[str], None]) -> dict:
    if not dev.is_file():
        raise SettingsError(f"--dev {dev}: no such file (the dev questions, e.g. ../shared/eval/dev.jsonl)")
    pool, pool_report = Pool.load(settings, progress)
    report: dict = {"pool": pool_report, "libraries": []}
    for size in sizes:
        progress(f"library of {size} chunks: build or resume")
        built = build(settings, bench_root(settings), size, pool, progress)
        report["libraries"].append({"size": size, "build": built, **measure(settings, size, dev, progress)})
    return report


def measure(settings: Settings, size: int, dev: Path, progress: Callable[[str], None]) -> dict:
    """The fresh processes on a built library (its search files current)."""
    progress(f"library of {size} chunks: a search process")
    measured = {"load_avg_before": _load(), "search": _fresh(settings, size, "search", str(dev))}
    progress(f"library of {size} chunks: a cold `laidub search`")
    measured["cold_search"] = _cold_search(settings, size)
    if size <= SHIPPED_HNSW_UP_TO:  # above, Chroma's HNSW is the bench's cheap one, not what a user's ingest pays
        progress(f"library of {size} chunks: one more episode")
        measured["ingest_one"] = _fresh(settings, size, "ingest_one")
    measured["load_avg_after"] = _load()
    return measured


def scale_text(report: dict) -> str:
    pool = report["pool"]
    lines = [f"distractor pool: {pool['passages']} passages, {pool['embedded']} embedded now"
             + (f" at {pool['passages_per_s']} passages/s" if pool["passages_per_s"] else "")]
    for lib in report["libraries"]:
        s, cold = lib["search"], lib["cold_search"]
        one = f"; one more episode {lib['ingest_one']['ingest_s']} s beyond embedding" if "ingest_one" in lib else ""
        recall = s["recall"]
        lines.append(
            f"{lib['size']} chunks ({s['chunks']} indexed; load {lib['load_avg_before']}): open {s['open_s']} s "
            f"(search files {s['index_open_s']} s), search p50 {s['search_ms']['p50']} ms p95 {s['search_ms']['p95']} "
            f"ms (first pass p50 {s['first_pass_search_ms']['p50']} ms; query embedding "
            f"{s['query_embedding_ms']['p50']} ms), peak RSS {s['peak_rss_mb']} MB; cold `laidub search` "
            f"{cold['wall_s']} s, {cold['peak_rss_mb']} MB; recall@5 en {recall['en'].get('recall@5')} "
            f"zh {recall['zh'].get('recall@5')}{one}")
    return "\n".join(lines)


# -- the fresh processes --------------------------------------------------------------


def _fresh(settings: Settings, size: int, what: str, *args: str) -> dict:
    """Run `what` (a function below) in a new Python process on the library; its JSON report."""
    command = [sys.executable, "-m", "assistant.measure.bench_scale", what, str(size), *args]
    done = subprocess.run(command, env=_library_env(settings, size), capture_output=True, text=True)
    if done.returncode:
        raise SettingsError(f"bench {what} on the {size}-chunk library failed: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _library_env(settings: Settings, size: int) -> dict:
    return {**os.environ, "LAIDUB_DATA_DIR": str(library_dir(bench_root(settings), size)),
            "LAIDUB_CACHE_DIR": str(settings.cache_dir), "PYTHONPATH": os.pathsep.join(sys.path)}


# The cold search is started by this small watcher, not by the bench: a child's peak RSS counts the pages of the
# process it was forked from until its exec (Linux keeps the pre-exec RSS in the maximum), and the bench holds GBs.
_WATCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
results = json.loads(out or b"{}").get("results", [])
print(json.dumps({"wall_s": round(time.perf_counter() - start, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                  "exit": os.waitstatus_to_exitcode(status), "top": results[0]["title"] if results else None}))
"""


def _cold_search(settings: Settings, size: int) -> dict:
    """`laidub search` as a user runs it: a new process, wall time from spawn to exit, its peak RSS."""
    laidub = Path(sys.executable).with_name("laidub")
    done = subprocess.run([sys.executable, "-c", _WATCHER, str(laidub), "search", COLD_QUESTION, "--json"],
                          env=_library_env(settings, size), capture_output=True, text=True)
    return json.loads(done.stdout)


def search_process(size: int, dev: str) -> dict:
    """A search process's life: open, search every question (embedded afresh), peak RSS, then recall."""
    settings = Settings.from_env()
    start = time.perf_counter()
    library = open_bench_library(settings, bench_root(settings), size)
    library_s = time.perf_counter() - start
    start = time.perf_counter()
    library.retriever.snapshot()  # the revision checked, the manifest's segments mapped
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    embedder.engine()
    model_s = time.perf_counter() - start
    questions = list(QUESTIONS) + [json.loads(line)["question"] for line in Path(dev).read_text().splitlines() if line]
    for question in (QUESTIONS[0], QUESTIONS[-1]):  # untimed: the zh dictionary and the people index, once
        library.search(question)
    embed_ms = [_fresh_ms(partial(library.index.embedder.query_vectors, q)) for q in questions]
    # The first pass reads the pages of the files it needs from disk, unless the page cache has them; the second
    # is a search process's steady state (the page cache holds what searches read: codes, postings, vectors).
    first_ms = [_fresh_ms(partial(library.search, q, k=8)) for q in questions]
    search_ms = [_fresh_ms(partial(library.search, q, k=8)) for q in questions]
    peak = own_peak_rss_mb()
    profile = _profile(lambda: [_fresh_ms(partial(library.search, q, k=8)) for q in questions], len(questions))
    metrics = retrieval_metrics(library, load_cases(Path(dev), library))
    return {"chunks": library.index.count(), "episodes": library.index.episodes_col.count(),
            "library_s": round(library_s, 3), "index_open_s": round(index_s, 3), "open_s": round(library_s + index_s, 3),
            "model_load_s": round(model_s, 2), "questions": len(questions),
            "first_pass_search_ms": percentiles(first_ms), "search_ms": percentiles(search_ms),
            "query_embedding_ms": percentiles(embed_ms), "peak_rss_mb": round(peak, 1),
            "recall": {k: metrics[k] for k in ("all", "en", "zh")}, "misses": metrics["misses"],
            "profile_ms_per_search": profile, "load_avg": _load()}


def _profile(searches: Callable[[], object], count: int, top: int = 14) -> dict[str, float]:
    """Where a search's time goes: the store's and the embedder's functions by cumulative ms per search
    (cProfile adds its own overhead, so these are shares more than times)."""
    profiler = cProfile.Profile()
    profiler.runcall(searches)
    stats = pstats.Stats(profiler).stats
    ours = {f"{Path(file).parent.name}/{Path(file).name}:{name}": cumulative * 1000 / count
            for (file, _, name), (_, _, _, cumulative, _) in stats.items() if "/store/" in file}
    return {name: round(ms, 1) for name, ms in sorted(ours.items(), key=lambda kv: -kv[1])[:top]}


def ingest_one(size: int) -> dict:
    """One more distractor episode through `Library`'s own write path; then it is removed again."""
    settings = Settings.from_env()
    library = open_bench_library(settings, bench_root(settings), size)
    library.retriever.snapshot()
    pool, _ = Pool.load(settings, lambda step: None)
    seed_chunks = sum(len(chunk_episode(e)) for e in seed_episodes(settings.seeds_dir))
    extra = distractor(pool, distractors_needed(size, seed_chunks, pool.shape))
    texts = [c.embed_text for c in chunk_episode(extra)]
    uncached = len(library.index.embedder.missing(texts))  # 0: its passages are the pool's
    start = time.perf_counter()
    library.index.embedder.passages([f"{extra.title}\n{extra.summary}"])  # its card, the one new text
    card_s = time.perf_counter() - start
    start = time.perf_counter()
    result = library.index.upsert_episode(extra, "distractor")
    ingest_s = time.perf_counter() - start
    start = time.perf_counter()
    hits = library.search(extra.chapters[0].body, filters=Filters(episodes=[extra.id]))
    search_s = time.perf_counter() - start
    start = time.perf_counter()
    library.index.remove_episode(extra.id)
    remove_s = time.perf_counter() - start
    return {"chunks": result.added, "uncached_passages": uncached, "card_embedding_s": round(card_s, 2),
            "ingest_s": round(ingest_s, 2),
            "visible": any(h.chunk.episode_id == extra.id for h in hits), "search_after_s": round(search_s, 2),
            "remove_s": round(remove_s, 2),
            "peak_rss_mb": own_peak_rss_mb()}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def build_only(size: int) -> dict:
    """Build (or finish) one library and nothing else: `python -m assistant.measure.bench_scale build SIZE`
    starts a long build in the background, and `laidub bench --library SIZE` later measures it."""
    settings = Settings.from_env()
    pool, pool_report = Pool.load(settings, partial(print, file=sys.stderr, flush=True))
    built = build(settings, bench_root(settings), size, pool, partial(print, file=sys.stderr, flush=True))
    return {"pool": pool_report, "build": built}


def measure_only(size: int, dev: str = str(DEV_QUESTIONS)) -> dict:
    """Measure a library as it stands, even a build stopped midway (its search files rebuilt first, timed):
    `python -m assistant.measure.bench_scale measure SIZE`."""
    settings = Settings.from_env()
    library = open_bench_library(settings, bench_root(settings), size)
    start = time.perf_counter()
    library.index.snapshot()
    rebuilt_s = round(time.perf_counter() - start, 1)
    chunks = library.index.count()
    del library
    return {"size": size, "chunks": chunks, "search_files_s": rebuilt_s,
            **measure(settings, size, Path(dev), partial(print, file=sys.stderr, flush=True))}


if __name__ == "__main__":
    step, size, *rest = sys.argv[1:]
    steps = {"search": search_process, "ingest_one": ingest_one, "build": build_only, "measure": measure_only}
    print(json.dumps(steps[step](int(size), *rest)))
