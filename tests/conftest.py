"""Shared fixtures: the embedding cache, fresh data dirs, libraries on both Chroma backends, the CLI.

Embedding the seeds from scratch takes about a minute on a 2-core laptop, so every test shares
the user's embedding cache (keyed by text hash, so sharing it cannot change a result). Chroma
state, on the other hand, is always fresh: a new data dir per test, or a new collection on the
session's Chroma server.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from chromadb.errors import NotFoundError
from click.testing import CliRunner

from assistant.cli import cli as laidub_cli
from assistant.config import REPO, Settings
from assistant.llm import LLM, Message
from assistant.measure.bench_server import chroma_run, stop  # noqa: F401 (stop: for the tests' servers)
from store import segment
from store.chunks import Chunk
from store.embedder import pack
from store.index import connect
from store.language import LANGUAGES
from store.library import Library
from store.segment import Segment, SegmentData

SEEDS = REPO / "seeds"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session", autouse=True)
def only_loopback() -> Iterator[None]:
    """Tests may contact only 127.0.0.1: a connection from this process to any other address is refused (as an
    unreachable host, which the code under test must handle) and fails the run at the end, even if that code
    swallowed the error. Fixtures name other hosts (evil.example, podcast.invalid) only as text or to be refused."""
    attempted: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def checked(sock: socket.socket, address) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            attempted.append(str(address[0]))
            raise ConnectionRefusedError(f"tests may contact only 127.0.0.1, not {address[0]}")

    socket.socket.connect = lambda sock, address: checked(sock, address) or real_connect(sock, address)
    socket.socket.connect_ex = lambda sock, address: checked(sock, address) or real_connect_ex(sock, address)
    yield
    socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex
    assert not attempted, f"tests tried to contact {sorted(set(attempted))}"


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The user's cache dir ($LAIDUB_CACHE_DIR or ~/.cache/laidub), so e5 vectors survive across runs."""
    path = Settings.from_env().cache_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` process for the session; yields its URL."""
    with chroma_run(tmp_path_factory.mktemp("chroma-server") / "db") as url:
        yield url


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def backend(request: pytest.FixtureRequest) -> str:
    """The Chroma URL to use: empty for the embedded store (only "server" starts a process)."""
    return request.getfixturevalue("chroma_server") if request.param == "server" else ""


@pytest.fixture
def library(backend: str, data_dir: Path, cache_dir: Path) -> Iterator[Callable[[], Library]]:
    """Opens a Library on this test's own store; call it again to reopen the same store."""
    collection = f"test-{uuid.uuid4().hex[:12]}"  # the server is shared by the whole session

    def open_library() -> Library:
        return Library(data_dir, cache_dir, chroma_url=backend, collection=collection,
                       alias_files=[SEEDS / "aliases.toml"], glossary_files=[SEEDS / "glossary.toml"])

    yield open_library
    if backend:
        client = connect(data_dir, backend)
        for name in [f"{collection}-chunks-{lang}" for lang in LANGUAGES] + [
                f"{collection}-episodes", f"{collection}-state", f"{collection}-casts"]:
            with contextlib.suppress(NotFoundError):  # the test may never have opened its library
                client.delete_collection(name)


@pytest.fixture(scope="session")
def seed_library(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Library:
    """The seed episodes on an embedded store, shared by the tests that only search it."""
    lib = Library(tmp_path_factory.mktemp("seeded") / "data", cache_dir, alias_files=[SEEDS / "aliases.toml"],
                  glossary_files=[SEEDS / "glossary.toml"])
    lib.seed(SEEDS)
    return lib


@pytest.fixture(scope="session")
def make_env(cache_dir: Path) -> Callable[..., dict[str, str]]:
    """Environment for `laidub` subprocesses on `data_dir`; a developer's own LAIDUB_* settings never leak in."""

    def make(data_dir: Path, chroma_url: str = "", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAIDUB_")}
        env.update(LAIDUB_DATA_DIR=str(data_dir), LAIDUB_CACHE_DIR=str(cache_dir), LAIDUB_CHROMA_URL=chroma_url)
        return env | extra

    return make


@pytest.fixture
def laidub_env(make_env: Callable[..., dict[str, str]], data_dir: Path) -> dict[str, str]:
    """Environment for `laidub` subprocesses on this test's fresh data dir, embedded Chroma."""
    return make_env(data_dir)


@pytest.fixture(scope="session")
def laidub() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs the installed `laidub` command: laidub(env, "search", "...", "--json")."""

    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "laidub"), *args], env=env, capture_output=True, text=True, timeout=600)

    return run


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs `laidub` in this process with click's CliRunner, as `laidub` would: cli(env, "search", "...", "--json").

    Only the env's LAIDUB_* settings apply (any others of the developer's are unset), and the result
    looks like a finished process, so a test can switch between this and the real command."""

    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        settings = {k: None for k in os.environ if k.startswith("LAIDUB_")}
        settings |= {k: v for k, v in env.items() if k.startswith("LAIDUB_")}
        result = CliRunner().invoke(laidub_cli, list(args), env=settings, catch_exceptions=False)
        return subprocess.CompletedProcess(["laidub", *args], result.exit_code, result.stdout, result.stderr)

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScriptedLLM(LLM):
    """Gives the scripted replies in turn (the last one from then on) and records each prompt it was shown."""

    name = "scripted"
    n_ctx = 4096

    def __init__(self, *replies: str):
        self.replies = replies or ("They see it from their own sources [1].",)
        self.prompts: list[str] = []

    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] | None = None) -> Iterator[str]:
        self.prompts.append(messages[-1].content)
        yield from re.findall(r"\S+\s*", self.replies[min(len(self.prompts), len(self.replies)) - 1])

    def count_tokens(self, text: str) -> int:
        return len(text) // 3

    def count_messages(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m.content) for m in messages)


def vector_segment(folder: Path, vectors: np.ndarray, language: str = "en") -> Segment:
    """A written segment holding only `vectors` (chunks with empty text): for dense search tests."""
    chunks = [Chunk(id=f"{folder.name}-{n}", episode_id="e", episode_title="E", kind="chapter", title="", text="",
                    language=language) for n in range(len(vectors))]  # fmt: skip
    empty = pack(np.zeros(0), np.zeros(0))
    segment.write(folder, SegmentData.from_chunks(chunks, vectors, [[] for _ in chunks], [empty for _ in chunks]))
    return Segment(folder)
