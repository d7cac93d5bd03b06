"""`laidub bench --server`: search on a Chroma server, `chroma run` on 127.0.0.1, from a separate client process.

Per size, a synthetic corpus (bench.py's: seed sentences and noisy copies of seed vectors) is written
through the real `Index.upsert_episode` into a `chroma run` over `<cache dir>/bench/server-<size>/`, kept
for the next bench (writing 100k chunks to a server took 15 min, 109 chunks/s); then a new process, which holds
nothing but the embedding model and the server's answers, times searches (each question embedded
afresh) and reports its peak RSS. That the client's memory does not grow with the library is the
point of server mode, so the bench runs at two or more sizes. Dev recall@5 is measured on the seed
episodes in both modes, server and embedded, with the same question file as `laidub eval`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx

from assistant.config import Settings
from assistant.library import open_library
from assistant.measure.bench import (QUESTIONS, SeedPool, _fresh_ms, _machine, _since, _silent,
                                     own_peak_rss_mb)
from assistant.measure.evaluate import load_cases, percentiles, retrieval_metrics
from store.embedder import E5Embedding, PassageCache, engine
from store.errors import SettingsError
from store.index import Index, connect
from store.people import PeopleIndex
from store.retrieve import Retriever
from store.server_ranking import ServerRanking

SERVER_START_SECONDS = 60
COLLECTION = "bench"


def run_server_bench(settings: Settings, sizes: list[int], queries: int, dev: Path | None,
                     progress: Callable[[str], None]) -> dict:
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="laidub-bench-server-") as tmp:
        root = Path(tmp)
        cache = root / "cache"
        cache.mkdir()
        user_cache = settings.cache_dir / "embeddings.sqlite"
        if user_cache.is_file():  # read, never written: the seeds' vectors, so they are not embedded again
            shutil.copy(user_cache, cache / "embeddings.sqlite")
        seeds = dataclasses.replace(settings, data_dir=root / "seeds", cache_dir=cache, chroma_url="")
        progress("seeds: the embedded library")
        embedded = open_library(seeds, progress=_silent)
        report: dict = {"machine": machine, "queries": queries}
        if dev is not None:
            report["recall"] = _recall(seeds, embedded, dev, root / "seeds-server", progress)
        pool = SeedPool.from_library(embedded)
        kept = settings.cache_dir / "bench"
        aliases = settings.seeds_dir / "aliases.toml"
        client_args = [str(queries), str(aliases), str(settings.server_fulltext_words)]
        report["fulltext_words"] = settings.server_fulltext_words
        report["sizes"] = [_bench_size(pool, size, client_args, kept / f"server-{size}", progress) for size in sizes]
    return report


def _recall(seeds: Settings, embedded, dev: Path, folder: Path, progress: Callable[[str], None]) -> dict:
    """Dev retrieval metrics on the seed episodes, embedded and on a server."""
    progress("seeds: dev recall, embedded and on a Chroma server")
    report = {"embedded": retrieval_metrics(embedded, load_cases(dev, embedded))}
    with chroma_run(folder / "chroma") as url:
        served = open_library(dataclasses.replace(seeds, data_dir=folder / "data", chroma_url=url), progress=_silent)
        report["server"] = retrieval_metrics(served, load_cases(dev, served))
    return report


def _bench_size(pool: SeedPool, size: int, client_args: list[str], folder: Path,
                progress: Callable[[str], None]) -> dict:
    """A server library of `size` synthetic chunks (kept in `folder` and reused: writing 100k chunks to a server
    takes minutes), then the searches of a new client process."""
    built = folder / "built.json"  # written last: a library whose writing was interrupted is written again
    run: dict = {"synthetic": True, "reused": built.is_file()}
    if not built.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        cache_path = folder / "embeddings.sqlite"
        progress(f"server, {size} synthetic chunks: generating")
        episodes = pool.corpus(size, PassageCache(cache_path))
    with chroma_run(folder / "chroma") as url:
        index = Index(connect(folder, url), COLLECTION, E5Embedding(str(folder / "embeddings.sqlite")), None)
        if not run["reused"]:
            progress(f"server, {size} synthetic chunks: writing {len(episodes)} episodes to {url}")
            start = time.perf_counter()
            for episode in episodes:
                index.upsert_episode(episode)
            write_s = _since(start)
            built.write_text(json.dumps({"episodes": len(episodes), "write_s": write_s}))
        run |= json.loads(built.read_text()) | {"chunks": index.count()}
        run["write_chunks_per_s"] = round(run["chunks"] / run["write_s"], 1)
        progress(f"server, {run['chunks']} synthetic chunks: {client_args[0]} searches from a new process")
        command = [sys.executable, "-m", "assistant.measure.bench_server", url, *client_args]
        client = subprocess.run(command, capture_output=True, text=True, timeout=3600)
        if client.returncode != 0:
            raise SettingsError(f"the bench's search client failed: {client.stderr.strip()[-500:]}")
    return run | json.loads(client.stdout)


def client(url: str, queries: int, aliases: Path, fulltext_words: int) -> dict:
    """What a search process on a Chroma server costs: search times (question embedding included), peak RSS.
    It knows the seeds' people by their aliases (the corpus's episodes are about them), not every episode."""
    engine()  # the model loads once per process, before anything is timed
    index = Index(connect(Path(tempfile.gettempdir()), url), COLLECTION, E5Embedding(), None)
    people = PeopleIndex.build([], [aliases])
    retriever = Retriever(index, lambda: people, ServerRanking(index, fulltext_words))
    for question in (QUESTIONS[0], QUESTIONS[-1]):  # untimed: loads the zh dictionary, opens the connections
        retriever.search(question)
    asked = [QUESTIONS[n % len(QUESTIONS)] for n in range(queries)]
    embed_ms = [_fresh_ms(partial(index.embedder.query, q)) for q in asked]
    search_ms = [_fresh_ms(partial(retriever.search, q, k=8)) for q in asked]
    peak = own_peak_rss_mb()
    return {"search_ms": percentiles(search_ms), "query_embedding_ms": percentiles(embed_ms),
            "client_peak_rss_mb": round(peak, 1)}  # fmt: skip


@contextlib.contextmanager
def chroma_run(path: Path) -> Iterator[str]:
    """A `chroma run` server on 127.0.0.1 over `path` for the block; yields its URL."""
    path.mkdir(parents=True, exist_ok=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
    with open(path.parent / "chroma.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while not _answers(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SettingsError(f"chroma run did not start on {url}; see {path.parent / 'chroma.log'}")
                time.sleep(0.2)
            yield url
        finally:
            stop(server)


def stop(process: subprocess.Popen) -> None:
    """Terminate a server process; kill it if it does not exit in time."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=1).is_success
    except httpx.TransportError:
        return False


def server_text(report: dict) -> str:
    lines = []
    for run in report["sizes"]:
        lines.append(f"server, synthetic {run['chunks']} chunks: written at {run['write_chunks_per_s']} chunks/s, "
                     f"search p50 {run['search_ms']['p50']} ms p95 {run['search_ms']['p95']} ms (query embedding "
                     f"p50 {run['query_embedding_ms']['p50']} ms), client peak RSS {run['client_peak_rss_mb']} MB")
    for mode, metrics in report.get("recall", {}).items():
        lines.append(f"dev {mode}: recall@5 {metrics['all'].get('recall@5')} (en {metrics['en'].get('recall@5')}, "
                     f"zh {metrics['zh'].get('recall@5')}), MRR {metrics['all'].get('mrr')}")
    return "\n".join(lines)


if __name__ == "__main__":  # the client process `_bench_size` starts
    print(json.dumps(client(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))))
