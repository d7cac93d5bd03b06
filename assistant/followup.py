"""Turn a follow-up ("And what does Oriol think?", "他为什么离开？") into a standalone question.

Retrieval sees one question at a time, so a follow-up must carry its own people and topic.
The model rewrites it using the last turns; a message that already names someone and says
enough is left alone, which saves a model call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.llm import LLM, Message
from assistant.prompts import Prompts
from store.language import has_cjk

HISTORY_TURNS = 2
_CONTINUATION = re.compile(
    r"^(and|but|so|what about|how about|why|also)\b|\b(he|she|they|him|her|his|their|it|that|this|those|these)\b"
    r"|^(那|还有|而|他|她|它)|他|她|它|这|那|其",
    re.IGNORECASE,
)


@dataclass
class Turn:
    question: str
    answer: str


def standalone(llm: LLM, prompts: Prompts, history: Sequence[Turn], message: str) -> str:
    if not history or not _depends_on_history(message):
        return message
    recent = history[-HISTORY_TURNS:]
    transcript = "\n".join(f"User: {t.question}\nAssistant: {_short(t.answer)}" for t in recent)
    messages = [
        Message("system", prompts.fill("rewrite_system")),
        Message("user", prompts.fill("rewrite_user", history=transcript, message=message)),
    ]
    rewritten = llm.complete(messages, max_tokens=60, stop=["\n"]).strip().strip("\"'“”「」")
    if not rewritten or len(rewritten) > 3 * len(message) + 120:
        # The model rambled: keep the user's words and let the last question supply the context.
        return f"{message} ({recent[-1].question})"
    return rewritten


def _depends_on_history(message: str) -> bool:
    size = len(re.findall(r"[\u4e00-\u9fff]", message)) if has_cjk(message) else len(message.split())
    return bool(_CONTINUATION.search(message)) or size < (8 if has_cjk(message) else 5)


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
