"""`laidub bench`: how fast the retrieval side is, on the real seeds and on synthetic corpora.

Everything runs in a temporary directory, deleted afterwards; the user's index and embedding
cache are never touched.

- Seeds: a real ingest with a cold embedding cache (every vector computed), then a warm one
  (every vector cached). The first search after an ingest loads the search snapshot (chunks,
  vectors, BM25 and latent terms), so it is reported beside the ingest and counted in
  `chunks_per_s`.
- Per size, a synthetic corpus ("synthetic": true): episodes whose texts recombine seed
  sentences (so BM25 sees real vocabulary) and whose vectors are noisy copies of seed chunks'
  dense and latent vectors, pre-seeded into the embedding cache and indexed through the real
  `Index.upsert_episode`. Relevance on it is meaningless; only speed and memory are measured.
  Searches embed every query afresh (the query caches are cleared), as a new question would;
  one English and one Chinese search before them load what is loaded once per process.
  The corpus is indexed before any search files exist, so the first load rebuilds them from
  Chroma (`snapshot_load_s`); `index_open_s` maps them again, as every later process does. Then
  one more episode is ingested into the open index (`ingest_one_s`: its vectors are cached, so
  this is everything but the embedding) and searched for.
- Peak RSS, sampled while each phase runs.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from importlib.metadata import version
from pathlib import Path

import numpy as np
import psutil

from assistant.config import Settings
from assistant.library import open_library
from assistant.measure.evaluate import percentiles
from store import embedder
from store.chunks import Chunk, chunk_episode
from store.embedder import E5Embedding, PassageCache, unpack
from store.episode import Chapter, Episode, Quote, TranscriptSegment
from store.errors import SettingsError
from store.index import Index, connect
from store.language import LANGUAGES
from store.library import Library
from store.people import Cast, PeopleIndex
from store.retrieve import CANDIDATES, Filters, Retriever, dense_best
from store.snapshot import Snapshot
from store.topk import top_rows

# Dev-style questions, both languages, cross-lingual ones included.
QUESTIONS = (
    "Why did Yann LeCun leave Meta?",
    "How does Oriol define a world model?",
    "Was the AI race inevitable according to Sebastian Mallaby?",
    "What does Demis Hassabis regret?",
    "What is the JEPA architecture?",
    "Why are LLMs not the path to human-level intelligence?",
    "What advice does Oriol give to founders?",
    "What happened at the 2015 safety summit at SpaceX?",
    "杨立昆为什么离开Meta？",
    "维尼亚尔斯如何定义世界模型？",
    "哈萨比斯最后悔的是什么？",
    "强化学习的下一个领域是什么？",
    "杨立昆对博士生有什么建议？",
    "持续学习和记忆有什么关系？",
    "马拉比认为人工智能竞赛是不可避免的吗？",
    "为什么说大语言模型本质上不安全？",
)
RNG_SEED = 20240601
CHAPTERS = 12
SEGMENTS = 60  # one transcript window a minute: an hour-long episode
EPISODE_SECONDS = SEGMENTS * 60
DENSE_NOISE = 0.04  # per dimension: a copy keeps a cosine of about 0.8 to its source
LATENT_NOISE = 0.25  # log-normal spread of a copy's feature weights
LATENT_DROP = 0.1  # share of a source's features a copy loses
SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
SAMPLE_SECONDS = 0.02


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) <= 0:
        raise SettingsError(f"--sizes: expected comma-separated positive chunk counts like 1000,10000; got {text!r}")
    return sizes


def run_bench(settings: Settings, sizes: list[int], queries: int, progress: Callable[[str], None]) -> dict:
    machine = _machine()  # before our own work adds to the load
    with tempfile.TemporaryDirectory(prefix="laidub-bench-") as tmp:
        root = Path(tmp)
        with peak_rss() as seeds_rss:
            seeds, library = _bench_seeds(settings, root, progress)
        seeds["peak_rss_mb"] = seeds_rss()
        pool = SeedPool.from_library(library)
        corpora = [_bench_synthetic(pool, size, queries, root / f"synthetic-{size}", progress) for size in sizes]
    return {"machine": machine, "seeds": seeds, "synthetic": corpora, "queries": queries}


def _bench_seeds(settings: Settings, root: Path, progress: Callable[[str], None]) -> tuple[dict, Library]:
    """A user's first run, twice: `open_library` ingests the seeds into an empty data dir."""
    progress("loading the embedding model")
    start = time.perf_counter()
    embedder.engine()
    report: dict = {"model_load_s": _since(start)}
    for phase in ("cold", "warm"):  # the warm run reuses the cache the cold run filled
        progress(f"seeds: ingest with a {phase} embedding cache")
        start = time.perf_counter()
        library = open_library(dataclasses.replace(settings, data_dir=root / phase, cache_dir=root / "cache"),
                               progress=_silent)
        ingest_s = _since(start)
        first_search_s = round(_fresh_ms(partial(library.search, QUESTIONS[0])) / 1000, 2)
        chunks = library.index.count()
        if not chunks:
            raise SettingsError(f"no seed episodes in {settings.seeds_dir}; set LAIDUB_SEEDS_DIR to a folder of pages")
        report[phase] = {"chunks": chunks, "ingest_s": ingest_s, "first_search_s": first_search_s,
                         "chunks_per_s": round(chunks / (ingest_s + first_search_s), 1)}  # fmt: skip
    return report, library


def _bench_synthetic(pool: SeedPool, size: int, queries: int, root: Path, progress: Callable[[str], None]) -> dict:
    with peak_rss() as rss:
        progress(f"{size} synthetic chunks: generating")
        start = time.perf_counter()
        cache_path = root / "embeddings.sqlite"
        episodes = pool.corpus(size, PassageCache(cache_path))
        generate_s = _since(start)

        progress(f"{size} synthetic chunks: indexing {len(episodes)} episodes")
        index = Index(connect(root), "bench", E5Embedding(str(cache_path)), root / "search")
        start = time.perf_counter()
        for episode in episodes:
            index.upsert_episode(episode)
        index_s = _since(start)
        chunks = index.count()

        progress(f"{size} synthetic chunks: loading the search snapshot")
        people = PeopleIndex.build([Cast.of(e) for e in episodes], pool.alias_files)
        retriever = Retriever(index, lambda: people)
        start = time.perf_counter()
        retriever.snapshot()
        snapshot_load_s = _since(start)  # a rebuild of the search files from Chroma: none existed
        start = time.perf_counter()
        index.search.open()  # what every later process does: map the files the manifest names
        index_open_s = _since(start)

        progress(f"{size} synthetic chunks: {queries} searches")
        for question in (QUESTIONS[0], QUESTIONS[-1]):  # untimed: loads the zh dictionary and warms the caches once
            retriever.search(question)
        asked = [QUESTIONS[n % len(QUESTIONS)] for n in range(queries)]
        embed_ms = [_fresh_ms(partial(index.embedder.query_vectors, q)) for q in asked]
        search_ms = [_fresh_ms(partial(retriever.search, q, k=8)) for q in asked]
        exact_share = _dense_exact_share(retriever.snapshot(), [index.embedder.query_vectors(q).dense for q in asked])
        latent_kept = _latent_top_overlap(retriever.snapshot(), [index.embedder.query_vectors(q).latent for q in asked])

        progress(f"{size} synthetic chunks: one more episode, incrementally")
        extra = pool.episode(len(episodes), segments=SEGMENTS)
        pool.write_vectors(extra, PassageCache(cache_path), np.random.default_rng([RNG_SEED, len(episodes), 1]))
        start = time.perf_counter()
        index.upsert_episode(extra)  # its vectors are cached: this is all of an ingest but the embedding
        ingest_one_s = _since(start)
        start = time.perf_counter()
        visible = any(h.chunk.episode_id == extra.id for h in retriever.search(
            extra.chapters[0].body, filters=Filters(episodes=[extra.id])))
        search_after_ingest_s = _since(start)
    return {
        "synthetic": True, "chunks": chunks, "episodes": len(episodes), "generate_s": generate_s,
        "index_s": index_s, "index_chunks_per_s": round(chunks / index_s, 1), "snapshot_load_s": snapshot_load_s,
        "index_open_s": index_open_s, "search_ms": percentiles(search_ms),
        "query_embedding_ms": percentiles(embed_ms), "peak_rss_mb": rss(),
        "dense_exact_share": exact_share, "latent_top_overlap": latent_kept,
        "ingest_one_s": ingest_one_s, "ingest_one_visible": visible,
        "search_after_ingest_s": search_after_ingest_s, "segments": len(retriever.snapshot().rows.segments),
    }  # fmt: skip


def _dense_exact_share(snapshot: Snapshot, vectors: list[np.ndarray]) -> float:
    """Share of dense candidate lists (question x language) scoring exactly like a float32 scan of every row.

    Scores, not rows, are compared: copies of one seed vector can tie, and either tied row is right.
    """
    same = []
    masks = [Filters().mask(snapshot) & snapshot.where("language", [language]) for language in LANGUAGES]
    for vector in vectors:
        exact = snapshot.dense.exact(vector)
        for admitted in masks:
            found = dense_best(snapshot.dense, snapshot.dense.similarities(vector), admitted, vector)
            best = np.sort(exact[admitted])[::-1][: len(found)]
            same.append(np.allclose(np.sort(exact[found])[::-1], best, rtol=0, atol=1e-6))
    return round(float(np.mean(same)), 3)


def _latent_top_overlap(snapshot: Snapshot, queries: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean share of a latent list (pruned columns, shortlist rescored: store/latent.py) that ranking every row by
    its exact score lists too. Copies of one seed vector nearly tie, so this is a floor on what is kept."""
    admitted = Filters().mask(snapshot)
    shares = []
    for query in queries:
        exact = set(top_rows(snapshot.latent.scores(query, exact=True), admitted, CANDIDATES, 0.0).tolist())
        shares.append(len(exact & set(snapshot.latent.best(query, admitted, CANDIDATES))) / max(len(exact), 1))
    return round(float(np.mean(shares)), 3)


@dataclasses.dataclass
class SeedPool:
    """What synthetic corpora are made of: the seeds' episodes, sentences and vectors."""

    episodes: list[Episode]
    alias_files: list[Path]
    titles: list[str]
    sentences: dict[str, list[str]]  # by language, only the languages the seeds have
    vectors: dict[str, list[tuple[np.ndarray, np.ndarray]]]  # by language: (dense, packed latent)

    @classmethod
    def from_library(cls, library: Library) -> SeedPool:
        chunks = library.retriever.snapshot().chunks
        texts = [c.embed_text for c in chunks]
        pairs = zip(library.index.embedder.passages(texts), library.index.embedder.latent(texts))
        sentences: dict[str, list[str]] = defaultdict(list)
        vectors: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for chunk, pair in zip(chunks, pairs):
            sentences[chunk.language] += [s for s in SENTENCE.split(chunk.text) if len(s) > 8]
            vectors[chunk.language].append(pair)
        titles = sorted({c.title for c in chunks if c.kind == "chapter"})
        return cls(library.episodes(), library.alias_files, titles, {k: v for k, v in sentences.items() if v},
                   dict(vectors))  # fmt: skip

    @property
    def languages(self) -> list[str]:
        return sorted(self.sentences)

    def corpus(self, size: int, cache: PassageCache) -> list[Episode]:
        """Episodes holding about `size` chunks, their vectors written to `cache`."""
        episodes: list[Episode] = []
        total = 0
        while total < size:
            number = len(episodes)
            episodes.append(self.episode(number, segments=min(SEGMENTS, size - total)))
            total += len(self.write_vectors(episodes[-1], cache, np.random.default_rng([RNG_SEED, number, 1])))
        return episodes

    def episode(self, number: int, segments: int) -> Episode:
        """Synthetic episode `number`, the same whatever the corpus size."""
        rng = np.random.default_rng([RNG_SEED, number])
        language = self.languages[rng.integers(len(self.languages))]
        template = self.episodes[rng.integers(len(self.episodes))]
        starts = [0, *sorted(rng.choice(np.arange(1, EPISODE_SECONDS // 10), CHAPTERS - 1, replace=False) * 10)]
        chapters = [
            Chapter(start=int(start), end=int(end), title=self.titles[rng.integers(len(self.titles))],
                    body=self.text(rng, language, 3), quote=Quote(self.text(rng, language, 1), int(start)),
                    language=language, people=[p for p in template.people if rng.random() < 0.3])
            for start, end in zip(starts, [*starts[1:], EPISODE_SECONDS])
        ]  # fmt: skip
        transcript = [TranscriptSegment(60.0 * n, 60.0 * n + 55, self.text(rng, language, 2)) for n in range(segments)]
        return Episode(
            id=f"synthetic-{number:06d}", title=f"Synthetic {number}: {template.title}", show=template.show,
            host=template.host, guests=template.guests, duration=EPISODE_SECONDS,
            summary=self.text(rng, language, 4), summary_language=language, languages=["en", "zh"],
            chapters=chapters, entities=template.entities, tags=["synthetic"], transcript=transcript,
        )  # fmt: skip

    def text(self, rng: np.random.Generator, language: str, sentences: int) -> str:
        pool = self.sentences[language]
        return (" " if language == "en" else "").join(pool[i] for i in rng.integers(len(pool), size=sentences))

    def write_vectors(self, episode: Episode, cache: PassageCache, rng: np.random.Generator) -> list[Chunk]:
        """Cache a noisy copy of a same-language seed chunk's vectors for each chunk and the episode card."""
        chunks = chunk_episode(episode)
        texts = [(c.embed_text, c.language) for c in chunks] + [(f"{episode.title}\n{episode.summary}", "en")]
        entries: dict[str, np.ndarray] = {}
        for text, language in texts:
            pool = self.vectors.get(language) or self.vectors[self.languages[0]]  # a quote may detect otherwise
            dense, latent = pool[rng.integers(len(pool))]
            noisy = dense + rng.normal(0, DENSE_NOISE, dense.shape)
            indices, values = unpack(latent)
            kept = rng.random(len(indices)) >= LATENT_DROP
            weights = values[kept] * rng.lognormal(0, LATENT_NOISE, kept.sum())
            entries[PassageCache.key(text, "dense")] = (noisy / np.linalg.norm(noisy)).astype(np.float32)
            entries[PassageCache.key(text, "latent")] = embedder.pack(indices[kept], weights)
        cache.put(entries)
        return chunks


def own_peak_rss_mb() -> float:
    """This process's peak RSS since it started its program (VmHWM). Not getrusage's ru_maxrss: Linux carries
    over the RSS a process had before its exec, so a child of a bench holding GBs reported those GBs."""
    status = Path("/proc/self/status").read_text()
    return round(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024, 1)


@contextmanager
def peak_rss() -> Iterator[Callable[[], float]]:
    """Samples this process's RSS while the block runs; yields a function returning the peak in MB."""
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: round(peak[0] / 2**20, 1)
    finally:
        done.set()
        sampler.join()


def bench_text(report: dict) -> str:
    seeds = report["seeds"]
    lines = [f"model load {seeds['model_load_s']} s"]
    for phase in ("cold", "warm"):
        s = seeds[phase]
        lines.append(f"seeds, {phase} cache: {s['chunks']} chunks, ingest {s['ingest_s']} s + first search "
                     f"{s['first_search_s']} s = {s['chunks_per_s']} chunks/s")  # fmt: skip
    for c in report["synthetic"]:
        lines.append(
            f"synthetic {c['chunks']} chunks: index {c['index_chunks_per_s']} chunks/s, snapshot load "
            f"{c['snapshot_load_s']} s, index open {c['index_open_s']} s, "
            f"search p50 {c['search_ms']['p50']} ms p95 {c['search_ms']['p95']} ms "
            f"(query embedding p50 {c['query_embedding_ms']['p50']} ms), "
            f"dense lists exact {c['dense_exact_share']:.1%}, latent lists kept {c['latent_top_overlap']:.1%}, "
            f"peak RSS {c['peak_rss_mb']} MB, one more episode "
            f"{c['ingest_one_s']} s beyond embedding (then searched in {c['search_after_ingest_s']} s)"
        )
    return "\n".join(lines)


def _fresh_ms(call: Callable[[], object]) -> float:
    """Milliseconds for `call` with the query embedding caches empty, as for a new question."""
    embedder.forget_queries()
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _silent(done: int, total: int, label: str) -> None:
    """open_library's progress: the bench reports its own steps."""


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
        "chromadb": version("chromadb"), "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""),
    }  # fmt: skip
