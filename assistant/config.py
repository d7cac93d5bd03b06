"""All configuration in one place: `LAIDUB_*` environment variables, overridable by CLI flags.

Defaults work offline on a laptop: an embedded Chroma under the user's data dir, the default
GGUF assembled into the user's cache dir, the UI on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


@dataclass
class Settings:
    data_dir: Path  # Chroma's files and the user's alias file live here
    cache_dir: Path  # assembled GGUF models
    seeds_dir: Path  # ingested automatically when the index is empty
    prompts_dir: Path
    chroma_url: str = ""  # set: use a Chroma server instead of the embedded store
    collection: str = "laidub"
    model_path: str = ""  # any GGUF; empty: the default model from the packages
    fast: bool = False  # the 0.5B model instead of the 1.5B
    chat_format: str = "auto"  # auto: the GGUF's own template; or chatml, llama-3, a Jinja file
    llm_url: str = ""  # set: an OpenAI-compatible server generates instead
    llm_model: str = ""  # model name sent to that server
    llm_api_key: str = ""
    n_threads: int = 0  # 0: all cores
    n_ctx: int = 4096
    max_answer_tokens: int = 320
    # Sources in the prompt: the main cost before the first token. Measured on the dev questions with the
    # 1.5B model (2 cores reading ~80 prompt tokens/s): 480 -> first token p50 5.5 s, citation hit rate
    # 0.86; 240 -> 3.5 s, 0.86; 200 -> 2.1 s, 1.0 (mostly one source, the best hit, instead of two).
    context_tokens: int = 200
    max_question_chars: int = 1000
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:pass", required when host is not loopback

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = os.environ.get
        settings = cls(
            data_dir=Path(env("LAIDUB_DATA_DIR") or _xdg("XDG_DATA_HOME", ".local/share") / "laidub"),
            cache_dir=Path(env("LAIDUB_CACHE_DIR") or _xdg("XDG_CACHE_HOME", ".cache") / "laidub"),
            seeds_dir=Path(env("LAIDUB_SEEDS_DIR") or REPO / "seeds"),
            prompts_dir=Path(env("LAIDUB_PROMPTS_DIR") or REPO / "prompts"),
            chroma_url=env("LAIDUB_CHROMA_URL", ""),
            collection=env("LAIDUB_COLLECTION", "laidub"),
            model_path=env("LAIDUB_MODEL", ""),
            fast=env("LAIDUB_FAST", "") not in ("", "0", "false"),
            chat_format=env("LAIDUB_CHAT_FORMAT", "auto"),
            llm_url=env("LAIDUB_LLM_URL", ""),
            llm_model=env("LAIDUB_LLM_MODEL", ""),
            llm_api_key=env("LAIDUB_LLM_API_KEY", ""),
            n_threads=int(env("LAIDUB_THREADS", "0")),
            n_ctx=int(env("LAIDUB_N_CTX", "4096")),
            max_answer_tokens=int(env("LAIDUB_MAX_ANSWER_TOKENS", "320")),
            context_tokens=int(env("LAIDUB_CONTEXT_TOKENS", "200")),
            max_question_chars=int(env("LAIDUB_MAX_QUESTION_CHARS", "1000")),
            host=env("LAIDUB_HOST", "127.0.0.1"),
            port=int(env("LAIDUB_PORT", "7860")),
            auth=env("LAIDUB_AUTH", ""),
        )
        return dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def threads(self) -> int:
        return self.n_threads or os.cpu_count() or 2
