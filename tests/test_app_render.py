"""The web app without a browser or a model: safety rules, the episode page, labels, the chat handler.

The browser tests (test_browser.py) drive the same app with the real model; these check what
must hold whatever the model says, in seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import select
import subprocess
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import VENV_BIN, ScriptedLLM, free_port, stop
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gradio_client import Client, handle_file
from test_app_api import text_of

from assistant.answer import Assistant
from assistant.citations import Citation
from assistant.config import REPO, Settings
from assistant.context import Source
from assistant.prompts import Prompts
from assistant.web import html as ui
from assistant.web.app import App, Loader, _added, _discard, _uploaded, create_server, credentials
from store.chunks import Chunk
from store.episode import Episode
from store.errors import ParseError, SettingsError
from store.formats import MAX_FILE_BYTES
from store.index import IngestResult
from store.library import Library
from store.retrieve import Hit

SCRIPT = "<script>alert(1)</script>"
LINK = "[x](javascript:alert(1))"
EVIL = {
    "id": "evil-episode",
    "title": f"Evil {SCRIPT} {LINK}",
    "show": "<img src=x onerror=alert(2)>",
    "duration": 600,
    "summary": f"Summary {LINK} <b>bold</b> ${{alert(3)}}",
    "url": "javascript:alert(4)",
    "chapters": [{"start": 0, "end": 300, "title": f"{SCRIPT}Intro", "body": f"World models {LINK}",
                  "quote": {"text": "<svg onload=alert(5)>", "start": 0}}],
    "tags": ["<b>tag</b>"],
}  # fmt: skip
CLOSED_PORT_URL = "http://127.0.0.1:9"  # no LLM there: the loader fails fast, the library still opens
PROMPTS = Prompts(REPO / "prompts")
LABELS = ui.Labels(PROMPTS, "en")


def evil_episode() -> Episode:
    return Episode.from_json(json.dumps(EVIL))


def evil_citation() -> Citation:
    return Citation(marker=1, episode_id=EVIL["id"], episode_title=EVIL["title"], title=SCRIPT, start="00:00",
                    start_seconds=0, url="javascript:alert(4)#t=0", quote=SCRIPT)  # fmt: skip


def assert_inert(html: str) -> None:
    """Nothing from the episode became markup: no script, no handler, no link but our own."""
    assert "<script" not in html.lower()
    assert not re.search(r"<(img|svg|b|iframe)\b", html)
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- safety --------------------------------------------------------------------------------


def test_serve_on_a_public_address_without_auth_exits_with_the_reason(make_env: Callable, tmp_path: Path):
    env = make_env(tmp_path / "data")
    result = subprocess.run([str(VENV_BIN / "laidub"), "serve", "--host", "0.0.0.0", "--port", "9"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode != 0
    assert "refusing to serve on 0.0.0.0 without a password" in result.stderr
    assert "--auth user:password" in result.stderr and "LAIDUB_AUTH" in result.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_serve_says_its_url_once_it_is_listening(make_env: Callable, tmp_path: Path, as_json: bool):
    port = free_port()
    env = make_env(tmp_path / "data", LAIDUB_LLM_URL=CLOSED_PORT_URL)
    command = [str(VENV_BIN / "laidub"), "serve", "--port", str(port), *(["--json"] if as_json else [])]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        readable, _, _ = select.select([process.stdout], [], [], 120)
        line = process.stdout.readline().strip() if readable else "(nothing within 120 s)"
        url = f"http://127.0.0.1:{port}"
        assert line == (json.dumps({"url": url}) if as_json else f"LaiDub Ask: {url}")
        assert httpx.get(url, timeout=10).status_code == 200, "it said so before it was listening"
    finally:
        stop(process)


@pytest.mark.parametrize("as_json", [False, True])
def test_serve_on_an_impossible_port_is_one_line_and_exit_2(cli: Callable, laidub_env: dict, as_json: bool):
    result = cli(laidub_env, "serve", "--port", "99999", *(["--json"] if as_json else []))
    assert result.returncode == 2
    message = "--port=99999: must be between 1 and 65535"
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == (json.dumps({"error": message}) + "\n" if as_json else "")


@pytest.mark.parametrize(
    ("host", "auth", "expected"),
    [("127.0.0.1", "", None), ("localhost", "", None), ("::1", "", None), ("0.0.0.0", "ann:secret", ("ann", "secret")),
     ("192.168.1.5", "ann:pa:ss", ("ann", "pa:ss"))],
)  # fmt: skip
def test_loopback_needs_no_login_and_any_host_may_have_one(host: str, auth: str, expected):
    assert credentials(Settings.from_env(host=host, auth=auth)) == expected


@pytest.mark.parametrize(("host", "auth"), [("0.0.0.0", ""), ("example.org", ""), ("127.0.0.1", "no-colon")])
def test_a_public_host_without_a_login_or_a_malformed_login_is_refused(host: str, auth: str):
    with pytest.raises(SettingsError, match="auth|password"):
        credentials(Settings.from_env(host=host, auth=auth))


def test_episode_text_renders_inert_in_the_library_and_the_sources():
    episode = evil_episode()
    chunk = Chunk(id="c", episode_id=episode.id, episode_title=episode.title, kind="chapter", title=SCRIPT,
                  text=LINK, language="en", start=0, end=300)  # fmt: skip
    source = Source(1, Hit(chunk, 1.0, 0.9, 1.0), episode, episode.chapters[0], f"{SCRIPT} {LINK}", SCRIPT)
    assert_inert(ui.library_html([episode], LABELS))
    assert_inert(ui.sources_html([source], [evil_citation()], LABELS))


def test_answers_render_inert_and_our_chips_are_the_only_links():
    html = ui.answer_html(f"He said {SCRIPT} and {LINK} [1].", [evil_citation()], refused=False)
    assert_inert(html)
    assert re.findall(r'href="([^"]*)"', html) == ["/episode/evil-episode?cited=0#t=0"]  # not the javascript: URL
    assert '<sup class="ld-marker">1</sup>' in html
    # One line: markdown never sees a blank line, so it leaves the whole HTML block alone.
    assert "\n" not in html and "\n" not in ui.streaming_html(f"a\n\n{LINK}\n\nb")


def test_a_web_address_for_the_episode_is_kept_on_its_chip():
    citation = evil_citation()
    citation.url = "https://example.org/episode?id=1#t=0"
    assert 'href="https://example.org/episode?id=1#t=0"' in ui.chip_html(citation)


# -- the episode page ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def evil_settings(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Settings:
    """A library holding only the evil episode, and no model: the pages need none."""
    data_dir = tmp_path_factory.mktemp("evil") / "data"
    path = data_dir.parent / "evil.json"
    path.write_text(json.dumps(EVIL), encoding="utf-8")
    Library(data_dir, cache_dir).ingest([path])
    return Settings.from_env(data_dir=data_dir, cache_dir=cache_dir, llm_url=CLOSED_PORT_URL, auth="",
                             host="127.0.0.1")  # fmt: skip


def test_the_episode_page_marks_chapters_for_the_time_and_runs_only_our_script(evil_settings: Settings):
    with TestClient(create_server(evil_settings)) as client:
        page = client.get("/episode/evil-episode")
        missing = client.get("/episode/no-such-episode")
    assert page.status_code == 200
    assert 'id="t0" data-start="0"' in page.text and "location.hash" in page.text
    body = page.text.split("<body>", 1)[1]
    assert body.lower().count("<script") == 1  # ours, allowed by its nonce
    assert_inert(body.replace(body[body.lower().index("<script"):], ""))
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page.text
    assert missing.status_code == 404 and "no-such-episode" in missing.text


def test_episode_pages_ask_for_the_login_when_there_is_one(evil_settings: Settings):
    settings = dataclasses.replace(evil_settings, auth="ann:secret")
    with TestClient(create_server(settings)) as client:
        assert client.get("/episode/evil-episode").status_code == 401
        assert client.get("/episode/evil-episode", auth=("ann", "wrong")).status_code == 401
        assert client.get("/episode/evil-episode", auth=("ann", "secret")).status_code == 200


@pytest.mark.parametrize("route", ["/monitoring/summary", "/openapi.json", "/gradio_api/openapi.json",
                                   "/gradio_api/info", "/config"])  # fmt: skip
def test_gradios_other_routes_are_closed_or_behind_the_login(evil_settings: Settings, route: str):
    settings = dataclasses.replace(evil_settings, auth="ann:secret")
    with TestClient(create_server(settings)) as client:
        assert client.get(route).status_code in (401, 403, 404)


# -- labels and uploads --------------------------------------------------------------------


def test_every_interface_label_exists_in_english_and_chinese(scripted_app: App):
    table = tomllib.loads((REPO / "prompts" / "messages.toml").read_text(encoding="utf-8"))
    assert {k for k in table["en"] if k.startswith("ui_")} == {k for k in table["zh"] if k.startswith("ui_")}
    scripted_app.build()
    english, chinese = scripted_app.relabel("en", None), scripted_app.relabel("zh", None)  # a missing key raises
    assert "问答" in str(chinese) and "Ask" in str(english)


def test_the_upload_limit_is_the_parsers_stated_and_enforced_before_storing(evil_settings: Settings):
    app = App(evil_settings, Loader(evil_settings))
    app.build()
    assert f"up to {MAX_FILE_BYTES >> 20} MB" in str(app.relabel("en", None))
    with TestClient(create_server(evil_settings)) as client:
        too_big = client.post("/gradio_api/upload", files={"files": ("big.srt", b"x" * (MAX_FILE_BYTES + 1))})
        just_right = client.post("/gradio_api/upload", files={"files": ("fits.srt", b"x" * MAX_FILE_BYTES)})
    assert too_big.status_code == 413 and just_right.status_code == 200
    assert not list((evil_settings.data_dir / "uploads").rglob("big.srt"))


def test_only_files_in_the_upload_folder_are_read_or_deleted(tmp_path: Path):
    """The app's own check behind Gradio's: a path elsewhere, or a link out of the folder, is never touched."""
    folder, outside = tmp_path / "uploads", tmp_path / "outside.json"
    (folder / "abc").mkdir(parents=True)
    outside.write_text("{}", encoding="utf-8")
    link = folder / "abc" / "link.json"
    link.symlink_to(outside)
    for path in (outside, link, folder / "abc" / "gone.json", folder / ".." / "outside.json"):
        with pytest.raises(ParseError, match="not a file uploaded through this page"):
            _uploaded([str(path)], folder, LABELS)
    _discard([str(outside), str(link)], folder)
    assert outside.read_text(encoding="utf-8") == "{}"
    uploaded = folder / "def" / "mine.json"
    uploaded.parent.mkdir()
    uploaded.write_text("{}", encoding="utf-8")
    assert _uploaded([str(uploaded)], folder, LABELS) == [uploaded]
    _discard([str(uploaded)], folder)
    assert not uploaded.parent.exists() and folder.is_dir()


def test_an_upload_that_got_a_new_id_says_which():
    renamed = IngestResult("x-2", "X", 3, 0, 0, 0, note="stored as x-2: 'x' is already 'X' (from a.json)")
    assert [_added(r) for r in (renamed, IngestResult("y", "Y", 3, 0, 0, 0))] == ["X [x-2]", "Y"]


# -- the chat handler ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def scripted_loader(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Loader:
    """The seeds, with a scripted model that always gives the same answer."""
    settings = Settings.from_env(data_dir=tmp_path_factory.mktemp("seeded") / "data", cache_dir=cache_dir)
    library = Library(settings.data_dir, cache_dir, alias_files=[REPO / "seeds" / "aliases.toml"])
    library.seed(REPO / "seeds")
    loader = Loader(settings)
    loader.library = library
    # Two sentences the chapter supports (the claim gate shows nothing else, markup included), so one streams
    # before the answer ends.
    reply = "Yann says he had zero technical influence on Llama [1]. Two of the Llama 1 authors left to found Mistral [1]."
    loader.assistant = Assistant(settings, library=library, llm=ScriptedLLM(reply))
    loader.library_ready.set()
    loader.ready.set()
    return loader


@pytest.fixture(scope="module")
def scripted_app(scripted_loader: Loader) -> App:
    """The app's handlers over the seeds and the scripted model."""
    return App(scripted_loader.settings, scripted_loader)


def run_answer(app: App, question: str, turns=(), people=(), compare=False, lang="en") -> list[tuple]:
    _, chatbot, pending = app.enqueue(question, [], lang)
    return list(app.answer(pending, chatbot, list(turns), [], list(people), "auto", compare, lang))


def final_bubble(outputs: list[tuple]) -> str:
    return outputs[-1][0][-1]["content"]


def test_an_answer_streams_then_ends_with_chips_sources_and_a_turn(scripted_app: App):
    outputs = run_answer(scripted_app, "Why did Yann LeCun leave Meta?")
    bubbles = [chatbot[-1]["content"] for chatbot, *_ in outputs]
    assert "ld-searching" in bubbles[0]
    assert any("ld-cursor" in b for b in bubbles[1:-1]), "the answer streams"
    chatbot, turns, sources, answer = outputs[-1]
    assert "<script" not in chatbot[-1]["content"].lower()
    assert 'class="ld-chip" href="/episode/yann-lecun-on-what-comes-after-llms?cited=3480#t=3480"' in chatbot[-1]["content"]
    assert "ld-cited" in sources and turns[-1].question == "Why did Yann LeCun leave Meta?"
    assert turns[-1].answer == answer.text


def test_a_question_queued_behind_another_says_it_is_waiting(scripted_app: App):
    question, chatbot, pending = scripted_app.enqueue("  Why did Yann leave?  ", [], "zh")
    assert question == "" and pending == "  Why did Yann leave?  "
    assert "ld-waiting" in chatbot[-1]["content"] and "排队中" in chatbot[-1]["content"]


def test_compare_mode_without_two_people_says_what_it_needs(scripted_app: App):
    outputs = run_answer(scripted_app, "What is a world model?", compare=True)
    assert "ld-error" in final_bubble(outputs) and "at least two people" in final_bubble(outputs)


def test_compare_mode_renders_a_table_row_per_chosen_person(scripted_app: App):
    outputs = run_answer(scripted_app, "world models", people=["Yann LeCun", "Oriol Vinyals"], compare=True)
    html = final_bubble(outputs)
    assert html.count("<tr>") == 3 and "Yann LeCun" in html and "Oriol Vinyals" in html
    assert "<script" not in html


def test_ask_about_a_chapter_fills_the_question_in_the_interface_language(scripted_app: App):
    class Click:  # what the library's button sends
        episode, start = "yann-lecun-on-what-comes-after-llms", "3480"

    question, _ = scripted_app.ask_about("zh", Click())
    assert question == "《Yann LeCun on What Comes After LLMs》中“Why Yann Left Meta”这一段讲了什么？"


# -- the queue -----------------------------------------------------------------------------


@contextlib.contextmanager
def serving(server: FastAPI) -> Iterator[str]:
    """The app on a free port, served from a thread of this process (so it can use a scripted model)."""
    uvicorn_server = uvicorn.Server(uvicorn.Config(server, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    while not uvicorn_server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{uvicorn_server.config.port}"
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


def test_an_answer_is_not_held_behind_an_ingest(scripted_loader: Loader, monkeypatch, tmp_path: Path):
    """An upload runs on a worker of its own: a question asked while one is being ingested is answered at once."""
    ingesting, release = threading.Event(), threading.Event()

    def slow_ingest(paths, episode_id=None, progress=None):  # an ingest that lasts until the test lets it end
        ingesting.set()
        release.wait(timeout=120)
        return []

    monkeypatch.setattr(scripted_loader.library, "ingest", slow_ingest)
    upload = tmp_path / "slow.json"
    upload.write_text(json.dumps(EVIL), encoding="utf-8")
    with serving(create_server(scripted_loader.settings, scripted_loader)) as url:
        uploader, asker = Client(url, verbose=False), Client(url, verbose=False)
        job = uploader.submit([handle_file(str(upload))], "", "en", api_name="/add_episodes")
        try:
            assert ingesting.wait(timeout=60), "the upload never reached the ingest"
            _, chatbot = asker.predict("Why did Yann LeCun leave Meta?", [], "en", api_name="/send")
            chatbot, *_ = asker.submit(chatbot, [], [], "auto", False, "en", api_name="/answer").result(timeout=60)
            assert "ld-chip" in text_of(chatbot[-1]) and not job.done()
        finally:
            release.set()
        job.result(timeout=60)


def test_the_chat_shows_a_waiting_questions_place_in_the_queue(scripted_app: App):
    config = scripted_app.build().get_config_file()
    chatbot = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "chatbot")
    (answer,) = [d for d in config["dependencies"] if d["api_name"] == "answer"]
    assert answer["show_progress"] != "hidden" and answer["show_progress_on"] == [chatbot]
