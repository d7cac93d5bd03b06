"""The system prompt's KV state on disk, so a fresh process restores it instead of evaluating it again.

A file holds one prompt's tokens and llama.cpp's serialized KV cells of sequence 0 after evaluating
exactly those tokens. It is named by what it depends on (the model file's path, size and mtime,
llama.cpp's version, the context settings that shape the cells, and the tokens' hash), so a changed
model or prompt finds no file rather than a wrong one. A checksum covers the contents: a truncated or
corrupt file reads as missing (and is rewritten), never as state. Writes go to a temporary file in
the same directory and are renamed over, so a reader sees a whole file or none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
from array import array
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"laidub-prompt-state-1\n"
_DIGEST = 32  # sha256 of everything after it
_COUNT = struct.Struct("<I")  # number of tokens, then that many int32 tokens, then the state bytes


class PromptStateFiles:
    """Saved prompt states for one model and context configuration, in `directory`."""

    def __init__(self, directory: Path, model_path: Path, context: dict):
        stat = model_path.stat()
        identity = {"model": str(model_path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **context}
        self.directory = directory
        self._model_stem = model_path.stem
        self._identity = json.dumps(identity, sort_keys=True)

    def path(self, tokens: list[int]) -> Path:
        key = hashlib.sha256(self._identity.encode() + array("i", tokens).tobytes()).hexdigest()[:32]
        return self.directory / f"{self._model_stem}-{key}.kv"

    def load(self, tokens: list[int]) -> bytes | None:
        """The saved state after exactly `tokens`, or None if there is none or the file is damaged."""
        path = self.path(tokens)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            log.warning("cannot read the saved prompt state %s (%s); evaluating the prompt", path, e)
            return None
        state = _decode(data, tokens)
        if state is None:
            log.warning("ignoring the damaged or mismatched prompt state %s; it will be rewritten", path)
        return state

    def save(self, tokens: list[int], state: bytes) -> None:
        """Write the state atomically and drop this model's states for other prompts (one is ever read)."""
        path, temporary = self.path(tokens), None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".tmp-", suffix=".kv", delete=False) as f:
                temporary = Path(f.name)
                f.write(_encode(tokens, state))
            os.replace(temporary, path)
        except OSError as e:  # a read-only or full cache dir costs speed, not the answer
            log.warning("cannot save the prompt state to %s (%s)", path, e)
            if temporary:
                temporary.unlink(missing_ok=True)
            return
        for stale in self.directory.glob(f"{self._model_stem}-*.kv"):
            if stale != path:
                stale.unlink(missing_ok=True)


def _encode(tokens: list[int], state: bytes) -> bytes:
    body = _COUNT.pack(len(tokens)) + array("i", tokens).tobytes() + state
    return MAGIC + hashlib.sha256(body).digest() + body


def _decode(data: bytes, tokens: list[int]) -> bytes | None:
    head = len(MAGIC) + _DIGEST
    if not data.startswith(MAGIC) or len(data) < head + _COUNT.size:
        return None
    digest, body = data[len(MAGIC) : head], data[head:]
    if hashlib.sha256(body).digest() != digest:
        return None
    (count,) = _COUNT.unpack_from(body)
    end = _COUNT.size + 4 * count
    if count != len(tokens) or array("i", body[_COUNT.size : end]).tolist() != tokens or end == len(body):
        return None
    return body[end:]
