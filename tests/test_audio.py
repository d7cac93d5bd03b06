"""Audio episodes (issue #16): the Whisper model supply, bad audio, and (e2e) real transcription of speech the
tests make with espeak-ng and sox: English WER, Chinese CER, cited timestamps, silence, a killed ingest resuming."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.measure.speech import CHINESE, ENGLISH, characters, error_rate, synthesize, words
from assistant.render import transcript_json
from store.audio import probe_audio, readable_name
from store.errors import ModelError, ParseError
from store.library import Library
from store.speech_model import check_model_dir, resolve_whisper_model
from store.transcribe import RATE, Transcriber, _quiet_cut, _windows

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("speech")
    return {"en": (root / "english-talk.flac", synthesize(ENGLISH, "en", root / "english-talk.flac")),
            "zh": (root / "chinese-talk.ogg", synthesize(CHINESE, "cmn-latn-pinyin", root / "chinese-talk.ogg"))}


@pytest.fixture(scope="module")
def transcriber(cache_dir: Path, tmp_path_factory) -> Transcriber:
    """The bundled model from the user's cache, checkpoints in a fresh dir: every run really transcribes."""
    model = resolve_whisper_model("", cache_dir)
    return Transcriber(tmp_path_factory.mktemp("checkpoints"), model_dir=str(model), window_seconds=60)


def _library(tmp_path: Path, cache_dir: Path, transcriber: Transcriber) -> Library:
    return Library(tmp_path / "data", cache_dir, alias_files=[SEEDS / "aliases.toml"], transcriber=transcriber)


def test_the_bundled_model_is_one_loadable_directory(cache_dir: Path):
    path = resolve_whisper_model("", cache_dir)
    assert sorted(p.name for p in path.iterdir() if not p.name.startswith(".")) == [
        "config.json", "model.bin", "model.bin.verified", "tokenizer.json", "vocabulary.txt"]
    assert resolve_whisper_model("", cache_dir) == path  # again: trusted by its stamp, not re-assembled


def test_a_broken_model_dir_is_one_clear_model_error(tmp_path: Path):
    with pytest.raises(ModelError, match="no such directory"):
        check_model_dir(tmp_path / "missing")
    with pytest.raises(ModelError, match="has no model.bin, config.json"):
        check_model_dir(tmp_path)
    for name in ("model.bin", "config.json", "vocabulary.txt"):
        (tmp_path / name).write_text("{}" if name == "config.json" else "garbage")
    broken = Transcriber(tmp_path, model_dir=str(tmp_path))
    with pytest.raises(ModelError, match="cannot load the Whisper model"):
        broken.model


def test_the_vad_model_ships_inside_faster_whisper_and_runs_offline():
    import numpy as np
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    assert get_speech_timestamps(np.zeros(16000 * 3, np.float32), VadOptions()) == []


def test_corrupt_and_non_audio_files_are_one_clear_line(tmp_path: Path, speech):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all")
    with pytest.raises(ParseError, match="notes.mp3: not an audio file that can be decoded"):
        probe_audio(text)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(speech["en"][0].read_bytes()[:200])
    with pytest.raises(ParseError, match="cut.flac"):
        probe_audio(cut)


def test_windows_cover_the_audio_exactly_and_cut_in_silence(speech):
    path, placed = speech["en"]
    pieces = list(_windows(path, 30 * 16000))
    assert len(pieces) >= 3
    position = 0.0
    for start, samples in pieces:
        assert start == pytest.approx(position)
        position += samples.size / 16000
    assert position == pytest.approx(placed[-1].end + 1.0, abs=0.05)  # synthesize's 1 s tail
    for start, _ in pieces[1:]:  # no cut inside a sentence
        assert not any(p.start + 0.1 < start < p.end - 0.1 for p in placed), start


def test_a_window_ends_in_the_longest_pause_not_in_a_gap_between_words():
    """espeak-ng's gaps between words are digital silence, as quiet as a pause: the first quietest block was one."""
    rng = np.random.default_rng(0)
    speech = lambda seconds: rng.integers(-8000, 8000, int(seconds * RATE)).astype(np.int16)  # noqa: E731
    silence = lambda seconds: np.zeros(int(seconds * RATE), np.int16)  # noqa: E731
    samples = np.concatenate([speech(20), silence(0.3), speech(3), silence(1.5), speech(4)])  # 28.8 s
    cut = _quiet_cut(samples) / RATE
    assert 23.3 < cut < 24.8, cut  # inside the 1.5 s pause, not the 0.3 s gap at 20 s


def test_titles_come_from_tags_else_a_readable_file_name(speech):
    assert probe_audio(speech["en"][0]).title == "English talk"
    assert readable_name("my_show-ep_042") == "My show ep 042"


@pytest.mark.e2e
def test_english_speech_is_transcribed_searchable_and_cited_at_the_second(tmp_path, cache_dir, transcriber, speech):
    path, placed = speech["en"]
    library = _library(tmp_path, cache_dir, transcriber)
    [result] = library.ingest([path])
    episode = library.episode(result.episode_id)
    said = " ".join(p.text for p in placed)
    wer = error_rate(words(said), words(" ".join(s.text for s in episode.transcript)))
    print(f"English WER {wer:.3f}")
    assert wer <= 0.15
    assert episode.languages == ["en"] and episode.media_url.startswith("file://")
    copy = Path(episode.media_url.removeprefix("file://"))
    assert copy.read_bytes() == path.read_bytes() and (copy.parent.stat().st_mode & 0o777) == 0o700
    assert transcript_json(episode)["segments"][0]["body"] == episode.transcript[0].text
    offsets = []
    for line in placed:
        hit = library.search(line.text, k=1)[0]
        offsets.append(hit.chunk.start - line.start)
        assert hit.chunk.episode_id == episode.id
    print("search hit start - spoken start:", [round(o, 1) for o in offsets])
    assert sum(abs(o) <= 15 for o in offsets) >= len(offsets) - 1  # see WORD_TIMESTAMPS: one still lands early


@pytest.mark.e2e
def test_chinese_speech_is_detected_and_simplified(tmp_path, cache_dir, transcriber, speech):
    import zhconv

    path, placed = speech["zh"]
    transcript = transcriber.transcribe(probe_audio(path))
    heard = "".join(s.text for s in transcript.segments)
    cer = error_rate(characters("".join(p.text for p in placed)), characters(heard))
    print(f"Chinese CER {cer:.3f}: {heard}")
    assert transcript.language == "zh"
    assert zhconv.convert(heard, "zh-cn") == heard
    assert cer < 0.7  # espeak-ng's Mandarin is hard to hear; the bench reports the figure


@pytest.mark.e2e
def test_silence_is_an_empty_transcript_notice_and_nothing_is_indexed(tmp_path, cache_dir, transcriber):
    quiet = tmp_path / "quiet.wav"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(quiet), "trim", "0", "20"], check=True)
    library = _library(tmp_path, cache_dir, transcriber)
    with pytest.raises(ParseError, match="no speech found .* nothing indexed"):
        library.ingest([quiet])
    assert library.is_empty() and not (tmp_path / "data" / "media").exists()


@pytest.mark.e2e
def test_a_killed_ingest_resumes_from_its_last_window(tmp_path, make_env, laidub, speech):
    path, placed = speech["en"]
    cache = tmp_path / "cache"  # its own: no checkpoints from other tests; the model is re-assembled here (~1 s)
    env = make_env(tmp_path / "data", LAIDUB_CACHE_DIR=str(cache), LAIDUB_SEEDS_DIR=str(tmp_path / "no-seeds"),
                   LAIDUB_TRANSCRIBE_WINDOW="30")
    from conftest import VENV_BIN

    process = subprocess.Popen([str(VENV_BIN / "laidub"), "ingest", str(path)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list(cache.glob("transcripts/*/00001.json")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(list(cache.glob("transcripts/*/*.json")))
    assert 1 <= done_before < 4
    again = laidub(env, "ingest", str(path), "--json")
    assert again.returncode == 0, again.stderr
    assert f"{done_before} from checkpoints" in again.stderr
    episode_id = json.loads(again.stdout)["ingested"][0]["episode_id"]
    exported = json.loads(laidub(env, "export", episode_id, "--transcript").stdout)
    heard = " ".join(s["body"] for s in exported["segments"])
    assert error_rate(words(" ".join(p.text for p in placed)), words(heard)) <= 0.15  # whole, not only the tail
