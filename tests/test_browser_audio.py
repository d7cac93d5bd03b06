"""Playing the cited moment, in a real headless Chromium: a chip starts the episode's audio at the cited second,
and on the episode page a transcript line seeks there. The audio is real speech the test makes (espeak-ng, sox)
in the library's media dir; the server needs no model (LAIDUB_LLM_URL points at a closed port)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import VENV_BIN
from playwright.sync_api import Browser, Page
from test_app_api import running_app
from test_browser import browser  # noqa: F401 - the fixture: Debian's Chromium, headless

from assistant.citations import Citation
from assistant.web import html as ui
from assistant.web.media import Media

pytestmark = pytest.mark.browser

CITED = 30  # seconds into the episode: the second chapter
SPEECH = "Welcome to the show. Today we talk about pasta. Later we talk about the stars and the planets."
PLAYING = """([low, high]) => { const a = document.querySelector(arguments_selector);
  return a && !a.paused && a.currentTime >= low && a.currentTime <= high; }"""


def make_audio(path: Path) -> None:
    """A minute of WAV: espeak-ng's speech, then silence (sox), so any second up to 60 can be played."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.fail("espeak-ng and sox are needed: apt-get install espeak-ng sox")
    speech = path.with_name("speech.wav")
    subprocess.run(["espeak-ng", "-w", str(speech), SPEECH], check=True, capture_output=True)
    subprocess.run(["sox", str(speech), "-r", "16000", "-c", "1", str(path), "pad", "0", "60"], check=True)
    speech.unlink()


@pytest.fixture(scope="module")
def audio_app(make_env: Callable, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("audio")
    data, seeds = home / "data", home / "seeds"
    seeds.mkdir()  # no demo episodes: only the audio one
    (data / "media").mkdir(parents=True)
    audio = data / "media" / "talk.wav"
    make_audio(audio)
    episode = {
        "id": "talk", "title": "A Talk <b>with audio</b>", "duration": 90, "media_url": audio.as_uri(),
        "media_type": "audio/wav",
        "chapters": [{"start": 0, "end": CITED, "title": "Pasta", "body": "Cooking pasta.", "generated": True},
                     {"start": CITED, "end": 90, "title": "Stars", "body": "The planets."}],
        "transcript": [{"start": 0, "end": 4, "text": "Welcome to the show.", "speaker": "Ann"},
                       {"start": 45, "end": 50, "text": "The planets.", "speaker": "Bo"}],
    }  # fmt: skip
    path = home / "talk.json"
    path.write_text(json.dumps(episode), encoding="utf-8")
    env = make_env(data, LAIDUB_SEEDS_DIR=str(seeds), LAIDUB_LLM_URL="http://127.0.0.1:9")
    ingested = subprocess.run([str(VENV_BIN / "laidub"), "ingest", str(path), "--no-chapters"], env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr
    with running_app(env, home / "serve.log") as (url, _):
        yield url, audio


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def playing(page: Page, selector: str, second: float) -> None:
    """Waits until the audio element plays within a second of `second`."""
    page.wait_for_function(PLAYING.replace("arguments_selector", json.dumps(selector)), arg=[second - 1, second + 1],
                           timeout=30_000)


def test_a_citation_chip_plays_the_audio_from_the_cited_second(audio_app: tuple[str, Path], page: Page):
    url, audio = audio_app
    page.goto(url)
    page.wait_for_selector("#player .ld-player", state="attached")
    citation = Citation(marker=1, episode_id="talk", episode_title="A Talk <b>with audio</b>", title="Stars",
                        start="00:30", start_seconds=CITED, url=f"/episode/talk#t={CITED}", quote="",
                        media=f"{audio.as_uri()}#t={CITED}")  # fmt: skip
    # The answer's HTML as the chat shows it (the model would only choose what it cites).
    answer = ui.answer_html("We talk about the stars [1].", [citation], refused=False, media=Media(audio.parent))
    page.evaluate("html => { const d = document.createElement('div'); d.innerHTML = html; "
                  "document.querySelector('#chatbot').appendChild(d); }", answer)  # fmt: skip
    pages = len(page.context.pages)
    page.click("a.ld-chip.ld-playable")
    playing(page, "#player audio", CITED)
    assert len(page.context.pages) == pages  # played here, no new tab
    assert page.inner_text("#player .ld-player-title") == "A Talk <b>with audio</b> · 00:30"
    page.click("a.ld-chip.ld-playable")  # again: back to the cited second, same source
    playing(page, "#player audio", CITED)


def test_on_the_episode_page_a_transcript_line_seeks_and_the_cited_moment_is_marked(audio_app, page: Page):
    url, _ = audio_app
    page.goto(f"{url}/episode/talk?cited={CITED}#t={CITED}")
    assert page.locator(f'.timeline .tl-mark[data-start="{CITED}"]').count() == 1
    assert page.locator("section.current").get_attribute("data-start") == str(CITED)
    assert page.locator(".tl-chapter.auto").count() == 1
    page.click('.transcript li[data-start="45"] a.line-time')
    playing(page, "#player", 45)
    assert page.locator(".transcript li.current").get_attribute("data-start") == "45"
    assert page.locator(".speaker").all_inner_texts() == ["Ann", "Bo"]
