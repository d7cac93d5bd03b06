"""Ranking on a Chroma server (store/server_ranking.py): the client-side scoring on its own, then search against a
real `chroma run` compared with the embedded search files on the same seed episodes."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import bm25s
import numpy as np
import pytest

from store.chunks import Chunk
from store.index import REVISION_SECONDS
from store.language import has_cjk
from store.lexical import expand, tokenize
from store import server_ranking
from store.library import Library
from store.retrieve import Filters
from store.server_ranking import (ServerRanking, admits, bm25_idf, bm25_score, fulltext_clause, fulltext_tokens,
                                  pooled_idf, prescore, server_where)
from conftest import SEEDS

SEED_PAGE = SEEDS / "laidub-page.txt"
LECUN = "yann-lecun-on-what-comes-after-llms"
GEMINI = "gemini-co-lead-on-world-models-rls-next-domains-continual-learning"
TEXTS = [
    "Yann LeCun left Meta to start a world model company",
    "world models and planning for robots, world models again",
    "memory and continual learning in language models",
    "the AI race and its regrets, according to the biographer",
    "Meta research lab, video prediction and JEPA",
    "杨立昆 认为 大语言模型 不是 通往 人类 水平 智能 的 道路",
]


# -- the scoring done in the client ----------------------------------------------------


def test_bm25_from_document_frequencies_equals_bm25s():
    """With exact document frequencies and average length, a row's score is bm25s' (the search files' BM25)."""
    terms = [tokenize(text) for text in TEXTS]
    reference = bm25s.BM25()
    reference.index(terms, show_progress=False)
    average = float(np.mean([len(t) for t in terms]))
    for query in ("What is a world model?", "Why did LeCun leave Meta?", "杨立昆怎么看大语言模型？", "robot video"):
        tokens = expand(tokenize(query))
        idf = {t: bm25_idf(len(TEXTS), sum(t in set(row) for row in terms)) for t in tokens}
        ours = [bm25_score(row, tokens, idf, average) for row in terms]
        np.testing.assert_allclose(ours, reference.get_scores(tokens), rtol=1e-5, atol=1e-6)


def test_prescore_prefers_rows_holding_the_rare_tokens():
    holding = {("en", "world"): ["a", "b", "c", "d"], ("en", "jepa"): ["d"], ("zh", "杨立昆"): ["z"]}
    idf = {"world": bm25_idf(1000, 400), "jepa": bm25_idf(1000, 3), "杨立昆": bm25_idf(1000, 5)}
    best = prescore(holding, idf, 3)
    assert best["en"][0] == "d" and best["zh"] == ["z"] and sum(map(len, best.values())) == 3


def test_tokens_not_asked_of_the_server_weigh_by_their_share_of_the_candidates():
    pool = [["world", "model"], ["world"], ["memory"], ["world", "meta"]]
    idf = pooled_idf(pool, ["world", "meta", "quokka"], 1000)
    assert idf["quokka"] == bm25_idf(1000, 0) > idf["meta"] == bm25_idf(1000, 250) > idf["world"] == bm25_idf(1000, 750)


def test_fulltext_asks_whole_words_and_glosses_chinese_stays_literal():
    assert fulltext_clause("杨立昆") == {"$contains": "杨立昆"}
    assert fulltext_clause("regret") == {"$regex": r"(?i)\bregret"}
    assert fulltext_clause("c++") == {"$regex": r"(?i)\bc\+\+"}
    # The words, not jieba's search-mode parts of them (人工, 智能), then their English glosses (which glosses
    # depends on the glossaries loaded).
    tokens = fulltext_tokens("人工智能竞赛是不可避免的吗？")
    assert tokens[:3] == ["人工智能", "竞赛", "不可避免"] and "人工" not in tokens and "智能" not in tokens
    assert tokens[3:] and not any(has_cjk(t) for t in tokens[3:])


def test_filters_become_a_where_only_when_given():
    assert server_where(Filters()) is None and server_where(Filters(languages=["zh"])) is None
    assert server_where(Filters(episodes=[LECUN])) == {"episode_id": {"$in": [LECUN]}}
    assert server_where(Filters(kinds=["quote"], people=["Yann LeCun", "Oriol Vinyals"])) == {"$and": [
        {"kind": {"$in": ["quote"]}},
        {"$or": [{"people": {"$contains": "Yann LeCun"}}, {"people": {"$contains": "Oriol Vinyals"}}]}]}
    chunk = Chunk(id="x", episode_id=LECUN, episode_title="", kind="entity", title="", text="", language="en",
                  people=["Yann LeCun"])
    assert not admits(Filters(), chunk)  # the default kinds are checked here, never sent
    assert admits(Filters(kinds=["entity"], people=["Yann LeCun"]), chunk)
    assert not admits(Filters(kinds=["entity"], episodes=[GEMINI]), chunk)


# -- against `chroma run` ---------------------------------------------------------------

QUESTIONS = [
    "Why did Yann LeCun leave Meta?",
    "What does Demis Hassabis regret?",
    "How does the JEPA architecture work?",
    "杨立昆为什么离开Meta？",  # a Chinese question about English chapters
    "哈萨比斯最后悔的是什么？",
    "Oriol 认为后训练阶段的强化学习现在处于什么状态？",
]


@pytest.fixture(scope="module")
def on_server(chroma_server: str, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Library:
    data_dir = tmp_path_factory.mktemp("server-client") / "data"
    library = Library(data_dir, cache_dir, chroma_url=chroma_server, collection=f"rank-{uuid.uuid4().hex[:8]}",
                      alias_files=[SEEDS / "aliases.toml"], glossary_files=[SEEDS / "glossary.toml"])
    library.seed(SEEDS)
    return library


def _top(hits) -> tuple[str, int]:
    return hits[0].anchor


@pytest.mark.server
def test_the_server_finds_the_chapter_the_search_files_find(on_server: Library, seed_library: Library):
    """The same top chapter, but for a question the embedded latent terms decide (the server has none): there
    the embedded top chapter is the server's second ("What does Demis Hassabis regret?")."""
    same = 0
    for question in QUESTIONS:
        served = [h.anchor for h in on_server.search(question, k=3)]
        embedded = _top(seed_library.search(question, k=3))
        assert embedded in served[:2], question
        same += served[0] == embedded
    assert same >= len(QUESTIONS) - 1


@pytest.mark.server
def test_the_client_keeps_no_copy_of_the_library(on_server: Library, seed_library: Library):
    data_dir = on_server.media_dir.parent
    on_server.search("What is a world model?")
    assert on_server.index.search is None and not (data_dir / "search").exists()
    assert seed_library.index.search is not None  # the embedded one does have its files


@pytest.mark.server
def test_filters_hold_on_the_server(on_server: Library, seed_library: Library):
    cases = [
        ("What is a world model?", on_server.filters(episodes=[GEMINI])),
        ("world models", on_server.filters(people=["Yann LeCun"])),
        ("Why did Yann LeCun leave Meta?", on_server.filters(kinds=["quote"])),
        ("世界模型", on_server.filters(languages=["zh"])),
    ]
    for question, filters in cases:
        served = on_server.search(question, k=5, filters=filters)
        assert served, question
        for hit in served:
            assert admits(filters, hit.chunk), (question, hit.chunk.id)
        assert _top(served) == _top(seed_library.search(question, k=5, filters=filters)), question
    assert all(h.chunk.kind in ("chapter", "quote", "segment") for h in on_server.search("LeCun", k=20))


@pytest.mark.server
def test_an_episode_ingested_is_found_by_the_next_search(chroma_server: str, library: Callable[[], Library],
                                                         tmp_path: Path):
    reader = library()
    reader.ingest([SEED_PAGE])
    question = "quokka dataset from Zanzibar"
    writer = library()  # another client of the same server
    episode = writer.episode(LECUN)
    chapters = [dataclasses.replace(c) for c in episode.chapters]
    chapters[4].body = "Tapestry trains sovereign models on a quokka dataset from Zanzibar."
    path = tmp_path / "lecun.json"
    path.write_text(dataclasses.replace(episode, id="lecun-again", title="LeCun again", chapters=chapters).to_json(),
                    encoding="utf-8")
    writer.ingest([path])
    time.sleep(REVISION_SECONDS)

    top = reader.search(question, k=1)[0]
    assert (top.chunk.episode_id, top.chunk.text) == ("lecun-again", chapters[4].body)


@pytest.mark.server
def test_chunks_no_record_lists_are_never_found(on_server: Library):
    """What a killed writer left (chunks written, record not): the server may rank them, the client drops them."""
    collection = on_server.index.chunk_collections["en"]
    text = "Axolotl telemetry from the Okavango delta, a chunk its episode's record never listed."
    vector = on_server.index.embedder.passages([text])
    metadata = {"episode_id": LECUN, "episode_title": "x", "show": "", "kind": "chapter", "title": "Axolotl",
                "language": "en", "start": 7, "end": 8, "digest": "0", "terms": " ".join(tokenize(text))}
    collection.upsert(ids=[f"{LECUN}/chapter/7#orphan"], embeddings=vector, documents=[text], metadatas=[metadata])
    try:
        assert all(h.chunk.start != 7 for h in on_server.search("Axolotl telemetry Okavango delta", k=10))
    finally:
        collection.delete(ids=[f"{LECUN}/chapter/7#orphan"])


@pytest.mark.server
@pytest.mark.parametrize("token", ["regret", "jepa", "meta", "世界模型"])
def test_the_servers_full_text_finds_every_chunk_holding_a_token(on_server: Library, token: str):
    """Every chunk whose text BM25 sees the token in, the full-text clause finds, whatever the case; little else.
    (The server's full text reads the text only: a word only in a chunk's title it cannot find.)"""
    held = 0
    for collection in on_server.index.chunk_collections.values():
        rows = collection.get(include=["documents"])
        holding = {i for i, text in zip(rows["ids"], rows["documents"]) if token in tokenize(text)}
        found = set(collection.get(where_document=fulltext_clause(token), include=[])["ids"])
        assert holding <= found, (collection.name, holding - found)
        assert len(found) <= 2 * len(holding) + 2, (collection.name, len(found), len(holding))
        held += len(holding)
    assert held > 0


@pytest.mark.server
def test_full_text_brings_a_chunk_the_dense_neighbours_miss(library: Callable[[], Library], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    lib = library()
    lib.ingest([SEED_PAGE])
    episode = lib.episode(LECUN)
    chapters = [dataclasses.replace(c) for c in episode.chapters]
    chapters[2].body = "A recipe for a spiced fish stew from Zanzibar, slow cooked with coconut and cloves."
    path = tmp_path / "stew.json"
    path.write_text(dataclasses.replace(episode, id="stew", title="Stew", chapters=chapters).to_json(), encoding="utf-8")
    lib.ingest([path])
    monkeypatch.setattr(server_ranking, "DENSE_FETCH", 5)  # so few neighbours that the stew is not among them
    question = "How do world models plan, and what about Zanzibar?"

    def found(words: int) -> set[str]:
        ranking = ServerRanking(lib.index, fulltext_words=words)
        candidates = ranking(question, Filters(), set())
        return {candidates.chunk(i).text for ranked in candidates.lists for i in ranked}

    assert chapters[2].body not in found(0)
    assert chapters[2].body in found(3)
