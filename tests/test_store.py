"""The store on both Chroma backends: ingesting the seeds, re-ingesting, editing, filtering, ranking."""

from __future__ import annotations

import dataclasses
import socket
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from store import dense as dense_module
from store import embedder
from store.chunks import chunk_episode
from store.dense import DenseIndex, quantize
from store.snapshot import Rows
from store.errors import UnknownFilter
from store.index import REVISION_SECONDS
from store.library import Library
from store.retrieve import CANDIDATES, dense_best
from conftest import vector_segment

SEED_PAGE = Path(__file__).parent.parent / "seeds" / "laidub-page.txt"

BIOGRAPHER = "a-conversation-with-demis-hassabis-biographer"
GEMINI = "gemini-co-lead-on-world-models-rls-next-domains-continual-learning"
LECUN = "yann-lecun-on-what-comes-after-llms"

SEED_CHUNKS = {
    (BIOGRAPHER, "summary"): 1, (BIOGRAPHER, "chapter"): 11, (BIOGRAPHER, "quote"): 11, (BIOGRAPHER, "entity"): 13,
    (GEMINI, "summary"): 1, (GEMINI, "chapter"): 17, (GEMINI, "quote"): 17, (GEMINI, "entity"): 10,
    (LECUN, "summary"): 1, (LECUN, "chapter"): 13, (LECUN, "quote"): 13, (LECUN, "entity"): 9,
}  # fmt: skip


@pytest.fixture
def seeded(library: Callable[[], Library]) -> Library:
    opened = library()
    opened.ingest([SEED_PAGE])
    return opened


def stored(library: Library) -> dict[str, tuple[str, str]]:
    """Every chunk in Chroma: id -> (digest, text)."""
    every = [c.get(include=["metadatas", "documents"]) for c in library.index.chunk_collections.values()]
    return {i: (m["digest"], text) for rows in every
            for i, m, text in zip(rows["ids"], rows["metadatas"], rows["documents"])}  # fmt: skip


def test_the_seed_page_gives_three_episodes_and_their_chunks(seeded: Library):
    assert [e.id for e in seeded.episodes()] == [BIOGRAPHER, GEMINI, LECUN]
    assert Counter((c.episode_id, c.kind) for c in seeded.retriever.snapshot().chunks) == SEED_CHUNKS


def test_ingesting_the_same_file_twice_changes_nothing(seeded: Library):
    before, revision = stored(seeded), seeded.index.revision()
    again = seeded.ingest([SEED_PAGE])
    assert [(r.added, r.updated, r.removed) for r in again] == [(0, 0, 0)] * 3
    assert seeded.index.revision() == revision  # readers keep their snapshots
    assert sum(r.unchanged for r in again) == len(before) == sum(SEED_CHUNKS.values())
    assert stored(seeded) == before


def test_reingesting_an_edited_episode_replaces_its_chunks(seeded: Library, tmp_path: Path):
    before = stored(seeded)
    episode = seeded.episode(LECUN)
    chapters = [dataclasses.replace(c) for c in episode.chapters]
    dropped = chapters.pop(5)  # "Silicon Valley Herd Behavior"; the chapter before now runs until the next one
    chapters[4].end = dropped.end
    chapters[5].body = "Rewritten: Tapestry trains sovereign models on a quokka dataset from Zanzibar."
    edited = dataclasses.replace(episode, chapters=chapters)
    path = tmp_path / "lecun.json"
    path.write_text(edited.to_json(), encoding="utf-8")

    [result] = seeded.ingest([path], replace=True)  # another file than the page the episode came from

    assert (result.added, result.updated, result.removed) == (0, 3, 2)  # chapters 4 (end), 4's quote, 6 (body)
    after = stored(seeded)
    expected = {c.id: (c.digest, c.text) for c in chunk_episode(edited)}
    assert {i: v for i, v in after.items() if i.startswith(f"{LECUN}/")} == expected
    assert {i: v for i, v in after.items() if not i.startswith(f"{LECUN}/")} == {
        i: v for i, v in before.items() if not i.startswith(f"{LECUN}/")
    }
    places = {i.split("#")[0] for i in after}
    assert f"{LECUN}/chapter/{dropped.start}" not in places and f"{LECUN}/quote/{dropped.start}" not in places
    top = seeded.search("quokka dataset from Zanzibar", k=1)[0]
    assert (top.chunk.place, top.chunk.text) == (f"{LECUN}/chapter/{chapters[5].start}", chapters[5].body)


def test_a_search_sees_what_another_writer_changed(seeded: Library, library: Callable[[], Library], tmp_path: Path):
    """Another Library on the same store (in production: another process) edits an episode, chunk count unchanged."""
    reader = library()
    question = "quokka dataset from Zanzibar"
    reader.search(question)  # loads the reader's snapshot before the edit
    episode = seeded.episode(LECUN)
    chapters = [dataclasses.replace(c) for c in episode.chapters]
    chapters[3].body = "Rewritten: Tapestry trains sovereign models on a quokka dataset from Zanzibar."
    path = tmp_path / "lecun.json"
    path.write_text(dataclasses.replace(episode, chapters=chapters).to_json(), encoding="utf-8")

    [result] = seeded.ingest([path], replace=True)
    time.sleep(REVISION_SECONDS)  # how late a reader may see another process's write

    assert (result.added, result.updated, result.removed) == (0, 1, 0)
    top = reader.search(question, k=1)[0]
    assert (top.chunk.place, top.chunk.text) == (f"{LECUN}/chapter/{chapters[3].start}", chapters[3].body)
    assert reader.episode(LECUN).chapters[3].body == chapters[3].body


def test_another_episode_with_the_same_id_gets_a_new_one(seeded: Library, tmp_path: Path):
    """A different episode whose title slugs to a seed's id must not replace it (it did: 13 chapters gone)."""
    before = stored(seeded)
    impostor = dataclasses.replace(seeded.episode(LECUN), title="Yann LeCun on What Comes After LLMs!",
                                   chapters=seeded.episode(LECUN).chapters[:2], summary="Another show entirely.")
    path = tmp_path / "other.json"
    path.write_text(impostor.to_json(), encoding="utf-8")

    [result] = seeded.ingest([path])

    assert result.episode_id == f"{LECUN}-2" and "--replace" in result.note and "laidub-page.txt" in result.note
    assert {i: v for i, v in stored(seeded).items() if not i.startswith(f"{LECUN}-2/")} == before
    assert len(seeded.episode(LECUN).chapters) == 13

    [again] = seeded.ingest([path])  # the same file again updates the episode it became
    assert again.episode_id == f"{LECUN}-2" and again.unchanged and not (again.added or again.updated)
    [forced] = seeded.ingest([path], replace=True)
    assert forced.episode_id == LECUN and forced.note.startswith("replaced")
    assert len(seeded.episode(LECUN).chapters) == 2


def test_two_files_with_one_id_in_one_call_both_stay(seeded: Library, tmp_path: Path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(dataclasses.replace(seeded.episode(GEMINI), id="x", title="X", summary="First").to_json(), "utf-8")
    second.write_text(dataclasses.replace(seeded.episode(GEMINI), id="x", title="X", summary="Second").to_json(), "utf-8")

    results = seeded.ingest([first, second])

    assert [r.episode_id for r in results] == ["x", "x-2"]
    assert (seeded.episode("x").summary, seeded.episode("x-2").summary) == ("First", "Second")


def test_remove_deletes_an_episode_and_only_it(seeded: Library):
    before = stored(seeded)
    removed = seeded.remove(GEMINI)
    assert removed == sum(n for (episode, _), n in SEED_CHUNKS.items() if episode == GEMINI)
    assert stored(seeded) == {i: v for i, v in before.items() if not i.startswith(f"{GEMINI}/")}
    assert GEMINI not in {h.chunk.episode_id for h in seeded.search("world models", k=20)}
    with pytest.raises(UnknownFilter, match="known episode ids"):
        seeded.remove(GEMINI)


def test_seeding_resumes_after_an_interrupted_first_run_and_then_never_again(library: Callable[[], Library], tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "laidub-page.txt").write_text(SEED_PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    first = library()
    first.ingest([SEED_PAGE])
    first.remove(GEMINI)  # as if the first run was killed after two of the three episodes

    assert {r.episode_id for r in first.seed(seeds) if r.changed} == {GEMINI}
    assert len(first.episodes()) == 3
    first.remove(GEMINI)  # the user's choice, once seeding has completed
    assert first.seed(seeds) == [] and len(library().episodes()) == 2


def test_a_killed_writers_chunks_are_invisible_and_repaired_on_open(seeded: Library, library: Callable[[], Library]):
    """What a process killed between its chunk writes and its episode record leaves behind."""
    episode = dataclasses.replace(seeded.episode(GEMINI), id="half", title="Half written")
    chunks = chunk_episode(episode)
    seeded.index._begin("half")
    seeded.index.chunk_collections["en"].add(
        ids=[c.id for c in chunks], documents=[c.text for c in chunks],
        embeddings=seeded.index.embedder.passages([c.embed_text for c in chunks]),
        metadatas=[{"episode_id": "half", "episode_title": episode.title, "kind": c.kind, "title": c.title,
                    "language": c.language, "start": c.start, "end": c.end, "digest": c.digest} for c in chunks],
    )  # fmt: skip
    seeded.index._new_revision()
    assert "half" not in {h.chunk.episode_id for h in seeded.search("world models", k=50)}

    seeded.index._set_state("write:half", {"pid": 2**22 + 1, "host": socket.gethostname(), "started": time.time()})
    reopened = library()  # the writer's pid is gone: its leftovers are deleted
    assert reopened.index._chunk_ids("half") == {}
    assert reopened.index.state_col.get(ids=["write:half"], include=[])["ids"] == []


def test_a_library_from_before_the_split_by_language_moves_its_chunks_once(seeded: Library,
                                                                            library: Callable[[], Library]):
    """Chunks used to share one collection; opening such a library moves them, and its search files stay current."""
    seeded.search("world models")  # writes the search files
    expected, revision = stored(seeded), seeded.index.revision()
    client = seeded.index._client
    name = seeded.index.episodes_col.name.removesuffix("-episodes")
    legacy = client.create_collection(f"{name}-chunks", embedding_function=seeded.index.embedder,
                                      metadata={"revision": revision})
    for collection in seeded.index.chunk_collections.values():
        rows = collection.get(include=["documents", "metadatas", "embeddings"])
        legacy.add(ids=rows["ids"], documents=rows["documents"], metadatas=rows["metadatas"],
                   embeddings=rows["embeddings"])
        client.delete_collection(collection.name)
    files = sorted(p.name for p in seeded.index.search.folder.iterdir())

    reopened = library()
    assert stored(reopened) == expected
    assert {c.language for c in reopened.retriever.snapshot().chunks} == {"en", "zh"}
    assert reopened.index.revision() == revision
    assert sorted(p.name for p in reopened.index.search.folder.iterdir()) == files  # not rebuilt
    assert name + "-chunks" not in [c.name for c in client.list_collections()]
    assert reopened.search("world models")[0].chunk.episode_id == GEMINI


@pytest.mark.parametrize(
    ("values", "admitted"),
    [
        ({"episodes": [GEMINI]}, lambda c: c.episode_id == GEMINI),
        ({"episodes": ["yann lecun on what comes after llms"]}, lambda c: c.episode_id == LECUN),
        ({"people": ["David Silver"]}, lambda c: "David Silver" in c.people),
        ({"people": ["杨立昆"]}, lambda c: "Yann LeCun" in c.people),
        ({"kinds": ["quote"]}, lambda c: c.kind == "quote"),
        ({"languages": ["zh"]}, lambda c: c.language == "zh"),
    ],
    ids=["episode-id", "episode-title", "person", "person-alias", "kind", "language"],
)
def test_filters_restrict_results(seeded: Library, values: dict, admitted: Callable):
    hits = seeded.search("What does reinforcement learning still need?", k=8, filters=seeded.filters(**values))
    assert hits
    assert all(admitted(h.chunk) for h in hits), [(h.chunk.id, h.chunk.people, h.chunk.language) for h in hits]


def test_an_alias_resolves_to_the_canonical_name(seeded: Library):
    assert seeded.filters(people=["杨立昆"]).people == ["Yann LeCun"]


def test_unknown_filters_list_the_valid_choices(seeded: Library):
    with pytest.raises(UnknownFilter, match="'no-such-episode'") as episode_error:
        seeded.filters(episodes=["no-such-episode"])
    assert all(i in str(episode_error.value) for i in (BIOGRAPHER, GEMINI, LECUN))
    with pytest.raises(UnknownFilter, match="'Nobody Atall'") as person_error:
        seeded.filters(people=["Nobody Atall"])
    assert all(name in str(person_error.value) for name in ("David Silver", "Oriol Vinyals", "Yann LeCun"))


def test_a_chinese_question_finds_the_english_chapter_first(seeded: Library):
    """The cross-lingual trap of DESIGN.md: e5 alone ranks another episode's Chinese chapters first."""
    top = seeded.search("杨立昆为什么离开Meta？", k=5)[0]
    assert (top.chunk.episode_id, top.chunk.start, top.chunk.title) == (LECUN, 3480, "Why Yann Left Meta")


def test_an_english_question_finds_the_chinese_chapter(seeded: Library):
    hits = seeded.search("How does Oriol define a world model?", k=3)
    assert (GEMINI, 471) in [h.anchor for h in hits]  # 07:51 "What Makes Omni a World Model", a Chinese body


def test_questions_asked_at_once_get_the_engines_own_vectors():
    """A question's dense and latent passes run side by side, and several questions may come at once."""
    questions = ["Why did Yann LeCun leave Meta?", "维尼亚尔斯如何定义世界模型？", "What does Demis Hassabis regret?",
                 "强化学习的下一个领域是什么？", "What is JEPA?", "持续学习和记忆有什么关系？"]  # fmt: skip
    engine = embedder.engine()
    expected = [(engine.query(q), engine.sparse(q, fmt="indices")) for q in questions]
    embedder.forget_queries()
    with ThreadPoolExecutor(len(questions)) as pool:
        asked = list(pool.map(embedder.E5Embedding().query_vectors, questions))
    for (dense, (indices, values)), vectors in zip(expected, asked):
        np.testing.assert_allclose(vectors.dense, dense, atol=1e-5)
        assert vectors.latent[0].tolist() == indices.tolist()
        np.testing.assert_allclose(vectors.latent[1], values, atol=1e-5)


def test_the_dense_shortlist_scores_like_an_exact_scan(tmp_path: Path):
    """int8 codes choose the shortlist, float32 orders it: the same scores as a float32 scan, even among near-ties,
    across segments quantized on different scales."""
    rng = np.random.default_rng(7)
    sources = rng.normal(size=(50, 384))
    copies = sources[rng.integers(len(sources), size=20_000)] + rng.normal(0, 0.04, (20_000, 384))  # ~400 per source
    vectors = (copies / np.linalg.norm(copies, axis=1, keepdims=True)).astype(np.float32)
    halves = [vector_segment(tmp_path / "a", vectors[:10_000]), vector_segment(tmp_path / "b", vectors[10_000:])]
    dense = DenseIndex(Rows(halves))
    admitted = rng.random(len(vectors)) < 0.5  # a filter, like a language
    for source in sources[:10]:
        question = (source + rng.normal(0, 0.5, 384)).astype(np.float32)
        question /= np.linalg.norm(question)
        approximate = dense.similarities(question)
        exact = vectors @ question
        assert 0 < np.abs(approximate - exact).max() < 0.005
        found = dense_best(dense, approximate, admitted, question)
        assert len(found) == CANDIDATES and admitted[found].all()
        np.testing.assert_allclose(exact[found], np.sort(exact[admitted])[::-1][:CANDIDATES], rtol=0, atol=1e-6)


def test_the_int8_scan_in_blocks_equals_one_product_per_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Blocks scanned on two threads land in their rows' places: a segment split in uneven blocks scores as the
    whole int8 product does, on each segment's own scale."""
    monkeypatch.setattr(dense_module, "BLOCK", 1000)
    rng = np.random.default_rng(9)
    vectors = rng.normal(size=(5_500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    segments = [vector_segment(tmp_path / "a", vectors[:3_700]), vector_segment(tmp_path / "b", vectors[3_700:] * 0.5)]
    question = vectors[42]
    codes, scale = quantize(question[None, :])
    expected = np.concatenate([(s.codes.astype(np.int64) @ codes[0].astype(np.int64)) / np.float32(s.scale * scale)
                               for s in segments]).astype(np.float32)  # fmt: skip
    np.testing.assert_allclose(DenseIndex(Rows(segments)).similarities(question), expected, rtol=1e-6)
