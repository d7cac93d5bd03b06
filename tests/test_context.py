"""Evidence for the prompt: sentences chosen one at a time across the top chapters by relevance, within the budget.

The first tests use a made-up library whose similarities are given, so each knows what should be chosen;
the last ones run e5 on the seed library (vectors from the shared cache).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ScriptedLLM

from assistant.config import REPO
from assistant.context import Source, pack, render_source
from assistant.prompts import Prompts
from store.chunks import Chunk
from store.episode import Chapter, Episode, Quote
from store.library import Library
from store.retrieve import Hit

PROMPTS = Prompts(REPO / "prompts")
count_tokens = ScriptedLLM().count_tokens


class GivenSimilarity:
    """An embedder under which a sentence's similarity to any question is the one given for it (else 0.1)."""

    def __init__(self, similarity: dict[str, float]):
        self.similarity = similarity

    def query_vectors(self, question: str) -> SimpleNamespace:
        return SimpleNamespace(dense=np.array([1.0, 0.0]))

    def passages(self, texts: list[str]) -> np.ndarray:
        scores = [self.similarity.get(t, 0.1) for t in texts]
        return np.array([[s, np.sqrt(1 - s * s)] for s in scores])


EPISODE = Episode(id="ep", title="Ep", chapters=[
    Chapter(0, 60, "One", "Alpha opens. Beta answers it. Gamma wanders off.", Quote("Quoted answer here.", 0)),
    Chapter(60, 120, "Two", "Delta drifts. Epsilon answers too."),
    Chapter(120, 180, "Three", "其他话题一。其他话题二。", language="zh"),
])


def fake_library(similarity: dict[str, float]) -> SimpleNamespace:
    return SimpleNamespace(episode=lambda episode_id: EPISODE, index=SimpleNamespace(embedder=GivenSimilarity(similarity)))


def hit(kind: str, start: int, text: str = "") -> Hit:
    chunk = Chunk(f"ep/{kind}/{start}", "ep", "Ep", kind, "", text, "en", start=start)
    return Hit(chunk, score=0.0, similarity=0.0, lexical=0.0)


def total(sources: list[Source]) -> int:
    return sum(count_tokens(render_source(s, PROMPTS)) for s in sources)


def test_the_most_relevant_sentences_of_several_chapters_are_kept_in_reading_order():
    library = fake_library({"Beta answers it.": 0.9, "Epsilon answers too.": 0.85, "Quoted answer here.": 0.8,
                            "Alpha opens.": 0.5})
    sources = pack("q", [hit("chapter", 0), hit("chapter", 60)], library, PROMPTS, count_tokens, budget=40)
    assert [(s.number, s.chapter.title, s.excerpt, s.quote) for s in sources] == [
        (1, "One", "Beta answers it.", "Quoted answer here."),  # not "Alpha opens.", the first sentence
        (2, "Two", "Epsilon answers too.", ""),
    ]
    assert total(sources) <= 40
    assert 'Quote: ""' not in render_source(sources[1], PROMPTS)  # no empty quote line


def test_a_bigger_budget_adds_sentences_in_their_chapters_reading_order():
    library = fake_library({"Gamma wanders off.": 0.9, "Alpha opens.": 0.8})
    sources = pack("q", [hit("chapter", 0)], library, PROMPTS, count_tokens, budget=400)
    assert sources[0].excerpt == "Alpha opens. Beta answers it. Gamma wanders off."


def test_a_transcript_segment_joins_its_chapter_and_cites_the_chapter_start():
    library = fake_library({"Zeta says the answer.": 0.95, "Epsilon answers too.": 0.85})
    hits = [hit("segment", 30, "Zeta says the answer. Eta chats."), hit("chapter", 60), hit("quote", 0)]
    sources = pack("q", hits, library, PROMPTS, count_tokens, budget=33)
    assert [(s.chapter.title, s.start) for s in sources] == [("One", 0), ("Two", 60)]
    assert "Zeta says the answer." in sources[0].excerpt


def test_a_sentence_does_not_win_by_sharing_the_questions_language():
    # e5 scores a Chinese question higher against every Chinese sentence than against the English one that
    # answers it; only the English sentence stands out from the others in its language.
    library = fake_library({"其他话题一。": 0.87, "其他话题二。": 0.86, "Beta answers it.": 0.84,
                            "Alpha opens.": 0.74, "Gamma wanders off.": 0.74, "Quoted answer here.": 0.74})
    sources = pack("为什么？", [hit("chapter", 120), hit("chapter", 0)], library, PROMPTS, count_tokens, budget=15)
    assert [(s.chapter.title, s.excerpt) for s in sources] == [("One", "Beta answers it.")]


def test_when_no_sentence_fits_the_most_relevant_one_is_cut_to_fit():
    long = "Theta " + "goes on and on " * 30 + "forever."
    episode = Episode(id="ep", title="Ep", chapters=[Chapter(0, 60, "One", long)])
    library = SimpleNamespace(episode=lambda _: episode, index=SimpleNamespace(embedder=GivenSimilarity({})))
    sources = pack("q", [hit("chapter", 0)], library, PROMPTS, count_tokens, budget=40)
    assert sources[0].excerpt.startswith("Theta goes on") and sources[0].excerpt.endswith("…")
    assert total(sources) <= 40


# -- e5 on the seed library -----------------------------------------------------------------------------


def test_a_chinese_question_gets_the_english_sentences_that_answer_it(seed_library: Library):
    question = "马拉比认为人工智能竞赛是不可避免的吗？"
    sources = pack(question, seed_library.search(question), seed_library, PROMPTS, count_tokens, budget=200)
    race = next(s for s in sources if s.chapter.title == "Was the AI Race Inevitable?")
    # Word overlap found nothing in common and kept only the chapter's first sentence ("Mallaby's verdict").
    assert "multiple labs" in race.text and len(race.excerpt.split(". ")) >= 2


@pytest.mark.parametrize("budget", [60, 120, 200, 400])
def test_the_sources_fit_the_budget_and_name_each_chapter_once(seed_library: Library, budget: int):
    question = "Why does Yann LeCun say LLMs are not a path to human-level intelligence?"
    sources = pack(question, seed_library.search(question), seed_library, PROMPTS, count_tokens, budget)
    assert sources and total(sources) <= budget
    assert [s.number for s in sources] == list(range(1, len(sources) + 1))
    assert len({(s.episode.id, s.start) for s in sources}) == len(sources)
    assert budget < 400 or len(sources) > 1
