"""The Assistant: question -> retrieve -> prompt -> generate -> cite -> Answer.

The CLI, the Python API and the Gradio app all call this one object.

    assistant = Assistant(Settings.from_env())
    answer = assistant.ask("杨立昆为什么离开Meta？")
    for part in assistant.stream("Why did Yann leave Meta?"):
        ...  # str deltas as they are generated, then the final Answer

Streamed deltas are the model's raw words; the final Answer is authoritative: its markers
have been checked against the sources and renumbered (see citations.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from assistant.citations import Citation, SupportScorer, verify
from assistant.config import Settings
from assistant.context import Source, pack, render_source
from assistant.followup import Turn, standalone
from assistant.library import open_library
from assistant.llm import LLM, Message, open_llm
from assistant.prompts import Prompts
from assistant.refusal import covered
from store.errors import QuestionError
from store.language import detect_language
from store.library import Library
from store.retrieve import Filters, Hit

RETRIEVE_K = 8


@dataclass
class Answer:
    question: str
    language: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    model: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    standalone_question: str = ""
    rows: list = field(default_factory=list)  # compare mode: one CompareRow per person


class Assistant:
    def __init__(self, settings: Settings, library: Library | None = None, llm: LLM | None = None):
        self.settings = settings
        self.library = library or open_library(settings)
        self.prompts = Prompts(settings.prompts_dir)
        self._llm = llm
        self._llm_lock = threading.Lock()

    @property
    def llm(self) -> LLM:
        """Loaded on first use, so search-only callers never pay for the model."""
        with self._llm_lock:
            if self._llm is None:
                self._llm = open_llm(self.settings)
                self._llm.warm([self._system()])
            return self._llm

    # -- public API --------------------------------------------------------------------

    def ask(self, question: str, lang: str = "auto", filters: Filters | None = None,
            history: Sequence[Turn] = ()) -> Answer:
        return _final(self.stream(question, lang, filters, history))

    def chat(self, history: Sequence[Turn], message: str, lang: str = "auto", filters: Filters | None = None) -> Answer:
        """Answer a message in a conversation; follow-ups are rewritten into standalone questions first."""
        return self.ask(message, lang, filters, history)

    def stream(self, question: str, lang: str = "auto", filters: Filters | None = None,
               history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        started = time.perf_counter()
        question = self.check(question)
        language = lang if lang in ("en", "zh") else detect_language(question)
        query = standalone(self.llm, self.prompts, history, question) if history else question
        from assistant.compare import compare_stream, detect_comparison  # compare.py builds on Answer

        if people := detect_comparison(query, self.library.people):
            yield from compare_stream(self, query, people, language, filters)
            return
        hits = self.library.search(query, k=RETRIEVE_K, filters=filters)
        timings = {"retrieve": ms_since(started)}
        answer = Answer(question, language, "", refused=True, model=self._model_name(), standalone_question=query,
                        timings_ms=timings)
        if not covered(query, hits, self.library):
            answer.text = self.prompts.message(language, "refusal")
            timings["total"] = ms_since(started)
            yield answer
            return

        sources, messages = self.prompt(query, hits, language)
        raw = ""
        for delta in self.llm.stream(messages, self.settings.max_answer_tokens, stop=["\nSources:", "\nQuestion:"]):
            if not raw:
                timings["first_token"] = ms_since(started)
            raw += delta
            yield delta
        text, citations = verify(raw, sources, SupportScorer(sources, self.library.index.embedder))
        if not citations:  # nothing the model said is supported by a source: a refusal, decided here
            text = self.prompts.message(language, "refusal")
        answer.text, answer.citations, answer.sources = text, citations, sources
        answer.refused = not citations
        timings["total"] = ms_since(started)
        yield answer

    def check(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"the question is {len(question)} characters; the limit is {self.settings.max_question_chars} "
                "(LAIDUB_MAX_QUESTION_CHARS). Ask about one thing at a time."
            )
        return question

    # -- prompt assembly ---------------------------------------------------------------

    def prompt(self, question: str, hits: list[Hit], language: str) -> tuple[list[Source], list[Message]]:
        """The sources packed from `hits` and the chat messages that ask the model about them."""
        sources = pack(question, hits, self.library, self.prompts, self.llm.count_tokens, self.settings.context_tokens)
        user = self.prompts.fill(
            "answer_user",
            sources="\n\n".join(render_source(s, self.prompts) for s in sources),
            question=question,
            language_instruction=self.prompts.message(language, "answer_in"),
        )
        return sources, [self._system(), Message("user", user)]

    def _system(self) -> Message:
        return Message("system", self.prompts.fill("answer_system"))

    def _model_name(self) -> str:
        return self._llm.name if self._llm else ""


def _final(parts: Iterator[str | Answer]) -> Answer:
    answer = None
    for part in parts:
        if isinstance(part, Answer):
            answer = part
    assert answer is not None
    return answer


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
