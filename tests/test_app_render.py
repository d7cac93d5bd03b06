"""The web app without a browser or a model: safety rules, the episode page, labels, the chat handler.

The browser tests (test_browser.py) drive the same app with the real model; these check what
must hold whatever the model says, in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import VENV_BIN, ScriptedLLM
from fastapi.testclient import TestClient

from assistant.answer import Assistant
from assistant.citations import Citation
from assistant.config import REPO, Settings
from assistant.context import Source
from assistant.prompts import Prompts
from assistant.web import html as ui
from assistant.web.app import UPLOAD_LIMIT_MB, App, Loader, _within_limit, create_server, credentials
from store.chunks import Chunk
from store.episode import Episode
from store.errors import ParseError, SettingsError
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
    assert re.findall(r'href="([^"]*)"', html) == ["/episode/evil-episode#t=0"]  # not the javascript: URL
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


# -- labels and uploads --------------------------------------------------------------------


def test_every_interface_label_exists_in_english_and_chinese(scripted_app: App):
    table = tomllib.loads((REPO / "prompts" / "messages.toml").read_text(encoding="utf-8"))
    assert {k for k in table["en"] if k.startswith("ui_")} == {k for k in table["zh"] if k.startswith("ui_")}
    scripted_app.build()
    english, chinese = scripted_app.relabel("en", None), scripted_app.relabel("zh", None)  # a missing key raises
    assert "问答" in str(chinese) and "Ask" in str(english)


def test_an_upload_over_the_limit_is_refused_before_parsing(tmp_path: Path):
    big = tmp_path / "big.srt"
    big.write_bytes(b"x" * (UPLOAD_LIMIT_MB * 2**20 + 1))
    with pytest.raises(ParseError, match=f"the limit is {UPLOAD_LIMIT_MB} MB"):
        _within_limit([big], LABELS)


# -- the chat handler ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def scripted_app(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> App:
    """The app's handlers over the seeds, with a scripted model that always gives the same answer."""
    settings = Settings.from_env(data_dir=tmp_path_factory.mktemp("seeded") / "data", cache_dir=cache_dir)
    library = Library(settings.data_dir, cache_dir, alias_files=[REPO / "seeds" / "aliases.toml"])
    library.ingest_if_empty(REPO / "seeds")
    loader = Loader(settings)
    loader.library = library
    # Two sentences the chapter supports (the claim gate shows nothing else, markup included), so one streams
    # before the answer ends.
    reply = "Yann says he had zero technical influence on Llama [1]. Two of the Llama 1 authors left to found Mistral [1]."
    loader.assistant = Assistant(settings, library=library, llm=ScriptedLLM(reply))
    loader.library_ready.set()
    loader.ready.set()
    return App(settings, loader)


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
    assert 'class="ld-chip" href="/episode/yann-lecun-on-what-comes-after-llms#t=' in chatbot[-1]["content"]
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
