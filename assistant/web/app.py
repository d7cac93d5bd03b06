"""The web app behind `laidub serve`: chat with cited answers, the library, adding episodes.

The page is served at once; the library and the model load in a background thread (`Loader`)
and a status bar polls their progress, so a first run shows seed indexing and model assembly
instead of a frozen page. One model answers one question at a time: the generating event has
a concurrency limit of 1, and a question that has to wait shows its place in the queue.
Uploads are ingested by a worker of their own, one at a time, so an upload never holds an answer.

Citation chips link to `/episode/ID#t=SECONDS`, a plain page served beside the Gradio app; for an
episode with audio a chip plays it from the cited second in the chat's player, and the page has the
audio, a chapter timeline with the cited moments and the transcript. Local audio is served only from
the library's media dir (media.py).

Uploads are the one way in for a client's files: Gradio keeps them in a private folder under
the data dir (GRADIO_TEMP_DIR), an event naming any other file is refused, and each upload is
deleted once it has been ingested or refused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from assistant.answer import Assistant
from assistant.chaptering import Chapterer, ingest_with_chapters, split_note
from assistant.config import Settings
from assistant.followup import Turn
from assistant.library import open_library
from assistant.llm.gguf import resolve_model
from assistant.prompts import Prompts
from assistant.results import Answer, Comparison
from assistant.web import html as ui
from assistant.web.media import Media, add_media_route
from store.embedder import in_background
from store.errors import LLMError, ParseError, SettingsError, UserError
from store.formats import MAX_FILE_BYTES, SUFFIXES
from store.language import LANGUAGES
from store.index import IngestResult
from store.library import Library

log = logging.getLogger(__name__)

# The parser's own limit, so the page states it and the upload route refuses a bigger file before storing it.
UPLOAD_LIMIT = MAX_FILE_BYTES
POLL_SECONDS = 0.5
MAX_CITED = 20  # moments an episode page marks: more than an answer cites; the query is the visitor's to write
INTERFACE_LANGUAGES = [("English", "en"), ("中文", "zh")]
EXAMPLES = 3  # ui_example_1..3 in each language
# Gradio runs each concurrency group's events on its own workers. One model on two cores: one answer at a
# time. Ingests write the index: one at a time too, but beside the answers, never in front of them.
ANSWERS, INGESTS = "answers", "ingests"
# Events that only redraw the page: instant, without a progress overlay. Gradio 6.31 ignores
# show_progress="hidden" unless show_progress_on is given, hence the empty list.
QUIET = dict(queue=False, show_progress="hidden", show_progress_on=[])
PAGE_ONLY = dict(QUIET, api_name=False)

# System fonts only: the default theme would fetch web fonts, and the app runs offline.
THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["system-ui", "-apple-system", "Segoe UI", "PingFang SC", "Microsoft YaHei", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)

# The library is one HTML block; its "Ask about this" buttons report which chapter they belong to.
ASK_ABOUT_JS = """
element.addEventListener("click", (event) => {
  const button = event.target.closest(".ld-ask");
  if (button) trigger("click", {episode: button.dataset.episode, start: button.dataset.start});
});
"""


class Loader:
    """Opens the library, then the model, in a background thread, keeping a progress report for the page."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.library: Library | None = None
        self.assistant: Assistant | None = None
        self.error = ""
        self.library_ready = threading.Event()  # set once the library is open (or failed to open)
        self.ready = threading.Event()  # set once the assistant can answer (or failed to start)
        self._step: tuple[str, dict, float | None] = ("status_starting", {}, None)  # ui key, values, fraction

    def start(self) -> Loader:
        threading.Thread(target=self._load, name="laidub-loader", daemon=True).start()
        return self

    def message(self, labels: ui.Labels) -> str:
        key, values, _ = self._step
        return labels("status_failed", error=self.error) if self.error else labels(key, **values)

    def status_html(self, labels: ui.Labels) -> str:
        return ui.status_html(self.message(labels), None if self.error else self._step[2], failed=bool(self.error))

    def _load(self) -> None:
        try:
            self.library = open_library(self.settings, progress=self._library_progress)
            self.library_ready.set()
            if not self.settings.llm_url:
                resolve_model(self.settings, progress=self._model_progress)
            self._step = ("status_loading", {}, None)
            assistant = Assistant(self.settings, library=self.library)
            assistant.llm  # noqa: B018 - load and warm the model now, not on the first question
            self.assistant = assistant
        except Exception as err:  # a failure in this thread must reach the page, not vanish
            log.exception("the assistant could not start")
            self.error = str(err)
        finally:
            self.library_ready.set()
            self.ready.set()

    def _library_progress(self, done: int, total: int, label: str) -> None:
        self._step = ("status_library", {"done": min(done + 1, total), "total": total, "label": label}, done / total)

    def _model_progress(self, done: int, total: int) -> None:
        self._step = ("status_model", {"done": done >> 20, "total": total >> 20}, done / total)


class Words:
    """Components whose words follow the interface language: built in English, relabelled on each switch."""

    def __init__(self, prompts: Prompts):
        self.prompts = prompts
        self.bound: list[tuple[gr.components.Component, dict]] = []

    def __call__(self, factory, words: dict, **kwargs):
        """factory(**kwargs), with each prop in `words` (prop -> ui key, or a function of the labels) filled in."""
        component = factory(**self._props(ui.Labels(self.prompts, "en"), words), **kwargs)
        self.bound.append((component, words))
        return component

    @property
    def components(self) -> list:
        return [component for component, _ in self.bound]

    def updates(self, labels: ui.Labels) -> list:
        return [gr.update(**self._props(labels, words)) for _, words in self.bound]

    @staticmethod
    def _props(labels: ui.Labels, words: dict) -> dict:
        return {prop: labels(key) if isinstance(key, str) else key(labels) for prop, key in words.items()}


class App:
    """The Gradio Blocks and their event handlers, around one Loader shared by every session."""

    def __init__(self, settings: Settings, loader: Loader):
        self.settings = settings
        self.loader = loader
        self.uploads = upload_folder(settings)
        self.media = Media(media_folder(settings))
        self.prompts = Prompts(settings.prompts_dir)
        self.words = Words(self.prompts)

    def labels(self, language: str) -> ui.Labels:
        return ui.Labels(self.prompts, language)

    # -- layout --------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        english, words = self.labels("en"), self.words
        with gr.Blocks(title=english("title"), analytics_enabled=False) as demo:
            with gr.Row(equal_height=True):
                header = gr.HTML(ui.header_html(english))
                ui_lang = words(gr.Radio, {"label": "interface_language"}, choices=INTERFACE_LANGUAGES, value="en",
                                scale=0, min_width=220, elem_id="ui-language")
            status = gr.HTML(self.loader.status_html(english), elem_id="status")
            with gr.Tabs(selected="chat") as tabs:
                with words(gr.Tab, {"label": "tab_chat"}, id="chat", elem_id="tab-chat"):
                    chat = self._chat_tab()
                with words(gr.Tab, {"label": "tab_library"}, id="library", elem_id="tab-library"):
                    library = gr.HTML(ui.library_html(None, english), js_on_load=ASK_ABOUT_JS, elem_id="library")
                with words(gr.Tab, {"label": "tab_add"}, id="add", elem_id="tab-add"):
                    upload = self._add_tab()
            views = {"header": header, "ui_lang": ui_lang, "status": status, "tabs": tabs, "library": library}
            self._wire(demo, views, chat, upload)
        return demo

    def _chat_tab(self) -> dict[str, gr.components.Component]:
        words = self.words
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = words(gr.Chatbot, {"label": "chat_label", "placeholder": "chat_placeholder"}, height=560,
                                latex_delimiters=[], buttons=[], feedback_options=None, elem_id="chatbot")
                with gr.Row():
                    question = words(gr.Textbox, {"placeholder": "question_placeholder"}, show_label=False, scale=5,
                                     max_length=self.settings.max_question_chars, elem_id="question")
                    send = words(gr.Button, {"value": "send"}, variant="primary", scale=1, elem_id="send")
                examples = words(gr.Dataset, {"label": "examples"}, components=[question],
                                 samples=[[q] for q in self._examples()], elem_id="examples")
                clear = words(gr.Button, {"value": "clear"}, size="sm", elem_id="clear")
            with gr.Column(scale=2, min_width=320):
                gr.HTML(ui.player_html(), js_on_load=ui.PLAYER_JS, elem_id="player")
                with words(gr.Accordion, {"label": "filters"}, open=True):
                    # Choices arrive once the library is open; the library itself rejects unknown values.
                    episodes = words(gr.Dropdown, {"label": "episode_filter", "info": "episode_filter_info"},
                                     multiselect=True, choices=[], allow_custom_value=True, elem_id="episode-filter")
                    people = words(gr.Dropdown, {"label": "person_filter", "info": "person_filter_info"},
                                   multiselect=True, choices=[], allow_custom_value=True, elem_id="person-filter")
                    answer_lang = words(gr.Radio, {"label": "answer_language", "choices": _answer_languages},
                                        value="auto", elem_id="answer-language")
                    compare = words(gr.Checkbox, {"label": "compare", "info": "compare_info"}, elem_id="compare")
                sources = gr.HTML(ui.sources_html([], [], self.labels("en")), max_height=720, elem_id="sources")
        return {"chatbot": chatbot, "question": question, "send": send, "examples": examples, "clear": clear,
                "episodes": episodes, "people": people, "answer_lang": answer_lang, "compare": compare,
                "sources": sources}  # fmt: skip

    def _add_tab(self) -> dict[str, gr.components.Component]:
        words = self.words
        words(gr.Markdown, {"value": lambda labels: labels("upload_intro", limit=UPLOAD_LIMIT >> 20)})
        files = words(gr.File, {"label": "upload_files"}, file_count="multiple", file_types=list(SUFFIXES),
                      elem_id="upload-files")
        episode_id = words(gr.Textbox, {"label": "upload_episode_id", "info": "upload_episode_id_info"},
                           elem_id="upload-episode-id")
        button = words(gr.Button, {"value": "upload_button"}, variant="primary", elem_id="upload-button")
        result = gr.HTML(elem_id="upload-result")
        return {"files": files, "episode_id": episode_id, "button": button, "result": result}

    def _examples(self) -> list[str]:
        return [self.labels(lang)(f"example_{n}") for lang in LANGUAGES for n in range(1, EXAMPLES + 1)]

    # -- events --------------------------------------------------------------------------

    def _wire(self, demo: gr.Blocks, views: dict, chat: dict, upload: dict) -> None:
        pending = gr.State("")  # the question between queueing it and answering it
        turns = gr.State([])  # list[Turn]: what follow-ups are rewritten against
        last = gr.State(None)  # the last Answer, to redraw its sources in another language
        populated = gr.State(False)  # whether this page shows the library's episodes and people yet
        timer = gr.Timer(POLL_SECONDS)
        ui_lang = views["ui_lang"]
        library_views = [chat["episodes"], chat["people"], views["library"]]

        demo.load(_browser_language, None, ui_lang, **PAGE_ONLY)
        ui_lang.change(self.relabel, [ui_lang, last],
                       [views["header"], views["status"], chat["sources"], views["library"], *self.words.components],
                       **PAGE_ONLY)  # fmt: skip
        timer.tick(self.poll, [ui_lang, populated], [views["status"], timer, populated, *library_views], **PAGE_ONLY)

        ask = dict(fn=self.enqueue, inputs=[chat["question"], chat["chatbot"], ui_lang],
                   outputs=[chat["question"], chat["chatbot"], pending], **QUIET)
        answer = dict(fn=self.answer, outputs=[chat["chatbot"], turns, chat["sources"], last],
                      inputs=[pending, chat["chatbot"], turns, chat["episodes"], chat["people"], chat["answer_lang"],
                              chat["compare"], ui_lang],
                      concurrency_limit=1, concurrency_id=ANSWERS,
                      # On the chat, Gradio's tracker shows a waiting question's place ("queue: 2/3"); the
                      # bubble itself says whether it waits, searches or writes.
                      show_progress="minimal", show_progress_on=[chat["chatbot"]])  # fmt: skip
        chat["question"].submit(**ask, api_name="send").then(**answer, api_name="answer")
        chat["send"].click(**ask, api_name=False).then(**answer, api_name=False)
        chat["examples"].click(_first, chat["examples"], chat["question"], **PAGE_ONLY)
        cleared = [chat["chatbot"], turns, chat["sources"], last]
        chat["clear"].click(self.clear, ui_lang, cleared, **QUIET, api_name="clear")
        chat["chatbot"].clear(self.clear, ui_lang, cleared, **PAGE_ONLY)  # its own trash icon
        views["library"].click(self.ask_about, ui_lang, [chat["question"], views["tabs"]], **PAGE_ONLY)
        upload["button"].click(self.add_episodes, [upload["files"], upload["episode_id"], ui_lang],
                               [upload["result"], upload["files"], *library_views], api_name="add_episodes",
                               concurrency_limit=1, concurrency_id=INGESTS)

    def relabel(self, ui_lang: str, last: Answer | None) -> list:
        labels = self.labels(ui_lang)
        sources = ui.sources_html(last.sources, last.citations, labels) if last else ui.sources_html([], [], labels)
        episodes = self.loader.library.episodes() if self.loader.library else None
        return [ui.header_html(labels), self.loader.status_html(labels), sources, ui.library_html(episodes, labels),
                *self.words.updates(labels)]

    def poll(self, ui_lang: str, populated: bool) -> list:
        """Start-up progress; once the library is open, fill this page's filters and library (once)."""
        labels = self.labels(ui_lang)
        done = self.loader.ready.is_set()
        head = [gr.update(value=self.loader.status_html(labels), visible=not done or bool(self.loader.error)),
                gr.Timer(active=not done)]
        if populated or self.loader.library is None:
            return [*head, populated, gr.skip(), gr.skip(), gr.skip()]
        return [*head, True, *self._library_views(labels)]

    def _library_views(self, labels: ui.Labels) -> list:
        library = self.loader.library
        episodes = library.episodes()
        people = [person.name for person in library.people.people if person.roles]
        return [gr.update(choices=[(e.title, e.id) for e in episodes]), gr.update(choices=people),
                ui.library_html(episodes, labels)]

    def enqueue(self, question: str, chatbot: list, ui_lang: str) -> tuple:
        """Show the question at once, with a bubble that says it waits for the model."""
        if not question.strip():
            return gr.skip(), gr.skip(), ""
        waiting = ui.notice_html(self.labels(ui_lang)("waiting"), "waiting")
        return "", [*chatbot, _message("user", ui.user_html(question)), _message("assistant", waiting)], question

    def answer(self, question: str, chatbot: list, turns: list[Turn], episodes: list[str], people: list[str],
               answer_lang: str, compare: bool, ui_lang: str) -> Iterator[tuple]:
        labels = self.labels(ui_lang)

        def show(html: str, *rest) -> tuple:
            return (_replace_last(chatbot, html), *(rest or (turns, gr.skip(), gr.skip())))

        if not question:  # enqueue found nothing to ask
            yield chatbot, turns, gr.skip(), gr.skip()
            return
        while not self.loader.ready.wait(POLL_SECONDS):
            yield show(ui.notice_html(labels("model_loading", status=self.loader.message(labels)), "waiting"))
        if self.loader.assistant is None:
            yield show(ui.notice_html(self.loader.message(labels), "error"))
            return
        yield show(ui.notice_html(labels("searching"), "searching"))
        partial, final = "", None
        try:
            for part in self._stream(question, turns, episodes, people, answer_lang, compare):
                if isinstance(part, Answer):
                    final = part
                else:
                    partial += part
                    yield show(ui.streaming_html(partial))
        except UserError as err:
            yield show(ui.notice_html(labels("error", error=str(err)), "error"))
            return
        if isinstance(final, Comparison):
            html = ui.comparison_html(final, labels, self.media)
        else:
            html = ui.answer_html(final.text, final.citations, final.refused, media=self.media)
        sources = ui.sources_html(final.sources, final.citations, labels)
        yield show(html, [*turns, Turn(question, final.text)], sources, final)

    def _stream(self, question: str, turns: list[Turn], episodes: list[str], people: list[str], answer_lang: str,
                compare: bool) -> Iterator[str | Answer]:
        assistant = self.loader.assistant
        library = assistant.library
        if compare:  # the People filter says whom to compare (else the question does), not what to search
            return assistant.compare_stream(question, people or (), answer_lang, library.filters(episodes or ()))
        return assistant.stream(question, answer_lang, library.filters(episodes or (), people or ()), turns)

    def clear(self, ui_lang: str) -> tuple:
        return [], [], ui.sources_html([], [], self.labels(ui_lang)), None

    def ask_about(self, ui_lang: str, evt: gr.EventData) -> tuple:
        """An "Ask about this" button: put a question about its chapter in the chat box."""
        library = self.loader.library
        episode = library.episode(evt.episode) if library else None
        chapter = next((c for c in episode.chapters if c.start == int(evt.start)), None) if episode else None
        if chapter is None:
            return gr.skip(), gr.skip()
        question = self.labels(ui_lang)("ask_about_question", chapter=chapter.title, episode=episode.title)
        return question, gr.Tabs(selected="chat")

    def add_episodes(self, files: list[str] | None, episode_id: str, ui_lang: str, progress=gr.Progress()) -> list:
        """Ingest uploaded files, then delete them (so the file box empties too); the result, the library views."""
        labels = self.labels(ui_lang)

        def report(done: int, total: int, label: str, key: str = "upload_indexing") -> None:
            progress((done, total), desc=labels(key, label=label))

        if not files:
            return [ui.notice_html(labels("upload_none"), "error"), *[gr.skip()] * 4]
        try:
            result, library_views = self._ingest(files, episode_id, labels, report)
        finally:
            _discard(files, self.uploads)
        return [result, None, *library_views]

    def _ingest(self, files: list[str], episode_id: str, labels: ui.Labels, report) -> tuple[str, list]:
        unchanged = [gr.skip()] * 3
        self.loader.library_ready.wait()
        if self.loader.library is None:
            return ui.notice_html(self.loader.message(labels), "error"), unchanged
        try:
            paths = _uploaded(files, self.uploads, labels)
            library = self.loader.library
            with in_background():  # at the embedding engine, a question waiting goes before the upload's next passages
                results = ingest_with_chapters(
                    library, lambda: library.ingest(paths, episode_id=episode_id.strip() or None, progress=report),
                    self._chapterer, lambda title, done, total: report(done, total, title, "upload_chapters"))
        except ParseError as err:  # the library ingests all files or none: nothing changed
            error = f"{Path(err.path).name}: {err.problem}"
            return ui.notice_html(labels("upload_error", error=error), "error"), unchanged
        done = ui.notice_html(labels("upload_done", titles=", ".join(map(_added, results))), "done")
        return done, self._library_views(labels)


    def _chapterer(self) -> Chapterer:
        """Chapters are titled by the assistant's own model (one model in memory; its lock queues the calls)."""
        self.loader.ready.wait()
        if self.loader.assistant is None:
            raise LLMError(self.loader.error or "the model is not loaded")
        assistant = self.loader.assistant
        return Chapterer(assistant.llm, assistant.prompts, assistant.library.index.embedder.passages)


def _added(result: IngestResult) -> str:
    """An episode's title, with its id when a collision gave it a new one ("Title [id-2]"), and what the
    chapter step did ("Title (3 chapters generated)")."""
    own, chapters = split_note(result.note)
    renamed = f"{result.title} [{result.episode_id}]" if own else result.title
    return f"{renamed} ({chapters})" if chapters else renamed


def _uploaded(files: list[str], folder: Path, labels: ui.Labels) -> list[Path]:
    """The event's files, each one Gradio stored in the upload folder (the parser checks their size).

    Gradio refuses other paths itself (see create_server); this holds even where it would not.
    """
    paths = [Path(f) for f in files]
    for path in paths:
        if not (_inside(path, folder) and path.is_file()):  # says nothing of the file: is it there, what it holds
            raise ParseError(path.name, labels("upload_not_uploaded"))
    return paths


def _discard(files: list[str], folder: Path) -> None:
    """Delete uploads once handled: the library keeps what it needs, and an upload may be private."""
    for path in (Path(f).resolve() for f in files):
        if _inside(path, folder):  # never a file an event merely named
            path.unlink(missing_ok=True)
            if path.parent != folder.resolve():  # Gradio's directory for this upload; the folder itself stays
                with contextlib.suppress(OSError):  # another upload of the same content is in it
                    path.parent.rmdir()


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _answer_languages(labels: ui.Labels) -> list[tuple[str, str]]:
    return [(labels("language_auto"), "auto"), ("English", "en"), ("中文", "zh")]


def _browser_language(request: gr.Request) -> str:
    return "zh" if request.headers.get("accept-language", "").lower().startswith("zh") else "en"


def _first(sample: list[str]) -> str:
    return sample[0]


def _message(role: str, html: str) -> dict:
    return {"role": role, "content": html}


def _replace_last(chatbot: list, html: str) -> list:
    return [*chatbot[:-1], _message("assistant", html)]


# -- serving -------------------------------------------------------------------------------


def build_app(settings: Settings, loader: Loader | None = None) -> gr.Blocks:
    """The Gradio app; without a loader it starts its own, so the library and model load in the background."""
    return App(settings, loader or Loader(settings).start()).build()


def credentials(settings: Settings) -> tuple[str, str] | None:
    """The login to require; refuses to listen beyond this machine without one."""
    if settings.auth:
        user, sep, password = settings.auth.partition(":")
        if not (sep and user and password):
            raise SettingsError("--auth (or LAIDUB_AUTH) must look like user:password")
        return user, password
    if not _is_loopback(settings.host):
        raise SettingsError(
            f"refusing to serve on {settings.host} without a password: anyone who can reach this machine could "
            f"use it. Add --auth user:password (or set LAIDUB_AUTH), or serve on 127.0.0.1."
        )
    return None


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def upload_folder(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def media_folder(settings: Settings) -> Path:
    """Where the library keeps the audio it copied in (store/transcribe.py); the only local audio served."""
    return settings.data_dir / "media"


def create_server(settings: Settings, loader: Loader | None = None) -> FastAPI:
    """The episode pages, with the Gradio app mounted at / (both behind the login when there is one).

    Without a loader it starts its own, so the library and model load in the background."""
    login = credentials(settings)
    # Gradio reads GRADIO_TEMP_DIR as each component is built and on each upload: set it before building.
    # Its default, the system temp dir, is shared with every user of the machine.
    os.environ["GRADIO_TEMP_DIR"] = str(_private_folder(upload_folder(settings)))
    loader = loader or Loader(settings).start()
    server = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    guard = [Depends(_basic_auth(login))] if login else []
    media = Media(media_folder(settings))
    _add_episode_route(server, loader, Prompts(settings.prompts_dir), media, guard)
    add_media_route(server, media, guard)
    demo = build_app(settings, loader)
    gr.mount_gradio_app(
        server, demo, path="/", auth=login, theme=THEME, css=ui.APP_CSS,
        max_file_size=UPLOAD_LIMIT, footer_links=["api"], show_error=True,
        enable_monitoring=False,  # its summary would answer anyone who can reach the port
        app_kwargs={"openapi_url": None},  # FastAPI's own schema of Gradio's routes, served outside the login
    )  # fmt: skip
    # Gradio refuses an event's file that is not in its upload folder only once Blocks.launch() has run; a
    # mounted app never runs it, and then any file this process can read could be named, read and copied.
    demo.has_launched = True
    return server


def _private_folder(path: Path) -> Path:
    """`path`, created if need be, readable by this user only (uploads wait there until they are ingested)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o700)
    except OSError as err:
        raise SettingsError(f"cannot use {path} for uploads ({err.strerror}); check LAIDUB_DATA_DIR") from None
    return path


def serve(settings: Settings, listening: Callable[[str], None]) -> None:
    """Serve until Ctrl+C; `listening(url)` is called once the port accepts connections."""
    # Open pages keep event streams open; without a bound, Ctrl+C would wait for every tab to close.
    config = uvicorn.Config(create_server(settings), host=settings.host, port=settings.port, access_log=False,
                            log_level="warning", timeout_graceful_shutdown=3)  # fmt: skip
    _Server(config, listening).run()


class _Server(uvicorn.Server):
    """uvicorn's server, saying its URL once the socket is bound (uvicorn's own lines are left to warnings)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[str], None]):
        super().__init__(config)
        self.listening = listening

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
            self.listening(f"http://{host}:{self.config.port}")


def _add_episode_route(server: FastAPI, loader: Loader, prompts: Prompts, media: Media, guard: list) -> None:
    @server.get("/episode/{episode_id}", response_class=HTMLResponse, dependencies=guard)
    def episode_page(episode_id: str, cited: str = "") -> HTMLResponse:
        loader.library_ready.wait()
        episode = loader.library.episode(episode_id) if loader.library else None
        labels = ui.Labels(prompts, episode.summary_language if episode else "en")
        moments = [int(m) for m in cited.split(",") if m.strip().isdigit()][:MAX_CITED]
        page, policy = ui.episode_page(episode, episode_id, labels, media, moments)
        return HTMLResponse(page, status_code=200 if episode else 404, headers={"Content-Security-Policy": policy})


def _basic_auth(login: tuple[str, str]):
    """Episode pages live outside Gradio's login, so they ask the browser for the same user and password."""
    scheme = HTTPBasic()

    def check(given: HTTPBasicCredentials = Depends(scheme)) -> None:
        user_ok = secrets.compare_digest(given.username.encode(), login[0].encode())
        password_ok = secrets.compare_digest(given.password.encode(), login[1].encode())
        if not (user_ok and password_ok):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Basic"})

    return check
