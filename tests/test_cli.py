"""The `laidub` command as scripts use it: the JSON contract of DESIGN.md, and bad input.

The commands run in process (click's CliRunner), except the first-run seeding and one bad file,
which run the installed `laidub` binary.

Bad input must name the file (or value) and the problem, exit with 2, and leave the index
exactly as it was, so each such test compares every chunk id, digest and episode document
before and after.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from store.formats import load_file
from store.index import connect
from store.language import LANGUAGES

SEED_PAGE = Path(__file__).parent.parent / "seeds" / "laidub-page.txt"
EVAL_SET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
LECUN = "yann-lecun-on-what-comes-after-llms"
SEED_IDS = ["a-conversation-with-demis-hassabis-biographer",
            "gemini-co-lead-on-world-models-rls-next-domains-continual-learning", LECUN]  # fmt: skip
HIT_KEYS = {"rank", "episode_id", "episode_title", "kind", "title", "start", "start_seconds", "end_seconds", "text",
            "score"}  # fmt: skip
BROKEN_SRT = "1\n00:00:01,000 --> 00:00:04,000\nHello\n\n2\n00:00:05,000 --> 00:0x:09,000\nWorld\n"

Run = Callable[..., subprocess.CompletedProcess[str]]  # the `cli` (in process) and `laidub` (binary) fixtures


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, make_env: Callable, laidub: Run) -> Path:
    """A data dir indexed once by the CLI's own first-run ingest of the seeds; tests work on copies."""
    data = tmp_path_factory.mktemp("seeded") / "data"
    result = laidub(make_env(data), "episodes", "--json")
    assert result.returncode == 0, result.stderr
    return data


@pytest.fixture
def seeded_env(seeded_template: Path, data_dir: Path, laidub_env: dict[str, str]) -> dict[str, str]:
    shutil.copytree(seeded_template, data_dir)
    return laidub_env


def run_json(laidub: Run, env: dict[str, str], *args: str) -> tuple[int, dict, str]:
    """(exit code, the one JSON object on stdout, stderr)."""
    result = laidub(env, *args, "--json")
    try:
        payload = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"laidub {' '.join(args)} exited {result.returncode} without one JSON object:\n"
                    f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result.returncode, payload, result.stderr


def index_state(data_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Every chunk id with its digest, and every episode document, as Chroma has them on disk now."""
    client = connect(data_dir)  # reads see what the CLI wrote from its own process (the batch test checks)
    chunks = [client.get_collection(f"laidub-chunks-{lang}").get(include=["metadatas"]) for lang in LANGUAGES]
    episodes = client.get_collection("laidub-episodes").get(include=["documents"])
    return {
        "chunks": sorted((i, m["digest"]) for rows in chunks for i, m in zip(rows["ids"], rows["metadatas"])),
        "episodes": sorted(zip(episodes["ids"], episodes["documents"])),
    }


def lecun_json(**changes: object) -> str:
    episode = json.loads(load_file(SEED_PAGE)[2].to_json())
    return json.dumps(episode | changes, ensure_ascii=False)


# -- the JSON contract -------------------------------------------------------------------


def test_search_json_matches_the_contract(seeded_env: dict[str, str], cli: Run):
    code, payload, _ = run_json(cli, seeded_env, "search", "杨立昆为什么离开Meta？", "--k", "3")
    assert code == 0
    assert set(payload) == {"query", "results", "timings_ms"}
    assert payload["query"] == "杨立昆为什么离开Meta？"
    assert [set(r) for r in payload["results"]] == [HIT_KEYS] * 3
    assert [r["rank"] for r in payload["results"]] == [1, 2, 3]
    top = payload["results"][0]
    assert (top["episode_id"], top["kind"], top["title"]) == (LECUN, "chapter", "Why Yann Left Meta")
    assert (top["start"], top["start_seconds"], top["end_seconds"]) == ("58:00", 3480, 3626)
    assert set(payload["timings_ms"]) == {"total"} and payload["timings_ms"]["total"] > 0


def test_episodes_json(seeded_env: dict[str, str], cli: Run):
    code, payload, _ = run_json(cli, seeded_env, "episodes")
    assert code == 0
    assert sorted(e["id"] for e in payload["episodes"]) == SEED_IDS
    lecun = next(e for e in payload["episodes"] if e["id"] == LECUN)
    assert (lecun["title"], lecun["chapters"], lecun["duration"]) == ("Yann LeCun on What Comes After LLMs", 13,
                                                                       "1:21:56")  # fmt: skip


def test_people_json(seeded_env: dict[str, str], cli: Run):
    code, payload, _ = run_json(cli, seeded_env, "people")
    assert code == 0
    people = {p["name"]: p for p in payload["people"]}
    assert "杨立昆" in people["Yann LeCun"]["aliases"]
    assert people["Yann LeCun"]["episodes"][LECUN] == "guest"


def test_eval_reports_retrieval_by_language(seeded_env: dict[str, str], cli: Run):
    if not EVAL_SET.exists():
        pytest.skip(f"no eval set at {EVAL_SET} (shared/ is expected beside the repo)")
    code, payload, _ = run_json(cli, seeded_env, "eval", str(EVAL_SET), "--retrieval-only")
    assert code == 0
    for language in ("all", "en", "zh"):
        metrics = payload["retrieval"][language]
        assert metrics["questions"] > 0
        assert 0 <= metrics["recall@5"] <= 1 and 0 <= metrics["mrr"] <= 1


# -- bad input -----------------------------------------------------------------------------


def malformed_page(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("Hello\nthis is not a LaiDub page\n", encoding="utf-8")
    return path


def truncated_page(tmp: Path) -> Path:
    """Cut inside the second episode: the first one alone would parse."""
    text = SEED_PAGE.read_text(encoding="utf-8")
    path = tmp / "truncated.txt"
    path.write_text(text[: text.index("## [10:04]")], encoding="utf-8")
    return path


def wrong_field_type(tmp: Path) -> Path:
    path = tmp / "lecun.json"
    path.write_text(lecun_json(duration="1:21:56"), encoding="utf-8")
    return path


def broken_srt(tmp: Path) -> Path:
    path = tmp / f"{LECUN}.srt"
    path.write_text(BROKEN_SRT, encoding="utf-8")
    return path


def not_utf8(tmp: Path) -> Path:
    path = tmp / "gbk.txt"
    path.write_bytes("杨立昆谈世界模型\n56:10\n".encode("gbk"))
    return path


BAD_FILES = {
    "malformed-page": (malformed_page, "no episode found"),
    "truncated-page": (truncated_page, "the page looks truncated"),
    "wrong-field-type": (wrong_field_type, "field duration: expected an integer, got '1:21:56'"),
    "broken-srt-timestamps": (broken_srt, "cue 2 (line 6): bad timestamp"),
    "not-utf8": (not_utf8, "not UTF-8 text"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_named_and_changes_nothing(
    case: str, seeded_env: dict[str, str], data_dir: Path, tmp_path: Path, cli: Run
):
    make, problem = BAD_FILES[case]
    path = make(tmp_path)
    before = index_state(data_dir)
    code, payload, stderr = run_json(cli, seeded_env, "ingest", str(path))
    assert code == 2
    assert payload["error"].startswith(f"{path}: ") and problem in payload["error"], payload["error"]
    assert f"Error: {payload['error']}" in stderr
    assert index_state(data_dir) == before


def test_an_unknown_episode_filter_lists_the_known_ones(seeded_env: dict[str, str], data_dir: Path, cli: Run):
    before = index_state(data_dir)
    code, payload, _ = run_json(cli, seeded_env, "search", "world models", "--episode", "no-such-episode")
    assert code == 2
    assert "unknown episode 'no-such-episode'" in payload["error"]
    assert all(i in payload["error"] for i in SEED_IDS)
    assert index_state(data_dir) == before


@pytest.mark.parametrize(("question", "problem"), [("", "the question is empty"), ("  \t ", "the question is empty"),
                                                  ("x" * 1001, "the limit is 1000 (LAIDUB_MAX_QUESTION_CHARS)")])
def test_search_holds_questions_to_the_rules_ask_does(seeded_env: dict[str, str], cli: Run, question: str,
                                                      problem: str):
    code, payload, stderr = run_json(cli, seeded_env, "search", question)
    assert code == 2 and problem in payload["error"] and stderr == f"Error: {payload['error']}\n"


@pytest.mark.parametrize("k", ["0", "-1", "101", "100000000"])
def test_search_k_must_be_between_1_and_100(seeded_env: dict[str, str], cli: Run, k: str):
    code, payload, stderr = run_json(cli, seeded_env, "search", "world models", "--k", k)
    assert code == 2 and payload == {"error": f"Invalid value for '--k': {k} is not in the range 1<=x<=100."}
    assert "Traceback" not in stderr


def test_a_usage_error_with_json_is_one_json_object(seeded_env: dict[str, str], cli: Run, tmp_path: Path):
    code, payload, _ = run_json(cli, seeded_env, "eval", str(tmp_path))  # a directory, not a question file
    assert code == 2 and "is a directory" in payload["error"]
    code, payload, _ = run_json(cli, seeded_env, "search")
    assert code == 2 and payload == {"error": "Missing argument 'QUESTION'."}


@pytest.mark.parametrize("command", [["ask", "world models"], ["compare", "world models", "--person", "LeCun"]])
def test_an_unknown_person_is_the_same_error_for_ask_and_compare(seeded_env: dict[str, str], cli: Run,
                                                                 command: list[str]):
    code, payload, _ = run_json(cli, seeded_env, *command, "--person", "Nobody")
    assert code == 2 and payload["error"].startswith("unknown person 'Nobody'; known people: ")


EVAL_GOOD = {"id": "q1", "question": "Why did Yann LeCun leave Meta?", "lang": "en", "type": "single",
             "gold": [{"episode": "Yann LeCun on What Comes After LLMs", "start": "58:00"}]}
BAD_EVAL_LINES = {
    "no-lang": ({k: v for k, v in EVAL_GOOD.items() if k != "lang"}, '"lang" must be one of en, zh, got None'),
    "a-list": ([EVAL_GOOD], "expected a JSON object, got list"),
    "gold-without-episode": (EVAL_GOOD | {"gold": [{"start": "58:00"}]}, "each gold entry must be"),
    "gold-not-a-list": (EVAL_GOOD | {"gold": "58:00"}, '"gold" must be a list'),
    "bad-start": (EVAL_GOOD | {"gold": [{"episode": "Yann LeCun on What Comes After LLMs", "start": "5:61"}]},
                  "gold not a timestamp: '5:61'"),
    "unknown-type": (EVAL_GOOD | {"type": "trivia"}, '"type" must be one of single, compare, unanswerable'),
    "not-json": ("{\"id\": ", "not valid JSON"),
    "too-deep": ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
}


@pytest.mark.parametrize("case", BAD_EVAL_LINES)
def test_a_bad_eval_line_is_named_by_its_number(seeded_env: dict[str, str], cli: Run, tmp_path: Path, case: str):
    row, problem = BAD_EVAL_LINES[case]
    path = tmp_path / "questions.jsonl"
    lines = [json.dumps(EVAL_GOOD), "", row if isinstance(row, str) else json.dumps(row)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, payload, _ = run_json(cli, seeded_env, "eval", str(path), "--retrieval-only")
    assert code == 2 and payload["error"].startswith(f"{path}:3: ") and problem in payload["error"], payload
    text = cli(seeded_env, "eval", str(path), "--retrieval-only")
    assert text.returncode == 2 and text.stdout == "" and text.stderr == f"Error: {payload['error']}\n"


def test_bench_checks_its_question_file_before_it_runs(laidub_env: dict[str, str], cli: Run, tmp_path: Path):
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps([EVAL_GOOD]) + "\n", encoding="utf-8")
    code, payload, stderr = run_json(cli, laidub_env, "bench", "--questions", str(path))
    assert code == 2 and payload == {"error": f"{path}:1: expected a JSON object, got list"}
    assert "bench:" not in stderr  # failed before any benchmark step


def test_a_batch_with_one_bad_file_writes_nothing(
    seeded_env: dict[str, str], data_dir: Path, tmp_path: Path, cli: Run
):
    good = tmp_path / "good.json"
    good.write_text(lecun_json(summary="An edited summary that must not reach the index."), encoding="utf-8")
    bad = tmp_path / "bad.srt"
    bad.write_text(BROKEN_SRT, encoding="utf-8")
    before = index_state(data_dir)

    code, payload, _ = run_json(cli, seeded_env, "ingest", str(good), str(bad), "--replace")
    assert code == 2
    assert payload["error"].startswith(f"{bad}: ") and "bad timestamp" in payload["error"]
    assert index_state(data_dir) == before

    # The control: good.json alone is written, so the comparison above can see a write.
    code, payload, _ = run_json(cli, seeded_env, "ingest", str(good), "--replace")
    assert code == 0 and payload["ingested"][0]["updated"] == 1
    assert index_state(data_dir) != before


def test_search_on_an_empty_index_says_how_to_fill_it(make_env: Callable, data_dir: Path, tmp_path: Path, cli: Run):
    no_seeds = tmp_path / "no-seeds"
    no_seeds.mkdir()
    code, payload, _ = run_json(cli, make_env(data_dir, LAIDUB_SEEDS_DIR=str(no_seeds)), "search", "x")
    assert code == 2
    assert payload == {"error": "no episodes indexed; run `laidub ingest PATH` to add some"}


def test_the_installed_command_keeps_the_contract_for_a_bad_file(
    seeded_env: dict[str, str], data_dir: Path, tmp_path: Path, laidub: Run
):
    """The tests above run the CLI in process; this one runs the installed `laidub`, as scripts do."""
    path = not_utf8(tmp_path)
    before = index_state(data_dir)
    code, payload, stderr = run_json(laidub, seeded_env, "ingest", str(path))
    assert code == 2 and payload["error"].startswith(f"{path}: not UTF-8 text")
    assert stderr.strip() == f"Error: {payload['error']}"  # one line, no traceback
    assert index_state(data_dir) == before


def test_a_colliding_episode_gets_a_new_id_and_the_cli_says_so(
    seeded_env: dict[str, str], data_dir: Path, tmp_path: Path, cli: Run
):
    other = tmp_path / "other.json"
    other.write_text(lecun_json(title="Yann LeCun on What Comes After LLMs!", id=LECUN, chapters=[]), encoding="utf-8")
    before = index_state(data_dir)

    result = cli(seeded_env, "ingest", str(other))

    assert result.returncode == 0
    assert f"[{LECUN}-2]" in result.stdout and "pass --replace" in result.stdout
    assert [c for c in index_state(data_dir)["chunks"] if not c[0].startswith(f"{LECUN}-2/")] == before["chunks"]


def test_remove_takes_an_episode_out_and_names_unknown_ones(seeded_env: dict[str, str], cli: Run):
    code, payload, _ = run_json(cli, seeded_env, "remove", LECUN)
    assert code == 0 and payload["removed"]["episode_id"] == LECUN and payload["removed"]["chunks"] == 36
    code, payload, _ = run_json(cli, seeded_env, "episodes")
    assert LECUN not in {e["id"] for e in payload["episodes"]}
    code, payload, _ = run_json(cli, seeded_env, "remove", LECUN)
    assert code == 2 and payload["error"].startswith(f"unknown episode {LECUN!r}")


def test_a_data_dir_that_is_a_file_is_one_clear_line(make_env: Callable, tmp_path: Path, laidub: Run):
    file = tmp_path / "not-a-dir"
    file.write_text("x", encoding="utf-8")
    code, payload, stderr = run_json(laidub, make_env(file), "episodes")
    assert code == 2 and payload["error"].startswith(f"LAIDUB_DATA_DIR={file} cannot hold the library")
    assert stderr.strip() == f"Error: {payload['error']}"


class _StreamingAssistant:
    """What `laidub ask` prints is decided by the CLI: an Assistant stand-in with a fixed stream."""

    def __init__(self, parts: list):
        self.parts = parts
        self.library = type("Library", (), {"filters": lambda self, *args: None})()

    def stream(self, question, lang, filters):
        yield from self.parts


def test_a_streamed_answer_is_printed_once_then_its_citations(cli: Run, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path):
    import assistant.answer
    from assistant.citations import Citation
    from assistant.results import Answer

    citation = Citation(1, "lecun", "Yann LeCun on What Comes After LLMs", "Why Yann Left Meta", "58:00", 3480, "",
                        "quote")
    text = "Yann left Meta to pursue world models [1]."
    answered = Answer("Why?", "en", text, refused=False, citations=[citation])
    env = {"LAIDUB_DATA_DIR": str(tmp_path)}
    monkeypatch.setattr(assistant.answer, "Assistant", lambda settings: _StreamingAssistant([text, answered]))
    shown = cli(env, "ask", "Why did Yann LeCun leave Meta?").stdout
    assert shown.count("world models") == 1 and "[1] Yann LeCun on What Comes After LLMs · 58:00" in shown

    refusal = Answer("Why?", "en", "The episodes do not say.", refused=True)
    monkeypatch.setattr(assistant.answer, "Assistant", lambda settings: _StreamingAssistant([refusal]))
    assert cli(env, "ask", "What is Demis's favourite pub?").stdout.strip() == "The episodes do not say."
