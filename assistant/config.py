"""All configuration in one table: each setting's default, `LAIDUB_*` variable and help, declared once.

Defaults work offline on a laptop: an embedded Chroma under the user's data dir, the default
GGUF assembled into the user's cache dir, the UI on 127.0.0.1. CLI flags override the variables.
A value that cannot work (`LAIDUB_N_CTX=abc`, a port of 99999) is a SettingsError naming the
variable, before anything starts. The README's configuration table is `settings_table()`
(a test keeps the two equal).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.errors import SettingsError

REPO = Path(__file__).resolve().parent.parent


def _xdg(var: str, fallback: str, leaf: str) -> Callable[[], Path]:
    return lambda: Path(os.environ.get(var) or Path.home() / fallback) / leaf


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("", "0", "false", "no", "off")


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """A parser for a whole number in [low, high]."""

    def parse(text: str) -> int:
        value = int(text)  # ValueError: reported with the variable's name
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be {low} or more" if high is None else f"must be between {low} and {high}")
        return value

    return parse


def setting(default: Any, env: str, help: str, parse: Callable[[str], Any] = str, shown: str = "") -> Any:
    """A Settings field: its default (a value or a zero-argument factory), its variable, its help.

    `shown` is the default as the README states it, where the value itself depends on the machine.
    """
    factory = default if callable(default) else (lambda: default)
    meta = {"env": env, "help": help, "parse": parse, "shown": shown or (f"`{default}`" if default != "" else "")}
    return field(default_factory=factory, metadata=meta)


@dataclass
class Settings:
    data_dir: Path = setting(_xdg("XDG_DATA_HOME", ".local/share", "laidub"), "LAIDUB_DATA_DIR",
                             "Chroma data, your `aliases.toml` / `glossary.toml`", _path, "`~/.local/share/laidub`")
    cache_dir: Path = setting(_xdg("XDG_CACHE_HOME", ".cache", "laidub"), "LAIDUB_CACHE_DIR",
                              "assembled models, embedding cache, the system prompt's saved KV state", _path,
                              "`~/.cache/laidub`")
    seeds_dir: Path = setting(REPO / "seeds", "LAIDUB_SEEDS_DIR", "indexed on the first run, when the library is empty",
                              _path, "`seeds/`")
    prompts_dir: Path = setting(REPO / "prompts", "LAIDUB_PROMPTS_DIR", "the prompt and message files", _path,
                                "`prompts/`")
    chroma_url: str = setting("", "LAIDUB_CHROMA_URL", "use a Chroma server, e.g. `http://127.0.0.1:8000`",
                              shown="(embedded)")
    collection: str = setting("laidub", "LAIDUB_COLLECTION", "collection name prefix")
    server_fulltext_words: int = setting(0, "LAIDUB_SERVER_FULLTEXT_WORDS",
                                         "with a Chroma server: question words no dense candidate holds, asked of its "
                                         "full-text index (each scans the library; see Scale-out)", _whole(0, 10))
    model_path: str = setting("", "LAIDUB_MODEL", "any GGUF file, used with its own chat template",
                              shown="(default 1.5B)")
    fast: bool = setting(False, "LAIDUB_FAST", "`1`: the 0.5B model (`--fast`)", _flag, "off")
    chat_format: str = setting("auto", "LAIDUB_CHAT_FORMAT",
                               "`auto` uses the GGUF's own chat template; or `chatml`, `llama-3`, a Jinja file")
    llm_url: str = setting("", "LAIDUB_LLM_URL", "an OpenAI-compatible server, e.g. `http://127.0.0.1:8080/v1`",
                           shown="(in process)")
    llm_model: str = setting("", "LAIDUB_LLM_MODEL", "model name for that server (default: the first it lists)")
    llm_api_key: str = setting("", "LAIDUB_LLM_API_KEY", "API key for that server")
    n_threads: int = setting(0, "LAIDUB_THREADS", "llama.cpp and Whisper threads; `0`: all cores", _whole(0))
    whisper_model: str = setting("", "LAIDUB_WHISPER_MODEL", "any CTranslate2 Whisper model directory, for audio",
                                 shown="(bundled base)")
    # Each window is decoded, transcribed and checkpointed alone: memory holds one window (5 min of 16 kHz
    # audio is 10 MB), and a killed ingest loses at most one window's work (about 50 s at 6x realtime).
    transcribe_window: int = setting(300, "LAIDUB_TRANSCRIBE_WINDOW",
                                     "seconds of audio transcribed and checkpointed at a time", _whole(30, 3600))
    # Below 512 tokens the system prompt, a source and an answer no longer fit.
    n_ctx: int = setting(4096, "LAIDUB_N_CTX", "model context, in tokens", _whole(512))
    max_answer_tokens: int = setting(320, "LAIDUB_MAX_ANSWER_TOKENS", "longest answer, in tokens", _whole(16))
    # Sources in the prompt: the main cost before the first token. Measured on the dev questions with the
    # 1.5B model (2 cores reading ~80 prompt tokens/s): 480 -> first token p50 5.5 s, citation hit rate
    # 0.86; 240 -> 3.5 s, 0.86; 200 -> 2.1 s, 1.0 (mostly one source, the best hit, instead of two).
    context_tokens: int = setting(200, "LAIDUB_CONTEXT_TOKENS",
                                  "source tokens per prompt (the latency budget; raise it on a faster machine)",
                                  _whole(50))
    max_question_chars: int = setting(1000, "LAIDUB_MAX_QUESTION_CHARS", "longer questions are rejected",
                                      _whole(10))
    # Per network step (connect, each read) and for a whole fetch: a feed of a few MB arrives within seconds on
    # a slow line; a server that stalls longer than this is not going to finish.
    fetch_timeout: int = setting(30, "LAIDUB_FETCH_TIMEOUT", "seconds a feed, chapters or transcript download may take",
                                 _whole(1))
    host: str = setting("127.0.0.1", "LAIDUB_HOST", "the UI's address; other hosts require `LAIDUB_AUTH`")
    port: int = setting(7860, "LAIDUB_PORT", "the UI's port", _whole(1, 65535))
    auth: str = setting("", "LAIDUB_AUTH", "`user:pass` for the UI")

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """The environment's settings, with `overrides` (CLI flags; None means not given) on top."""
        values = {}
        for f in dataclasses.fields(cls):
            if overrides.get(f.name) is not None:
                values[f.name] = _parse(f, overrides[f.name], f"--{f.name.replace('_', '-')}")
            elif text := os.environ.get(f.metadata["env"], ""):  # set but empty counts as unset
                values[f.name] = _parse(f, text, f.metadata["env"])
        return cls(**values)

    @property
    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 2


def _parse(f: dataclasses.Field, value: Any, source: str) -> Any:
    """A setting's value from its text (or a number given in code), checked; SettingsError names `source`."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return value  # a flag or a Path given in code
    try:
        return f.metadata["parse"](str(value))
    except ValueError as err:
        reason = str(err) if str(err).startswith("must") else "must be a whole number"
        raise SettingsError(f"{source}={value!r}: {reason}") from None


def settings_table() -> str:
    """The README's configuration table, made from the settings themselves."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        rows.append(f"| `{f.metadata['env']}` | {f.metadata['shown']} | {f.metadata['help']} |")
    return "\n".join(rows)
