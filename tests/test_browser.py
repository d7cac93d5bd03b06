"""The web app in a real headless Chromium, with the real fast model: what a listener sees and clicks.

Uses Debian's /usr/bin/chromium (.ci/run installs it), never a downloaded browser. Screenshots
and the measured timings go to tests/artifacts/ (gitignored). Tests run in file order on one
server; the last one adds an episode, so everything before it sees the seeds only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from test_app_api import BAD_EPISODE, CHINESE, ENGLISH, GEMINI, LECUN, SEED_EPISODES, running_app

from store.episode import format_timestamp

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(__file__).parent / "artifacts"
WAIT_MS = 300_000  # an answer on a busy 2-core machine
COMPARE_QUESTION = "How do Yann LeCun and Oriol Vinyals see world models?"
EVIL_EPISODE = {
    "id": "evil-episode", "title": "Evil <script>alert(1)</script>", "duration": 600,
    "summary": "See [x](javascript:alert(2)) <img src=x onerror=alert(3)>",
    "chapters": [{"start": 0, "end": 600, "title": "<script>alert(4)</script>Intro",
                  "body": "[y](javascript:alert(5))"}],
}  # fmt: skip


@dataclass
class Session:
    page: Page
    dialogs: list[str] = field(default_factory=list)  # any alert() that ran: there must be none
    timings: dict[str, float] = field(default_factory=dict)
    status_seen: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(make_env: Callable, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, float]]:
    """A first run: a fresh data dir, so the seeds are indexed while the page is already up."""
    home = tmp_path_factory.mktemp("browser")
    started = time.monotonic()
    with running_app(make_env(home / "data"), home / "serve.log") as (url, _):
        yield url, started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def session(browser: Browser, server: tuple[str, float]) -> Iterator[Session]:
    url, started = server
    ARTIFACTS.mkdir(exist_ok=True)
    current = open_session(browser, url)
    current.page.wait_for_selector("#question textarea")
    current.timings["page_usable_s"] = time.monotonic() - started
    while current.page.is_visible("#status"):
        current.status_seen.append(current.page.inner_text("#status"))
        time.sleep(0.25)
    current.timings["ready_s"] = time.monotonic() - started
    yield current
    (ARTIFACTS / "timings.json").write_text(json.dumps(current.timings, indent=2) + "\n")


def open_session(browser: Browser, url: str) -> Session:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US").new_page()
    page.set_default_timeout(WAIT_MS)
    current = Session(page)
    page.on("dialog", lambda dialog: (current.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    return current


# -- helpers -------------------------------------------------------------------------------


def ask(page: Page, question: str) -> tuple[Locator, float]:
    """Ask; returns the answer's bubble, finished, and the seconds until its first words showed."""
    asked = page.locator("#chatbot .ld-question").count()
    page.fill("#question textarea", question)
    started = time.monotonic()
    page.click("#send")
    page.locator("#chatbot .ld-question").nth(asked).wait_for()
    bubble = page.locator("#chatbot .bot-row").last
    bubble.locator(".ld-answer").wait_for()
    first_words = time.monotonic() - started
    bubble.locator(".ld-answer:not(:has(.ld-cursor))").wait_for()
    return bubble, first_words


def chips(bubble: Locator) -> list[tuple[str, int, str]]:
    """(episode id, second, label) of each citation chip in a bubble."""
    found = []
    for chip in bubble.locator("a.ld-chip").all():
        # the chip's own second, after the moments the answer cites in that episode (its page marks them)
        episode, second = re.fullmatch(r"/episode/([^#?]+)\?cited=[\d,]+#t=(\d+)", chip.get_attribute("href")).groups()
        found.append((episode, int(second), chip.inner_text().strip()))
    return found


def assert_cites(bubble: Locator, episode_id: str) -> list[tuple[str, int, str]]:
    found = chips(bubble)
    assert episode_id in {episode for episode, _, _ in found}, bubble.inner_html()
    for episode, second, label in found:
        assert second in {c.start for c in SEED_EPISODES[episode].chapters}
        assert label.endswith(f"· {format_timestamp(second)}")
    return found


def set_interface(page: Page, language: str) -> None:
    page.click(f"#ui-language label:has-text('{'中文' if language == 'zh' else 'English'}')")
    expect(page.locator("#send")).to_have_text("提问" if language == "zh" else "Ask")


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def upload(page: Page, path: Path) -> str:
    open_tab(page, "Add episodes")
    page.set_input_files("#upload-files input[type=file]", str(path))
    page.locator("#upload-files").get_by_text(path.stem).wait_for()
    result = page.locator("#upload-result .ld-notice")
    before = result.inner_text() if result.count() else ""
    page.click("#upload-button")
    expect(result).not_to_have_text(before or "\0")
    expect(page.locator("#upload-files")).not_to_contain_text(path.stem)  # the upload is deleted, the box emptied
    return result.inner_text()


def library_summary(page: Page) -> str:
    open_tab(page, "Library")
    return page.inner_text("#library .ld-library-summary")


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


# -- tests ---------------------------------------------------------------------------------


def test_the_page_is_up_at_once_and_shows_start_up_progress(session: Session):
    # Whatever was still loading when the page came up was reported, never a frozen page.
    phases = ("Starting", "Indexing the demo episodes", "Assembling the language model", "Loading the language model")
    assert all(text.startswith(phases) for text in session.status_seen), session.status_seen
    open_tab(session.page, "Library")
    assert session.page.locator("#library .ld-episode").count() == len(SEED_EPISODES)
    open_tab(session.page, "Ask")


def test_an_english_answer_streams_and_its_chip_opens_the_chapter(session: Session):
    page = session.page
    question, episode = ENGLISH
    bubble, session.timings["first_token_en_s"] = ask(page, question)
    (_, second, _), *_ = [c for c in assert_cites(bubble, episode) if c[0] == episode]
    cited = page.locator("#sources .ld-source.ld-cited .ld-time")
    assert format_timestamp(second) in cited.all_inner_texts()
    shot(page, "chat-en")
    with page.expect_popup() as popup:
        bubble.locator(f'a.ld-chip[href$="#t={second}"]').first.click()
    episode_page = popup.value
    episode_page.locator("section.current").wait_for()
    assert re.search(rf"/episode/{episode}\?cited=[\d,]*\b{second}\b[\d,]*#t={second}$", episode_page.url)
    assert episode_page.locator(f'.timeline .tl-mark[data-start="{second}"]').count() == 1
    assert episode_page.locator("section.current").get_attribute("data-start") == str(second)
    shot(episode_page, "episode-page")
    episode_page.close()


def test_a_chinese_answer_with_the_interface_in_chinese(session: Session):
    page = session.page
    set_interface(page, "zh")
    assert page.get_by_role("tab", name="节目库").is_visible()
    question, episode = CHINESE
    bubble, session.timings["first_token_zh_s"] = ask(page, question)
    assert re.search(r"[\u4e00-\u9fff]", bubble.locator(".ld-answer > div").first.inner_text())
    assert_cites(bubble, episode)
    assert page.locator("#sources .ld-badge").first.inner_text().startswith("已引用")
    shot(page, "chat-zh")
    set_interface(page, "en")


def test_compare_mode_renders_the_comparison_table(session: Session):
    page = session.page
    page.click("#clear")
    page.check("#compare input")
    bubble, _ = ask(page, COMPARE_QUESTION)
    rows = bubble.locator("table.ld-compare tbody tr")
    assert rows.count() == 2
    assert [row.locator("td").first.inner_text() for row in rows.all()] == ["Yann LeCun", "Oriol Vinyals"]
    for link in bubble.locator("table.ld-compare a.ld-chip").all():
        assert re.fullmatch(rf"/episode/({LECUN}|{GEMINI})#t=\d+", link.get_attribute("href"))
    shot(page, "compare")
    page.uncheck("#compare input")


def test_ask_about_a_chapter_fills_the_chat(session: Session):
    page = session.page
    open_tab(page, "Library")
    first = page.locator("#library .ld-episode").first
    first.locator("summary").click()
    chapter = first.locator(".ld-chapters li").nth(1)
    title = chapter.locator(".ld-chapter-title").inner_text()
    shot(page, "library")
    chapter.locator(".ld-ask").click()
    expect(page.get_by_role("tab", name="Ask")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#question textarea")).to_have_value(re.compile(re.escape(title)))
    page.fill("#question textarea", "")


def test_an_example_question_fills_the_chat(session: Session):
    page = session.page
    page.locator("#examples").get_by_text("杨立昆为什么离开Meta？").click()
    expect(page.locator("#question textarea")).to_have_value("杨立昆为什么离开Meta？")
    page.fill("#question textarea", "")


def test_a_bad_file_shows_the_parsers_error_and_changes_nothing(session: Session, tmp_path: Path):
    page = session.page
    before = library_summary(page)
    bad = tmp_path / "bad.json"
    bad.write_text(BAD_EPISODE, encoding="utf-8")
    result = upload(page, bad)
    assert "Nothing was added" in result and "bad.json: field title" in result, result
    shot(page, "upload-error")
    assert library_summary(page) == before


def test_two_sessions_asking_at_once_both_get_their_own_answer(session: Session, browser: Browser):
    first, second = session.page, open_session(browser, session.page.url).page
    second.locator("#status").wait_for(state="hidden")
    for page, (question, _) in ((first, ENGLISH), (second, CHINESE)):
        open_tab(page, "Ask")
        page.click("#clear")
        page.fill("#question textarea", question)
    first.click("#send")
    second.click("#send")
    second.locator("#chatbot .ld-waiting").wait_for()  # the UI says it is queued, and where
    expect(second.locator("#chatbot .progress-text")).to_contain_text(re.compile(r"queue: 1/\d+"))
    shot(second, "waiting")
    for page, (question, episode) in ((first, ENGLISH), (second, CHINESE)):
        bubble = page.locator("#chatbot .bot-row").last
        bubble.locator(".ld-answer:not(:has(.ld-cursor))").wait_for()
        assert_cites(bubble, episode)
        assert page.locator("#chatbot .ld-question").all_inner_texts() == [question]
    second.context.close()


def test_an_episode_with_script_and_links_renders_inert(session: Session, tmp_path: Path):
    page = session.page
    evil = tmp_path / "evil.json"
    evil.write_text(json.dumps(EVIL_EPISODE), encoding="utf-8")
    assert "Added to the library" in upload(page, evil)
    open_tab(page, "Library")
    card = page.locator("#library .ld-episode", has_text="Evil <script>alert(1)</script>")
    card.locator("summary").click()
    assert "[y](javascript:alert(5))" in card.inner_text()
    assert card.locator("script, img, a[href^='javascript']").count() == 0
    page.goto(page.url.split("#")[0].rstrip("/") + "/episode/evil-episode#t=30")
    assert page.locator("section.current h2").inner_text().endswith("<script>alert(4)</script>Intro")
    assert session.dialogs == []
