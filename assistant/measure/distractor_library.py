"""The benchmark's big libraries: the seed episodes, ingested for real, hidden among distractor episodes.

A library of `size` chunks is built once into `CACHE_DIR/bench/<size>-v<VERSION>/` and reused by every
later bench run (`laidub bench --library SIZE`), so the numbers can be taken again after any change to
search. It uses the user's embedding cache, where the distractor pool's passages
(assistant/measure/distractors.py) are embedded for real once: every vector in it is a real one.

Distractor episode n follows template n % templates: `Shape.chapters` chapter passages and `Shape.segments`
transcript windows drawn from one language's pool. A chunk's text is a pool passage, unchanged, so its latent
terms are the pool's real ones (a rebuild of the search files reads them from the cache by text); its
dense vector is the passage's real one plus a little noise (DENSE_NOISE), so copies of a passage in
different episodes are near, not equal, as paraphrases would be. Templates keep tokenizing cheap:
BM25 terms are computed once per template chunk (English tokenizing runs about 300 chunks/s, 55 min
for a million), not per copy.

Writing: the seeds go through `Library.seed`, each episode atomically. Distractors are written in
bulk, BATCH_ROWS chunks per Chroma call and then their episodes' records (the commit point, as in
Index.upsert_episode), so a killed build leaves whole episodes plus invisible chunks that the next
run overwrites; a run first lists the recorded episodes and skips them. The search files are not
updated per batch: the last step rebuilds them from Chroma, exactly what `laidub` does for a user
whose index is missing.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.measure.distractors import Passage, embed_pool, read_pool, seed_sentences
from store.chunks import chunk_episode
from store.embedder import E5Embedding
from store.episode import Chapter, Episode, TranscriptSegment
from store.formats import SUFFIXES, load_file
from store.index import _metadata, connect
from store.language import LANGUAGES
from store.library import Library

VERSION = 1  # bump when the pool, the shape or the index schema change: a new folder is built
SEGMENT_SECONDS = 30  # transcript windows this far apart (store/chunks.py groups cues under 15 s apart)
DENSE_NOISE = 0.015  # per dimension: a copy keeps a cosine of about 0.96 to its passage
RNG_SEED = 20261204
SHOWS = 40  # a listener following 40 shows (issue #17)
SHIPPED_HNSW_UP_TO = 100_000  # libraries up to this size keep Chroma's HNSW as shipped: ingest-one is measured there
LIGHT_HNSW = {"hnsw": {"space": "cosine", "ef_construction": 32, "max_neighbors": 8, "batch_size": 5000,
                       "sync_threshold": 50000}}


@dataclasses.dataclass(frozen=True)
class Shape:
    """How big the pool is and what a distractor episode holds (tests use a tiny one)."""

    per_language: int = 600  # passages embedded for real per language (0.5-2.7 passages/s here, both passes)
    chapters: int = 10
    segments: int = 50  # an hour's transcript is about 120 such windows; 60 chunks keep the records small
    templates: int = 64  # each template's chunks are tokenized once (English: ~300 chunks/s)
    batch_rows: int = 5000  # chunks per bulk write

    @property
    def chunks(self) -> int:
        return self.chapters + self.segments


@dataclasses.dataclass
class Pool:
    """The embedded passages, by language and role, with their real vectors."""

    shape: Shape
    passages: dict[tuple[str, bool], list[Passage]]  # (language, chapter) -> passages
    dense: dict[str, np.ndarray]  # embed text -> real dense vector

    @classmethod
    def load(cls, settings: Settings, progress: Callable[[str], None], shape: Shape = Shape()) -> tuple[Pool, dict]:
        seeds = seed_episodes(settings.seeds_dir)
        passages = read_pool(shape.per_language, shape.per_language,
                             seed_sentences([c.text for e in seeds for c in chunk_episode(e)]))
        embedding = E5Embedding(str(settings.cache_dir / "embeddings.sqlite"))
        report = embed_pool(passages, embedding, progress)
        vectors = embedding.passages([p.embed_text for p in passages])
        grouped: dict[tuple[str, bool], list[Passage]] = {}
        for passage in passages:
            grouped.setdefault((passage.language, passage.chapter), []).append(passage)
        return cls(shape, grouped, {p.embed_text: v for p, v in zip(passages, vectors)}), report

    @property
    def languages(self) -> list[str]:
        return sorted({language for language, _ in self.passages})


def bench_root(settings: Settings) -> Path:
    return settings.cache_dir / "bench"


def library_dir(root: Path, size: int) -> Path:
    """`LAIDUB_DATA_DIR` of the bench library of `size` chunks."""
    return root / f"{size}-v{VERSION}"


def seed_episodes(seeds_dir: Path) -> list[Episode]:
    return [e for path in sorted(Path(seeds_dir).iterdir()) if path.suffix in SUFFIXES for e in load_file(path)]


def open_bench_library(settings: Settings, root: Path, size: int) -> Library:
    return Library(library_dir(root, size), settings.cache_dir, collection=settings.collection,
                   alias_files=[settings.seeds_dir / "aliases.toml"],
                   glossary_files=[settings.seeds_dir / "glossary.toml"])


def template(pool: Pool, number: int) -> Episode:
    """Distractor template `number`: its chapters and transcript windows, from one language's passages."""
    rng = np.random.default_rng([RNG_SEED, number])
    shape, language = pool.shape, pool.languages[number % len(pool.languages)]
    seconds = shape.segments * SEGMENT_SECONDS
    chapters_pool, segments_pool = pool.passages[(language, True)], pool.passages[(language, False)]
    picked = [chapters_pool[i] for i in rng.choice(len(chapters_pool), shape.chapters, replace=False)]
    starts = [0, *sorted(rng.choice(np.arange(1, seconds // 10), shape.chapters - 1, replace=False) * 10)]
    chapters = [Chapter(start=int(start), end=int(end), title=p.title, body=p.text, language=language)
                for p, start, end in zip(picked, starts, [*starts[1:], seconds])]
    windows = [segments_pool[i] for i in rng.choice(len(segments_pool), shape.segments, replace=False)]
    transcript = [TranscriptSegment(float(SEGMENT_SECONDS * n), float(SEGMENT_SECONDS * n + SEGMENT_SECONDS - 2),
                                    p.text) for n, p in enumerate(windows)]
    return Episode(id=f"template-{number}", title="", duration=seconds, summary_language=language,
                   languages=[language], chapters=chapters, transcript=transcript, tags=["distractor"])


def distractor(pool: Pool, number: int) -> Episode:
    """Distractor episode `number`: its template under its own id, title and show."""
    shape = template(pool, number % pool.shape.templates)
    return dataclasses.replace(shape, id=f"distractor-{number:07d}", show=f"Distractor Show {number % SHOWS}",
                               title=f"Distractor {number}: {shape.chapters[0].title}")


def distractors_needed(size: int, seed_chunks: int, shape: Shape) -> int:
    return max(0, math.ceil((size - seed_chunks) / shape.chunks))


def build(settings: Settings, root: Path, size: int, pool: Pool, progress: Callable[[str], None]) -> dict:
    """Make the library of `size` chunks under `root` complete (resuming a killed build); what this run did, timed."""
    if size > SHIPPED_HNSW_UP_TO:
        _light_chunk_collections(settings, library_dir(root, size))
    start = time.perf_counter()
    library = open_bench_library(settings, root, size)
    report: dict = {"library_open_s": _since(start)}
    start = time.perf_counter()
    seeds = library.seed(settings.seeds_dir)
    report["seeds"] = {"episodes": len(seeds), "ingest_s": _since(start)}
    seed_chunks = sum(len(chunk_episode(e)) for e in seed_episodes(settings.seeds_dir))
    wanted = distractors_needed(size, seed_chunks, pool.shape)
    start = time.perf_counter()
    written = set(library.index.episodes_col.get(include=[])["ids"])
    todo = [n for n in range(wanted) if f"distractor-{n:07d}" not in written]
    report["resume"] = {"episodes_done": wanted - len(todo), "listing_s": _since(start)}
    progress(f"{size}: {wanted - len(todo)} of {wanted} distractor episodes already written "
             f"(listed in {report['resume']['listing_s']} s)")
    start = time.perf_counter()
    rows = write_distractors(library, pool, todo, progress)
    seconds = time.perf_counter() - start
    report["distractors"] = {"episodes": len(todo), "chunks": rows, "write_s": round(seconds, 1),
                             "chunks_per_s": round(rows / seconds, 1) if rows else None}
    progress(f"{size}: the search files, rebuilt from Chroma if stale (as for a user whose index is missing)")
    start = time.perf_counter()
    library.index.snapshot()
    report["search_files_s"] = _since(start)
    report["chunks"] = library.index.count()
    (library_dir(root, size) / "built.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def _light_chunk_collections(settings: Settings, data_dir: Path) -> None:
    """Create the chunk collections with a cheap HNSW before `Index` opens them (it keeps what exists).

    Embedded search never queries Chroma's HNSW (it reads the search files), but every add pays for it:
    15k rows went in at 585 rows/s with the shipped settings and 1,118 with these (load 8, 2 cores).
    """
    client = connect(data_dir)
    for language in LANGUAGES:
        client.get_or_create_collection(f"{settings.collection}-chunks-{language}", configuration=LIGHT_HNSW,
                                        embedding_function=E5Embedding(str(settings.cache_dir / "embeddings.sqlite")))


def write_distractors(library: Library, pool: Pool, numbers: list[int], progress: Callable[[str], None]) -> int:
    """Write distractor episodes `numbers` to Chroma in big batches, each batch's records last; the chunks written."""
    index = library.index
    rng = np.random.default_rng([RNG_SEED, numbers[0] if numbers else 0])
    shapes: dict[int, list[dict]] = {}  # template -> its chunks' metadata
    written, batch = 0, []
    for position, number in enumerate(numbers):
        batch.append(number)
        if len(batch) * pool.shape.chunks < pool.shape.batch_rows and position < len(numbers) - 1:
            continue
        chunks, metadatas, vectors, records = [], [], [], []
        for n in batch:
            episode = distractor(pool, n)
            own = chunk_episode(episode)
            shape = n % pool.shape.templates
            if shape not in shapes:  # BM25 terms of a template's chunks, once
                shapes[shape] = [_metadata(c) for c in own]
            metadatas += [{**meta, "episode_id": c.episode_id, "episode_title": c.episode_title, "show": c.show,
                           "digest": c.digest} for c, meta in zip(own, shapes[shape])]
            chunks += own
            vectors += [pool.dense[c.embed_text] for c in own]
            records.append((episode, {"title": episode.title, "show": episode.show, "source": "distractor",
                                      "chunks": "\n".join(c.id for c in own)}))
        noisy = np.asarray(vectors) + rng.normal(0, DENSE_NOISE, (len(vectors), len(vectors[0])))
        noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
        step = min(index._client.get_max_batch_size(), pool.shape.batch_rows)
        for language, collection in index.chunk_collections.items():
            rows = [n for n, c in enumerate(chunks) if c.language == language]
            for offset in range(0, len(rows), step):
                part = rows[offset : offset + step]
                collection.upsert(ids=[chunks[n].id for n in part], embeddings=noisy[part],
                                  documents=[chunks[n].text for n in part], metadatas=[metadatas[n] for n in part])
        cards = np.stack([pool.dense[e.chapters[0].title + "\n" + e.chapters[0].body] for e, _ in records])
        index.episodes_col.upsert(ids=[e.id for e, _ in records], embeddings=cards,
                                  documents=[e.to_json() for e, _ in records], metadatas=[r for _, r in records])
        index._new_revision()  # the search files are now behind Chroma: the next reader rebuilds them
        written += len(chunks)
        progress(f"distractors: {position + 1} of {len(numbers)} episodes written ({written} chunks)")
        batch = []
    return written


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 2)
