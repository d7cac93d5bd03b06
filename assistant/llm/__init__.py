"""Text generation behind one small interface, the seam every caller uses.

`open_llm` picks the backend: llama.cpp in this process (`local.py`, the GGUF from `gguf.py`) or an
OpenAI-compatible server (`server.py`). Each backend is imported only when chosen, so the light
`Message` type does not load llama.cpp, and a server user never needs it. Both decode greedily
(temperature 0), so the same prompt gives the same answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.llm.gguf import Progress


@dataclass(frozen=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class LLM(ABC):
    name: str
    n_ctx: int

    @abstractmethod
    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] | None = None) -> Iterator[str]:
        """The answer's text, piece by piece as it is generated."""

    def complete(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] | None = None) -> str:
        return "".join(self.stream(messages, max_tokens, stop))

    @abstractmethod
    def count_tokens(self, text: str) -> int: ...

    @abstractmethod
    def count_messages(self, messages: Sequence[Message]) -> int:
        """Tokens the rendered chat prompt takes, the assistant's header included: what to budget against n_ctx."""

    def warm(self, prefix_messages: Sequence[Message]) -> None:  # noqa: B027 - a no-op unless the backend can
        """Precompute the messages every prompt starts with (the system prompt)."""


def open_llm(settings: Settings, progress: Progress | None = None) -> LLM:
    """The configured backend: the server at settings.llm_url if set, else the local GGUF (assembled if needed)."""
    if settings.llm_url:
        from assistant.llm.server import OpenAICompatLLM

        return OpenAICompatLLM(
            settings.llm_url, model=settings.llm_model, api_key=settings.llm_api_key, n_ctx=settings.n_ctx
        )
    from assistant.llm.gguf import resolve_model
    from assistant.llm.local import LocalLLM

    return LocalLLM(
        resolve_model(settings, progress),
        n_ctx=settings.n_ctx,
        n_threads=settings.threads,
        chat_format=settings.chat_format,
        state_dir=settings.cache_dir / "prompt-state",
    )
