"""The big benchmark libraries at a tiny size: distractor text that never restates the seeds, and a
build that, killed midway, continues without redoing the episodes it wrote (real Chroma, real vectors)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.measure.distractor_library import Pool, Shape, build, library_dir, open_bench_library, seed_episodes
from assistant.measure import distractors
from assistant.measure.distractors import _SENTENCE_END, read_pool, seed_sentences
from store.chunks import chunk_episode
from store.errors import UserError
from store.language import detect_language

SEEDS = Path(__file__).parent.parent / "seeds"
TINY = Shape(per_language=6, chapters=2, segments=3, templates=2, batch_rows=10)  # 2 episodes per batch


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def sentences() -> set[str]:
    return seed_sentences([c.text for e in seed_episodes(SEEDS) for c in chunk_episode(e)])


def test_the_pool_is_real_text_in_both_languages_that_holds_no_seed_sentence(sentences: set[str]):
    pool = read_pool(40, 40, sentences)

    assert {p.language for p in pool} == {"en", "zh"} and len(pool) == 80
    assert all(detect_language(p.text) == p.language for p in pool)
    assert not [s for s in sentences for p in pool if s in p.text]
    assert read_pool(40, 40, sentences)[:5] == pool[:5]  # the same pool on every run
    planted = next(s for s in _SENTENCE_END.split(pool[3].text) if len(s) >= 12)
    without = read_pool(40, 40, {planted})
    assert pool[3] not in without and not [p for p in without if planted in p.text]


def test_a_killed_build_continues_without_rewriting_what_it_wrote(tmp_path: Path, cache_dir: Path,
                                                                   sentences: set[str]):
    settings = dataclasses.replace(Settings.from_env(), cache_dir=cache_dir, seeds_dir=SEEDS)
    pool, _ = Pool.load(settings, lambda step: None, TINY)
    seed_chunks = sum(len(chunk_episode(e)) for e in seed_episodes(SEEDS))
    size = seed_chunks + 5 * TINY.chunks  # five distractor episodes: three batches

    def stop_after_a_batch(step: str) -> None:
        if step.startswith("distractors: 2 of"):
            raise Interrupted

    with pytest.raises(Interrupted):
        build(settings, tmp_path, size, pool, stop_after_a_batch)
    library = open_bench_library(settings, tmp_path, size)
    first = set(library.index.episodes_col.get(include=[])["ids"])
    assert len([i for i in first if i.startswith("distractor-")]) == 2
    before = library.index.chunk_collections["en"].get(where={"episode_id": "distractor-0000000"},
                                                       include=["embeddings"])
    del library

    report = build(settings, tmp_path, size, pool, lambda step: None)

    assert report["resume"]["episodes_done"] == 2 and report["distractors"]["episodes"] == 3
    assert report["seeds"]["episodes"] == 0  # seeded before the kill: not again
    assert report["chunks"] == size
    library = open_bench_library(settings, tmp_path, size)
    after = library.index.chunk_collections["en"].get(where={"episode_id": "distractor-0000000"},
                                                       include=["embeddings"])
    assert after["ids"] == before["ids"] and (after["embeddings"] == before["embeddings"]).all()
    chunks = list(library.retriever.snapshot().chunks)
    assert len(chunks) == size
    texts = {p.text for passages in pool.passages.values() for p in passages}
    distractor_chunks = [c for c in chunks if c.episode_id.startswith("distractor-")]
    assert {c.text for c in distractor_chunks} <= texts and len(distractor_chunks) == 5 * TINY.chunks
    assert not [s for s in sentences for c in distractor_chunks if s in c.text]
    assert library.search("Why did Yann LeCun leave Meta?")[0].chunk.episode_id == "yann-lecun-on-what-comes-after-llms"
    assert (library_dir(tmp_path, size) / "built.json").is_file()


def test_missing_distractor_text_is_one_line_naming_the_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(distractors, "ZH_MAN", tmp_path / "nothing")

    with pytest.raises(UserError, match=r"^the distractor text is not installed .*apt-get install -y python3-doc "
                                        r"manpages-zh$"):
        read_pool(1, 1, set())
