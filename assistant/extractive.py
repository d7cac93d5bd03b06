"""When the claim check leaves nothing of the model's answer: the evidence sentences themselves, if one answers.

The gate (citations.py) drops every sentence a source does not support, and on the dev set that made
6 of 22 answerable questions refusals (d04, d05, d08, d10, d12, d24): the 1.5B model had the right
chapter in front of it and wrote elaborations it does not say ("Reid Hoffman is a venture capitalist",
"world models let robots simulate and interact"), or a cross-language paraphrase just short of the
check. The chapter's own sentences are true by construction, but stating them for every question would
answer the unanswerable ones too: their topic words are in the library (14 of our 26 pass the word-coverage
gate of refusal.py and reach the model).

So a relevance decision comes first, and it is the model's, on a task it does reliably: given the three
most relevant evidence sentences, numbered, "which one answers the question, or 0 if none does". Measured
with the 1.5B model on tests/data/unanswerable.jsonl and the dev and extra_eval answerables that reach the
model (see README): a yes/no "do the sources answer it?" said yes to 9 of 13 unanswerables; the numbered
choice said 0 to 12 of 13 and named a sentence for 9 of 10 answerables. The chosen sentence is stated
first, then the other candidates; a sentence in the other language is translated by the model, and every
sentence still passes the claim gate like any other answer.
"""

from __future__ import annotations

import re

from assistant.claims import ClaimChecker
from assistant.context import Source, ranked_sentences
from assistant.llm import LLM, Message
from assistant.prompts import Prompts
from store.language import detect_language
from store.library import Library

CANDIDATES = 3  # evidence sentences the model chooses among, each about 50 prompt tokens to read (not tuned)
TRANSLATION_TOKENS = 120
# A candidate half of whose content words the answer already has says what it says ("Yann corrects a widespread
# misconception: he had zero technical influence on Llama" after "Yann says he had zero technical influence").
REPEATS = 0.5


class Extractive:
    def __init__(self, library: Library, prompts: Prompts, llm: LLM, system: Message):
        self.library, self.prompts, self.llm, self.system = library, prompts, llm, system

    def answer(self, question: str, sources: list[Source], language: str) -> list[str]:
        """Evidence sentences with their source markers ("... [2]"), the answering one first; none if none answers."""
        candidates = ranked_sentences(question, sources, self.library)[:CANDIDATES]
        chosen = self._choice(question, candidates)
        if chosen is None:
            return []
        first = candidates[chosen]
        stated = [(source, self._in(language, text)) for source, text in [first, *(c for c in candidates if c is not first)]]
        return [f"{text} [{source.number}]" for source, text in stated if text] if stated[0][1] else []

    def supplement(self, question: str, sources: list[Source], language: str, shown: str,
                   checker: ClaimChecker) -> list[str]:
        """After an answer the gate cut: the most relevant evidence sentences in its language that it does not
        already say, with their markers. What the model dropped was most often the reason or mechanism asked for
        (d04, d10), which the chapter's own sentence states; the answer kept is evidence that the question is
        answerable, so no choice by the model is needed, and nothing is translated (no generation)."""
        candidates = ranked_sentences(question, sources, self.library)[:CANDIDATES]
        extra = [(source, text) for source, text in candidates
                 if detect_language(text) == language and checker.coverage(text, shown) < REPEATS]
        return [f"{text} [{source.number}]" for source, text in extra]

    def _choice(self, question: str, candidates: list[tuple[Source, str]]) -> int | None:
        """The index of the candidate that answers the question, by the model; None when it says none does.

        Each sentence goes with its chapter's title: "The result is a heavily hedged research portfolio" answers
        "Why doesn't Google make concentrated bets?" only under "Why Google Doesn't Make As Concentrated Bets"
        (measured: without titles the model chose none for d04 and d05; with them, still none for all seven
        unanswerables it was tried on)."""
        if not candidates:
            return None
        listing = "\n".join(f"({n}) {source.title}: {text}" for n, (source, text) in enumerate(candidates, 1))
        user = self.prompts.fill("answering_sentence", sentences=listing, question=question)
        reply = self.llm.complete([self.system, Message("user", user)], 4)
        number = re.match(r"\W*(\d+)", reply)  # "2", "(2)", "2." - not a year the model went on to write
        index = int(number.group(1)) - 1 if number else -1
        return index if 0 <= index < len(candidates) else None

    def _in(self, language: str, text: str) -> str:
        """The sentence in `language`: as it is, or translated by the model (checked by the gate afterwards)."""
        if detect_language(text) == language:
            return text
        user = self.prompts.fill("translate_sentence", sentence=text,
                                 instruction=self.prompts.message(language, "translate_in"))
        reply = self.llm.complete([self.system, Message("user", user)], TRANSLATION_TOKENS, stop=["\n\n"]).strip()
        return reply if detect_language(reply) == language else ""
