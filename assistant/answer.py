"""The Assistant: question -> retrieve -> prompt -> generate -> cite -> Answer.

The CLI, the Python API and the Gradio app all call this one object.

    assistant = Assistant(Settings.from_env())
    answer = assistant.ask("杨立昆为什么离开Meta？")
    for part in assistant.stream("Why did Yann leave Meta?"):
        ...  # str deltas as they are generated, then the final Answer
    table = assistant.compare("world models", people=["LeCun", "Oriol"])  # a Comparison

A question that compares people ("How do LeCun and Oriol differ on ...?") is answered as a
comparison by `stream` too; `compare` is the explicit form, with the people given by name.

Streamed deltas are the answer's sentences as each passes the claim check, with their markers
checked and renumbered (citations.py): nothing reaches the user that the final Answer does not hold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

from assistant.citations import SentenceStream, Support
from assistant.claims import ClaimChecker
from assistant.compare import Comparer, detect_comparison, people_to_compare
from assistant.config import Settings
from assistant.context import Source, pack, render_source
from assistant.extractive import Extractive
from assistant.followup import Turn, standalone
from assistant.intent import kind
from assistant.library import open_library
from assistant.llm import LLM, Message, open_llm
from assistant.prompts import Prompts
from assistant.question import check_question
from assistant.refusal import about_the_people_asked, covered
from assistant.results import Answer, Comparison, ms_since
from store.errors import QuestionError
from store.language import LANGUAGES, detect_language
from store.library import Library
from store.retrieve import Filters, Hit

RETRIEVE_K = 8


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
        language = lang if lang in LANGUAGES else detect_language(question)
        query = standalone(self.llm, self.prompts, history, question) if history else question
        if people := detect_comparison(query, self.library.people):
            yield from Comparer(self.library, self.prompts, self.llm).stream(query, people, language, filters)
            return
        hits = about_the_people_asked(query, self.library.search(query, k=RETRIEVE_K, filters=filters), self.library)
        timings = {"retrieve": ms_since(started)}
        answer = Answer(question, language, "", refused=True, model=self._model_name(), standalone_question=query,
                        timings_ms=timings)
        if not covered(query, hits, self.library):
            answer.text = self.prompts.message(language, "refusal")
            timings["total"] = ms_since(started)
            yield answer
            return

        sources, messages = self.prompt(query, hits, language)
        gate = SentenceStream(Support(sources, self.checker()))
        deltas = self.llm.stream(messages, self.settings.max_answer_tokens, stop=["\nSources:", "\nQuestion:"])
        for sentence in gate.checked(deltas):
            timings.setdefault("first_token", ms_since(started))  # the first text the user sees
            yield sentence
        extractive = Extractive(self.library, self.prompts, self.llm, self._system())
        if not gate.shown:  # nothing the model wrote held: the evidence's own sentences, if one answers
            stated = extractive.answer(query, sources, language)
        else:  # the gate cut some of it: what the evidence says that the answer kept does not
            stated = extractive.supplement(query, sources, language, gate.text, gate.support.checker) if gate.dropped else []
        for n, piece in enumerate(stated):
            if n and not gate.shown:  # the answering sentence did not hold (a translation failed the check):
                break  # the others are its context, not an answer (measured: n20 answered from them)
            for sentence in gate.checked([piece]):
                timings.setdefault("first_token", ms_since(started))
                yield sentence
        citations = gate.citations()
        # Nothing is supported by a source: a refusal, decided here (nothing was shown).
        text = gate.text if citations else self.prompts.message(language, "refusal")
        answer.text, answer.citations, answer.sources = text, citations, sources
        answer.refused = not citations
        timings["total"] = ms_since(started)
        yield answer

    def compare(self, topic: str, people: Sequence[str] = (), lang: str = "auto",
                filters: Filters | None = None) -> Comparison:
        return _final(self.compare_stream(topic, people, lang, filters))

    def compare_stream(self, topic: str, people: Sequence[str] = (), lang: str = "auto",
                       filters: Filters | None = None) -> Iterator[str | Comparison]:
        """Compare the people given by name (or alias), else those `topic` names: each one's cited position,
        then where they differ. `topic` is a topic ("world models") or a whole question."""
        topic = self.check(topic, required=not people)  # given the people, "" compares them on anything
        language = lang if lang in LANGUAGES else detect_language(topic)
        # People given by name are a filter, as in `ask`: an unknown one is the same UnknownFilter, not a row.
        people = self.library.filters(people=people).people
        persons = people_to_compare(topic, people, self.library.people)
        if len(persons) < 2:
            raise QuestionError(self.prompts.message(language, "compare_needs_people"))
        return Comparer(self.library, self.prompts, self.llm).stream(topic, persons, language, filters)

    def check(self, question: str, required: bool = True) -> str:
        """The question with its whitespace normalised; QuestionError if it is empty or too long."""
        return check_question(question, self.settings.max_question_chars, required)

    # -- prompt assembly ---------------------------------------------------------------

    def prompt(self, question: str, hits: list[Hit], language: str) -> tuple[list[Source], list[Message]]:
        """The sources packed from `hits` and the chat messages that ask the model about them."""
        sources = pack(question, hits, self.library, self.prompts, self.llm.count_tokens, self.settings.context_tokens)
        user = self.prompts.fill(
            "answer_user",
            sources="\n\n".join(render_source(s, self.prompts) for s in sources),
            question=question,
            answer_instruction=self.prompts.message(language, f"answer_{kind(question).value}"),
            language_instruction=self.prompts.message(language, "answer_in"),
        )
        return sources, [self._system(), Message("user", user)]

    def checker(self) -> ClaimChecker:
        return ClaimChecker(self.library.people, self.library.index.embedder)

    def _system(self) -> Message:
        return Message("system", self.prompts.fill("answer_system"))

    def _model_name(self) -> str:
        return self._llm.name if self._llm else ""


def _final(parts: Iterator[str | Answer]) -> Answer:
    *_, answer = parts  # every stream ends with its Answer
    return answer
