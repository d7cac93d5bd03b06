"""Casts: searching and answering read who each episode is about from small rows, never every whole episode."""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.answer import Assistant
from assistant.config import Settings
from conftest import ScriptedLLM
from store.embedder import DIM
from store.episode import Chapter, Episode
from store.index import Index
from store.library import Library
from store.people import Cast

SEED_PAGE = Path(__file__).parent.parent / "seeds" / "laidub-page.txt"
SEED_EPISODES = {"a-conversation-with-demis-hassabis-biographer",
                 "gemini-co-lead-on-world-models-rls-next-domains-continual-learning", LECUN := "yann-lecun-on-what-comes-after-llms"}
EXTRA = 6  # small episodes besides the seeds', none of which a question below is about
UNIT = [1.0] + [0.0] * (DIM - 1)


@pytest.fixture
def shelf(library: Callable[[], Library], tmp_path: Path) -> Library:
    """The seeds and EXTRA more episodes, so that reading every episode shows in a count."""
    opened = library()
    opened.ingest([SEED_PAGE])
    for n in range(EXTRA):
        path = tmp_path / f"extra-{n}.json"
        path.write_text(Episode(id=f"extra-{n}", title=f"Extra {n}", host=f"Host {n}", guests=[f"Guest Number{n}"],
                                summary="A short talk about gardening.", languages=["en"],
                                chapters=[Chapter(0, 60, "Tomatoes", "Tomatoes need sun and little water.")]).to_json(),
                        encoding="utf-8")
    opened.ingest(sorted(tmp_path.glob("extra-*.json")))
    return library()  # a fresh process's view: nothing read yet


def people_of(library: Library) -> dict[str, dict[str, str]]:
    return {p.name: p.roles for p in library.people.people}


def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the episodes decoded whole from now on; listing every episode fails the test."""
    seen: list[str] = []
    from_json = Episode.from_json

    def counting(text: str) -> Episode:
        episode = from_json(text)
        seen.append(episode.id)
        return episode

    def listing(self) -> list[Episode]:
        raise AssertionError("every episode was read")

    monkeypatch.setattr(Episode, "from_json", staticmethod(counting))
    monkeypatch.setattr(Index, "episodes", listing)
    return seen


def test_a_search_reads_casts_and_only_the_episodes_it_needs(shelf: Library, monkeypatch: pytest.MonkeyPatch):
    seen = decoded(monkeypatch)
    assert not shelf.is_empty()
    filters = shelf.filters(episodes=["Yann LeCun on What Comes After LLMs"], people=["杨立昆"])
    hits = shelf.search("Why did Yann LeCun leave Meta?", filters=filters)
    assert hits and {h.chunk.episode_id for h in hits} == {LECUN}
    assert shelf.people.resolve("Number3").roles == {"extra-3": "guest"}
    assert seen == []


def test_an_answer_decodes_each_episode_it_cites_once(shelf: Library, monkeypatch: pytest.MonkeyPatch):
    seen = decoded(monkeypatch)
    assistant = Assistant(Settings.from_env(), library=shelf, llm=ScriptedLLM("Yann left Meta to build AMI [1]."))
    answer = assistant.ask("Why did Yann LeCun leave Meta?")
    assert LECUN in {s.episode.id for s in answer.sources}
    assert LECUN in seen and len(seen) == len(set(seen)) and set(seen) <= SEED_EPISODES


def test_a_library_without_casts_makes_them_once_from_its_documents(shelf: Library, library: Callable[[], Library],
                                                                    monkeypatch: pytest.MonkeyPatch):
    """A library indexed before casts were kept: its first reader makes them; later readers only read them."""
    expected = people_of(shelf)
    casts = shelf.index.casts_col
    casts.delete(ids=casts.get(include=[])["ids"])

    seen = decoded(monkeypatch)
    assert people_of(library()) == expected
    assert len(seen) == 3 + EXTRA
    assert casts.count() == 3 + EXTRA
    seen.clear()
    assert people_of(library()) == expected and seen == []


def test_a_cast_a_killed_writer_left_is_repaired_on_open(shelf: Library, library: Callable[[], Library]):
    """Killed after writing the new cast, before the record (the commit point): the record's version wins."""
    episode = shelf.episode(LECUN)
    stale = Cast.of(dataclasses.replace(episode, guests=["Someone Else"]))
    shelf.index._begin(LECUN)
    shelf.index.casts_col.upsert(ids=[LECUN], embeddings=[UNIT], documents=[stale.to_json()])
    half = Cast.of(dataclasses.replace(episode, id="half", title="Half written"))
    shelf.index._begin("half")
    shelf.index.casts_col.upsert(ids=["half"], embeddings=[UNIT], documents=[half.to_json()])
    for entry in ("write:" + LECUN, "write:half"):
        shelf.index._set_state(entry, {"pid": 2**22 + 1, "host": socket.gethostname(), "started": time.time()})

    reopened = library()
    assert [c for c in reopened.casts() if c.episode_id in (LECUN, "half")] == [Cast.of(episode)]
    assert reopened.index.casts_col.get(ids=["half"], include=[])["ids"] == []


def test_removing_an_episode_removes_its_cast(shelf: Library):
    shelf.remove("extra-0")
    assert "extra-0" not in {c.episode_id for c in shelf.casts()}
    assert shelf.index.casts_col.get(ids=["extra-0"], include=[])["ids"] == []
    assert shelf.people.resolve("Number0") is None
