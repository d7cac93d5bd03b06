"""`laidub bench` at a tiny size: the report's shape, and that it leaves nothing behind (no timing asserts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

SEED_PAGE = Path(__file__).parent.parent / "seeds" / "laidub-page.txt"
INGEST_KEYS = {"chunks", "ingest_s", "first_search_s", "chunks_per_s"}
CORPUS_KEYS = {"synthetic", "chunks", "episodes", "generate_s", "index_s", "index_chunks_per_s", "snapshot_load_s",
               "index_open_s", "ingest_one_s", "ingest_one_visible", "search_after_ingest_s", "segments",
               "search_ms", "query_embedding_ms", "peak_rss_mb", "dense_exact_share",
               "latent_top_overlap"}  # fmt: skip


def test_bench_reports_seeds_and_a_synthetic_corpus(make_env: Callable, data_dir: Path, tmp_path: Path, laidub):
    seeds = tmp_path / "seeds"  # the first episode only: the cold ingest embeds everything from scratch
    seeds.mkdir()
    page = SEED_PAGE.read_text(encoding="utf-8")
    (seeds / "page.txt").write_text(page[: page.index("Gemini Co-Lead on World Models")], encoding="utf-8")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = make_env(data_dir, LAIDUB_SEEDS_DIR=str(seeds), TMPDIR=str(temp))

    result = laidub(env, "bench", "--sizes", "200", "--queries", "5", "--no-answers", "--json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"machine", "seeds", "synthetic", "queries"} and report["queries"] == 5
    assert set(report["seeds"]) == {"model_load_s", "cold", "warm", "peak_rss_mb"}
    assert set(report["seeds"]["cold"]) == set(report["seeds"]["warm"]) == INGEST_KEYS
    assert report["seeds"]["cold"]["chunks"] == report["seeds"]["warm"]["chunks"] > 0
    [corpus] = report["synthetic"]
    assert set(corpus) == CORPUS_KEYS
    assert corpus["synthetic"] is True and corpus["chunks"] >= 200
    assert corpus["ingest_one_visible"] is True, "the episode ingested after the index was open is not found"
    assert set(corpus["search_ms"]) == set(corpus["query_embedding_ms"]) == {"p50", "p95"}
    assert not list(temp.glob("laidub-bench-*")) and not data_dir.exists()  # all in a temporary dir, deleted


@pytest.mark.e2e
def test_bench_times_answers_with_the_real_model(make_env: Callable, data_dir: Path, tmp_path: Path, laidub):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"question": "Why did Yann LeCun leave Meta?"}\n{"question": "杨立昆为什么说OpenAI是下一个Sun Microsystems？"}\n',
        encoding="utf-8",
    )
    env = make_env(data_dir, LAIDUB_FAST="1")

    result = laidub(env, "bench", "--sizes", "100", "--queries", "2", "--questions", str(questions), "--json")

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)["answers"]
    assert answers["questions"] == 2 and "0.5b" in answers["model"]
    for run in ("with_prefix_reuse", "without_prefix_reuse"):
        assert set(answers[run]["first_token"]) == {"p50", "p95"}
    assert set(answers["compare"]["total"]) == set(answers["cold_ask"]["first_token_s"]) == {"p50", "p95"}
    assert all(value > 0 for value in answers["headline"].values()), answers["headline"]
    raw = answers["raw_llama_cpp"]
    assert raw["ours"]["tokens_per_s"] > 0 and raw["raw"]["tokens_per_s"] > 0 and raw["overhead_pct"] is not None
