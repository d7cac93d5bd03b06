"""The local backend: llama.cpp in this process, with the system prompt's KV state kept for reuse."""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError, meta
from llama_cpp import Llama, llama_cpp
from llama_cpp import __version__ as llama_cpp_version
from llama_cpp.llama_chat_format import CHATML_CHAT_TEMPLATE, LLAMA3_INSTRUCT_CHAT_TEMPLATE, Jinja2ChatFormatter

from assistant.llm import LLM, Message
from assistant.llm.prompt_state import PromptStateFiles
from store.errors import LLMError, ModelError, SettingsError

log = logging.getLogger(__name__)

REPEAT_PENALTY = 1.1  # greedy decoding of a 0.5-1.5B model falls into loops without a little
N_BATCH = 512
# llama.cpp itself defaults to flash attention on CPU; llama-cpp-python turns it off. Measured with the 1.5B model
# on this shared 2-core machine: prompt tokens/s 25.8 with it vs 22.9 without (mean of 4 alternating runs each,
# noisy), and the same 3.0-3.3 s for 225-231-token comparison prompts at low load: not slower, so llama.cpp's way.
FLASH_ATTN = True
# No prompt-lookup decoding (draft_model=LlamaPromptLookupDecoding): llama-cpp-python then keeps logits for every
# prompt token (logits_all), which slows the prompt, our main cost. Measured on "How does Oriol define a world
# model?": 10.8 s per answer with it (prompt 5.3 s), 6.9 and 4.3 s without (prompt 3.0, 1.9 s), the same answer.
NAMED_TEMPLATES = {"chatml": CHATML_CHAT_TEMPLATE, "llama-3": LLAMA3_INSTRUCT_CHAT_TEMPLATE}


@dataclass(frozen=True)
class Stats:
    """llama.cpp's own counters for the last call: how much of the prompt it evaluated, and how fast."""

    prompt_tokens: int
    prompt_evaluated: int
    prompt_ms: float
    generated: int
    generate_ms: float

    @property
    def prompt_reused(self) -> int:
        return self.prompt_tokens - self.prompt_evaluated


@dataclass(frozen=True)
class _Snapshot:
    tokens: list[int]
    state: ctypes.Array  # llama.cpp's serialized KV cells of sequence 0 after evaluating exactly `tokens`


class LocalLLM(LLM):
    """llama.cpp in this process. One context, so calls queue on a lock rather than interleave."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int = 2,
        chat_format: str = "auto",
        reuse_prefix: bool = True,
        state_dir: Path | None = None,
    ):
        started = time.monotonic()
        try:
            self._llama = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_batch=N_BATCH,
                flash_attn=FLASH_ATTN,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise ModelError(
                f"llama.cpp could not load {model_path} ({e}). If it is the assembled default model, delete it "
                f"(and its .verified stamp) to assemble it again; if LAIDUB_MODEL points at it, check that it is a "
                f"complete GGUF of an architecture llama.cpp supports."
            ) from e
        self.load_seconds = time.monotonic() - started
        self.model_path = model_path
        self.name = model_path.stem
        self.n_ctx = self._llama.n_ctx()
        self.reuse_prefix = reuse_prefix  # False: evaluate every prompt in full (the benchmark's baseline)
        self.stats: Stats | None = None
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        # Where warm() keeps the system prompt's state for the next process; None: evaluate it in every process.
        shape = {"llama_cpp": llama_cpp_version, "flash_attn": FLASH_ATTN}  # what the saved cells' layout depends on
        self._saved = PromptStateFiles(state_dir, model_path, shape) if state_dir else None

        template, origin = _chat_template(self._llama.metadata, chat_format, model_path)
        eos, bos = self._token_text(self._llama.token_eos()), self._token_text(self._llama.token_bos())
        self._render = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)
        # warm() renders the shared prefix without the assistant header, so it is a prefix of every full prompt.
        self._render_prefix = Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos, add_generation_prompt=False)
        log.info("loaded %s in %.1fs, n_ctx=%d, %d threads", model_path, self.load_seconds, self.n_ctx, n_threads)
        log.info("chat format: %s", origin)

    def stream(self, messages: Sequence[Message], max_tokens: int, stop: Sequence[str] | None = None) -> Iterator[str]:
        with self._lock:
            tokens = self._prompt_tokens(messages)
            self._check_fits(len(tokens) + max_tokens)
            self._prepare_cache(tokens)
            llama_cpp.llama_perf_context_reset(self._llama.ctx)
            try:
                chunks = self._llama.create_completion(
                    tokens,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    repeat_penalty=REPEAT_PENALTY,
                    stop=list(stop or ()),
                    stream=True,
                )
                for chunk in chunks:
                    if text := chunk["choices"][0]["text"]:
                        yield text
            finally:
                self.stats = self._read_stats(len(tokens))

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_messages(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_tokens(messages))

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        """The exact tokens a chat prompt becomes, for comparing against raw llama-cpp-python."""
        return self._prompt_tokens(messages)

    def warm(self, prefix_messages: Sequence[Message]) -> None:
        """Evaluate the shared prefix once and keep its KV state, to put back after other prompts displace it."""
        with self._lock:
            tokens = self._prompt_tokens(prefix_messages, self._render_prefix)
            if self._snapshot and self._snapshot.tokens == tokens:
                return
            self._check_fits(len(tokens))
            self._llama.reset()
            if self._restore_saved(tokens):
                self.stats = Stats(len(tokens), 0, 0.0, 0, 0.0)  # llama.cpp's counters never read below 1
                return
            llama_cpp.llama_perf_context_reset(self._llama.ctx)
            self._llama.eval(tokens)
            llama_cpp.llama_synchronize(self._llama.ctx)  # llama.cpp counts a batch once it has waited for it
            self.stats = self._read_stats(len(tokens))
            ctx = self._llama.ctx
            state = (ctypes.c_uint8 * llama_cpp.llama_state_seq_get_size(ctx, 0))()
            written = llama_cpp.llama_state_seq_get_data(ctx, state, len(state), 0)
            self._snapshot = _Snapshot(tokens, (ctypes.c_uint8 * written).from_buffer_copy(state))
            log.info("warmed a %d-token prompt prefix (%d KiB of KV state)", len(tokens), written >> 10)
            if self._saved:
                self._saved.save(tokens, bytes(self._snapshot.state))

    def _restore_saved(self, tokens: list[int]) -> bool:
        """Put a previous process's state for `tokens` into the context; False if there is none it can use."""
        saved = self._saved.load(tokens) if self._saved else None
        if saved is None:
            return False
        state = (ctypes.c_uint8 * len(saved)).from_buffer_copy(saved)
        if not llama_cpp.llama_state_seq_set_data(self._llama.ctx, state, len(state), 0):
            # Valid file, but not this build's layout of the cells: evaluate, and the new file replaces it.
            log.warning("llama.cpp rejected the saved prompt state %s; evaluating the prompt", self._saved.path(tokens))
            self._llama.reset()
            return False
        self._llama.input_ids[: len(tokens)] = tokens
        self._llama.n_tokens = len(tokens)
        self._snapshot = _Snapshot(tokens, state)
        log.info("restored a %d-token prompt prefix from %s", len(tokens), self._saved.path(tokens))
        return True

    def _prepare_cache(self, tokens: list[int]) -> None:
        """llama.generate reuses whatever prefix the KV cache shares with the prompt. A rewrite or compare call in
        between displaces the warmed prefix, so put it back when it covers more of this prompt than the cache does."""
        if not self.reuse_prefix:
            self._llama.reset()
            return
        snap = self._snapshot
        if snap is None:
            return
        cached = Llama.longest_token_prefix(self._llama.input_ids[: self._llama.n_tokens].tolist(), tokens)
        warmed = Llama.longest_token_prefix(snap.tokens, tokens)
        # Keep at least one prompt token to evaluate: generate then computes fresh logits to sample from.
        if cached < warmed < len(tokens):
            if not llama_cpp.llama_state_seq_set_data(self._llama.ctx, snap.state, len(snap.state), 0):
                log.warning("could not restore the warmed prefix; evaluating the whole prompt")
                self._llama.reset()
                return
            self._llama.input_ids[: len(snap.tokens)] = snap.tokens
            self._llama.n_tokens = len(snap.tokens)

    def _read_stats(self, prompt_tokens: int) -> Stats:
        perf = llama_cpp.llama_perf_context(self._llama.ctx)
        return Stats(prompt_tokens, perf.n_p_eval, perf.t_p_eval_ms, perf.n_eval, perf.t_eval_ms)

    def _prompt_tokens(self, messages: Sequence[Message], render: Jinja2ChatFormatter | None = None) -> list[int]:
        text = (render or self._render)(messages=[m.as_dict() for m in messages]).prompt
        # The template writes BOS itself if the model wants one, and its special tokens must parse as such.
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _check_fits(self, n_tokens: int) -> None:
        if n_tokens > self.n_ctx:
            raise LLMError(
                f"the prompt and answer need {n_tokens} tokens but the context holds {self.n_ctx}: "
                f"pack less context, or raise LAIDUB_N_CTX"
            )

    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._llama.detokenize([token], special=True).decode("utf-8", "replace")


def _chat_template(metadata: dict[str, str], chat_format: str, model_path: Path) -> tuple[str, str]:
    """The Jinja chat template to render prompts with, and where it came from (for the log)."""
    choices = f"'auto' (the GGUF's own template), {', '.join(map(repr, NAMED_TEMPLATES))}, or a Jinja template file"
    if chat_format == "auto":
        if template := metadata.get("tokenizer.chat_template"):
            return template, "the GGUF's own template (tokenizer.chat_template)"
        raise ModelError(f"{model_path} carries no chat template; set LAIDUB_CHAT_FORMAT to one of: {choices}")
    if chat_format in NAMED_TEMPLATES:
        return NAMED_TEMPLATES[chat_format], f"llama-cpp-python's {chat_format} template"
    path = Path(chat_format).expanduser()
    if path.is_file():
        return _template_file(path), f"the template file {path}"
    raise ModelError(f"unknown chat format {chat_format!r}; use one of: {choices}")


def _template_file(path: Path) -> str:
    """A Jinja chat template file's text, checked: it must parse and render the `messages` it is given (one that
    ignores them would send the model a prompt without the question, and every answer would be made up)."""
    setting = f"LAIDUB_CHAT_FORMAT={str(path)!r}"
    try:
        template = path.read_text(encoding="utf-8")
        variables = meta.find_undeclared_variables(Environment().parse(template))
    except UnicodeDecodeError:
        raise SettingsError(f"{setting}: not UTF-8 text") from None
    except TemplateSyntaxError as err:
        raise SettingsError(f"{setting}: not a Jinja template (line {err.lineno}: {err.message})") from None
    if "messages" not in variables:
        raise SettingsError(f"{setting}: the template never uses `messages`, so no prompt would hold the question")
    return template
