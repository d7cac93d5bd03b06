"""The web app through its API (gradio_client), on a real `laidub serve --fast` process.

The same events the page uses: `/send` shows the question and a "waiting" bubble, `/answer`
streams the answer (one at a time: its concurrency limit is 1), `/add_episodes` indexes files.
Each gradio_client Client is its own browser session, with its own conversation.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import VENV_BIN
from gradio_client import Client, handle_file
from gradio_client.utils import Status

from assistant.config import REPO
from store.episode import format_timestamp
from store.formats import load_file

pytestmark = pytest.mark.e2e  # the real fast model answers

START_SECONDS = 300
LECUN = "yann-lecun-on-what-comes-after-llms"
GEMINI = "gemini-co-lead-on-world-models-rls-next-domains-continual-learning"
ENGLISH = ("What does Yann LeCun think about LLMs?", LECUN)
CHINESE = ("维尼亚尔斯怎么看持续学习？", GEMINI)
SEED_EPISODES = {e.id: e for e in load_file(REPO / "seeds" / "laidub-page.txt")}
BAD_EPISODE = '{"id": "bad", "title": 5, "chapters": "nope"}'
CHIP = re.compile(r'<a class="ld-chip" href="/episode/([^"#?]+)(?:\?cited=[\d,]+)?#t=(\d+)"[^>]*>'
                  r'<span class="ld-chip-n">\d+</span>([^<]*)</a>')


@contextlib.contextmanager
def running_app(env: dict[str, str], log: Path) -> Iterator[tuple[str, float]]:
    """`laidub serve --fast` on a free port: yields its URL and the seconds it took to serve the page."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen([str(VENV_BIN / "laidub"), "serve", "--port", str(port), "--fast"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            _wait_until_served(url, process, log, started)
            yield url, time.monotonic() - started
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a stuck shutdown must not hang the test run
        process.kill()
        process.wait()


def _wait_until_served(url: str, process: subprocess.Popen, log: Path, started: float) -> None:
    while time.monotonic() - started < START_SECONDS:
        if process.poll() is not None:
            pytest.fail(f"laidub serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"laidub serve did not serve {url} within {START_SECONDS} s")


def chips(html: str) -> list[tuple[str, int, str]]:
    """(episode id, second, label) of every citation chip in an answer."""
    return [(episode, int(second), label) for episode, second, label in CHIP.findall(html)]


def assert_cites(html: str, episode_id: str) -> None:
    """The answer cites the expected episode, and every chip's #t= is a chapter start matching its label."""
    found = chips(html)
    assert found, f"no citation chips in {html}"
    assert episode_id in {episode for episode, _, _ in found}
    for episode, second, label in found:
        assert second in {c.start for c in SEED_EPISODES[episode].chapters}
        assert label.endswith(f" · {format_timestamp(second)}")


def text_of(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


@pytest.fixture(scope="module")
def app_url(make_env: Callable, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("api")
    with running_app(make_env(home / "data"), home / "serve.log") as (url, _):
        yield url


def client(url: str) -> Client:
    return Client(url, verbose=False, download_files=False)


def send(session: Client, question: str, chatbot=(), ui_lang: str = "en") -> list:
    """The question and its "waiting" bubble appended to the conversation."""
    cleared, chatbot = session.predict(question, list(chatbot), ui_lang, api_name="/send")
    assert cleared == ""
    return chatbot


def answer_job(session: Client, chatbot: list, episodes=(), people=(), compare=False, ui_lang="en"):
    return session.submit(chatbot, list(episodes), list(people), "auto", compare, ui_lang, api_name="/answer")


# -- tests ---------------------------------------------------------------------------------


def test_a_question_and_a_follow_up_are_answered_with_chips_to_the_chapter(app_url: str):
    session = client(app_url)
    question, episode = ENGLISH
    chatbot = send(session, question)
    assert "ld-waiting" in text_of(chatbot[-1])
    chatbot, sources = answer_job(session, chatbot).result()
    assert_cites(text_of(chatbot[-1]), episode)
    assert "ld-cited" in sources
    chatbot, _ = answer_job(session, send(session, "And what does he say about world models?", chatbot)).result()
    follow_up = text_of(chatbot[-1])
    assert {e for e, _, _ in chips(follow_up)} == {episode}, "the follow-up kept to the same guest"


def test_a_chinese_question_with_an_episode_filter(app_url: str):
    session = client(app_url)
    question, episode = CHINESE
    chatbot, _ = answer_job(session, send(session, question, ui_lang="zh"), episodes=[episode], ui_lang="zh").result()
    html = text_of(chatbot[-1])
    assert re.search(r"[\u4e00-\u9fff]", re.sub(r"<[^>]+>", "", html))
    assert {e for e, _, _ in chips(html)} == {episode}


def test_two_sessions_asking_at_once_queue_and_each_get_their_own_answer(app_url: str):
    sessions = [client(app_url), client(app_url)]
    questions = [ENGLISH, CHINESE]
    chatbots = [send(s, q) for s, (q, _) in zip(sessions, questions, strict=True)]
    jobs = [answer_job(s, c) for s, c in zip(sessions, chatbots, strict=True)]
    states = _watch(jobs)
    assert Status.IN_QUEUE in states[0] | states[1], "one question waited for the other"
    results = [job.result() for job in jobs]
    answers = [text_of(chatbot[-1]) for chatbot, _ in results]
    for (question, episode), (chatbot, _), html in zip(questions, results, answers, strict=True):
        assert_cites(html, episode)
        assert [text_of(m) for m in chatbot if m["role"] == "user"] == [f'<div class="ld-question">{question}</div>']
    assert answers[0] != answers[1]


def _watch(jobs: list) -> list[set[Status]]:
    """Every status each job passed through, sampled until all are done."""
    seen: list[set[Status]] = [set() for _ in jobs]
    while not all(job.done() for job in jobs):
        for job, states in zip(jobs, seen, strict=True):
            states.add(job.status().code)
        time.sleep(0.2)
    return seen


def test_a_bad_file_is_refused_with_the_parsers_error_and_adds_nothing(app_url: str, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text(BAD_EPISODE, encoding="utf-8")
    result, *_ = client(app_url).predict([handle_file(str(bad))], "", "en", api_name="/add_episodes")
    assert "Nothing was added" in result and "bad.json: field title" in result
    assert httpx.get(f"{app_url}/episode/bad").status_code == 404
