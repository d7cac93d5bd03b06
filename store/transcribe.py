"""Speech to transcript segments, offline: faster-whisper (int8 on CPU) with the bundled Whisper base model.

An episode is decoded and transcribed one window at a time (WINDOW seconds of 16 kHz mono), so
memory stays flat for a 3-hour file, and each finished window is checkpointed in the cache dir,
keyed by the audio's sha256 and the model, so a killed ingest continues from the last window.
A window ends at the quietest moment of its last seconds, not mid-word; the cut depends only
on the audio, so a resumed run cuts where the killed one did. Timestamps are offset by the
window's start. VAD (silero, shipped inside faster-whisper) skips silence and music.

The language is detected once per episode, on the first window with speech, as English or
Chinese (whichever Whisper rates likelier; Whisper heard espeak's Mandarin as Thai); Chinese
output is converted to simplified characters.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from store.audio import AudioFile
from store.episode import TranscriptSegment
from store.errors import ModelError, ParseError
from store.speech_model import WHISPER_BASE, resolve_whisper_model

RATE = 16_000  # what Whisper hears
LANGUAGES = ("en", "zh")
# Whisper base int8 on 2 busy cores (load 3.6), assistant/measure/speech.py's test speech: beam 1 gave English
# WER 0.079 at 14.8x realtime and Chinese CER 0.49 at 1.9x (its temperature fallbacks re-decode); beam 5 gave
# 0.067 at 14.4x and 0.41 at 8.3x. So beam 5.
BEAM_SIZE = 5
# faster-whisper's own vad_filter decodes the speech-only audio and maps segment starts back, and they land at
# the end of the previous speech: "The lighthouse keeper ..." spoken at 31.2 s was stamped 11.1 s, and with word
# timestamps one test sentence of 8 was still 30 s early (a clean-clone run: 26 s early, cited at 0:00). So we
# run its silero VAD ourselves and give Whisper the speech islands as clip timestamps: it decodes only those,
# at their real place, and all 8 sentences started within 0.5 s of where they are spoken. Speech closer than
# ISLAND_GAP is one island, so a sentence's pauses do not cut it.
ISLAND_GAP = 5.0
WORD_TIMESTAMPS = True
CUT_SEARCH = 10.0  # seconds at a window's end searched for its quietest moment
CUT_BLOCK = RATE // 10  # loudness is compared per 100 ms
CHECKPOINT_VERSION = 3  # bump when a checkpoint's meaning changes


@dataclass(frozen=True)
class Transcript:
    language: str  # "" when no window had speech
    segments: list[TranscriptSegment]
    duration: float  # seconds of audio decoded
    windows: int
    windows_resumed: int  # read from checkpoints instead of transcribed


@dataclass(frozen=True)
class Progress:
    name: str  # the file's name
    position: float  # seconds of audio done
    duration: float | None  # the whole file's, when the container says
    window: int  # 1-based
    resumed: int  # windows so far read from checkpoints
    speed: float  # audio seconds per wall second, this run's transcribed windows; 0 before the first
    done: bool = False  # the window is finished (else a segment inside it)

    @property
    def eta(self) -> float | None:
        if not self.duration or not self.speed:
            return None
        return max(self.duration - self.position, 0.0) / self.speed


class Transcriber:
    """Audio -> Transcript. The model is loaded on the first window that needs it, then kept."""

    def __init__(self, cache_dir: Path, model_dir: str = "", threads: int = 0, window_seconds: int = 300,
                 progress: Callable[[Progress], None] | None = None, beam_size: int = BEAM_SIZE):
        self.cache_dir = Path(cache_dir)
        self.model_dir = model_dir
        self.threads = threads or os.cpu_count() or 2
        self.window_seconds = window_seconds
        self.beam_size = beam_size
        self.progress = progress
        self._model = None
        self.load_seconds = 0.0  # how long loading the model took (0 until it is loaded)

    @property
    def model(self):
        if self._model is None:
            from faster_whisper import WhisperModel  # heavy (ctranslate2, onnxruntime): only when transcribing

            path = resolve_whisper_model(self.model_dir, self.cache_dir)
            start = time.perf_counter()
            try:
                self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=self.threads,
                                           local_files_only=True)
            except (RuntimeError, ValueError, OSError) as err:
                reason = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise ModelError(f"cannot load the Whisper model in {path} ({reason}); it may be damaged or not a "
                                 "CTranslate2 Whisper model. Set LAIDUB_WHISPER_MODEL to another, or unset it for "
                                 "the bundled base model.") from None
            self.load_seconds = time.perf_counter() - start
        return self._model

    def transcribe(self, audio: AudioFile) -> Transcript:
        checkpoints = self._checkpoint_dir(audio)
        segments: list[TranscriptSegment] = []
        language, position, resumed, windows = "", 0.0, 0, 0
        worked, work_seconds = 0.0, 0.0  # audio seconds transcribed this run, and the wall time it took
        for windows, (offset, samples) in enumerate(_windows(audio.path, self.window_seconds * RATE), start=1):
            length = len(samples) / RATE
            saved = _read_checkpoint(checkpoints / f"{windows:05d}.json", offset)
            if saved is None:
                self.model  # loaded (once) before the clock starts: speed and ETA exclude the model load
                start = time.perf_counter()
                language, found = self._transcribe_window(samples, offset, language, audio, windows, resumed,
                                                          worked / work_seconds if work_seconds else 0.0)
                worked, work_seconds = worked + length, work_seconds + time.perf_counter() - start
                _write_checkpoint(checkpoints / f"{windows:05d}.json", offset, language, found)
            else:
                found, language, resumed = saved[1], saved[0] or language, resumed + 1
            segments += found
            position = offset + length
            self._report(audio, position, windows, resumed, worked / work_seconds if work_seconds else 0.0, True)
        return Transcript(language, segments, position, windows, resumed)

    def _transcribe_window(self, samples: np.ndarray, offset: float, language: str, audio: AudioFile,
                           window: int, resumed: int, speed: float) -> tuple[str, list[TranscriptSegment]]:
        if samples.size < CUT_BLOCK:
            return language, []  # the tail of a file, or an empty one: too short to hold a word
        audio_f32 = samples.astype(np.float32) / 32768.0
        clips = _speech_islands(audio_f32)
        if not clips:
            return language, []  # no speech in this window (and nothing to detect a language from)

        def decode(lang: str | None):
            return self.model.transcribe(audio_f32, language=lang, beam_size=self.beam_size, vad_filter=False,
                                         clip_timestamps=clips, word_timestamps=WORD_TIMESTAMPS)

        pieces, info = decode(language or None)
        if not language:
            probabilities = dict(info.all_language_probs or [])
            language = max(LANGUAGES, key=lambda lang: probabilities.get(lang, 0.0))
            if language != info.language:  # the first pass would decode as another language: redo it as ours
                pieces, info = decode(language)
        found = []
        for piece in pieces:
            text = _simplified(piece.text.strip()) if language == "zh" else piece.text.strip()
            if text:
                found.append(TranscriptSegment(start=round(offset + piece.start, 2), end=round(offset + piece.end, 2),
                                               text=text))
                self._report(audio, offset + piece.end, window, resumed, speed, False)
        return language, found

    def _report(self, audio: AudioFile, position: float, window: int, resumed: int, speed: float, done: bool) -> None:
        if self.progress:
            self.progress(Progress(audio.path.name, position, audio.duration, window, resumed, speed, done))

    def _checkpoint_dir(self, audio: AudioFile) -> Path:
        """One folder per (audio, model, decoding settings): anything that changes the words changes the key."""
        if self.model_dir:
            model_bin = Path(self.model_dir).expanduser().resolve() / "model.bin"
            stat = model_bin.stat() if model_bin.is_file() else None
            model = f"{model_bin}:{stat.st_size}:{stat.st_mtime_ns}" if stat else str(model_bin)
        else:
            model = WHISPER_BASE.sha256
        settings = json.dumps([CHECKPOINT_VERSION, model, self.window_seconds, self.beam_size, WORD_TIMESTAMPS])
        key = hashlib.sha256(settings.encode()).hexdigest()[:12]
        return self.cache_dir / "transcripts" / f"{audio.sha256[:32]}-{key}"


def _windows(path: Path, size: int) -> Iterator[tuple[float, np.ndarray]]:
    """(start in seconds, int16 samples) per window of about `size` samples, decoded as the file is read."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    pending: list[np.ndarray] = []
    held, offset = 0, 0  # samples pending; samples before them
    for frame in _frames(path):
        for out in resampler.resample(frame):
            pending.append(out.to_ndarray().reshape(-1))
            held += pending[-1].size
        if held >= size:
            buffer = np.concatenate(pending)
            cut = _quiet_cut(buffer[:size])
            yield offset / RATE, buffer[:cut]
            pending, held, offset = [buffer[cut:]], buffer.size - cut, offset + cut
    for out in resampler.resample(None):
        pending.append(out.to_ndarray().reshape(-1))
    rest = np.concatenate(pending) if pending else np.zeros(0, np.int16)
    if rest.size or not offset:
        yield offset / RATE, rest


def _frames(path: Path) -> Iterator[av.AudioFrame]:
    """The file's audio frames, skipping frames the decoder rejects (a damaged stretch is lost, not fatal)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            frames = container.decode(audio=0)
            while True:
                try:
                    yield next(frames)
                except StopIteration:
                    return
                except av.InvalidDataError:
                    continue
    except av.FFmpegError as err:
        raise ParseError(str(path), f"cannot decode the audio ({err.strerror or err})") from None


def _speech_islands(audio: np.ndarray) -> list[float]:
    """[start, end, start, end, ...] in seconds: silero VAD's speech, chunks closer than ISLAND_GAP joined."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps  # with the model: not for every CLI start

    islands: list[list[float]] = []
    for chunk in get_speech_timestamps(audio, VadOptions()):
        start, end = chunk["start"] / RATE, chunk["end"] / RATE
        if islands and start - islands[-1][1] < ISLAND_GAP:
            islands[-1][1] = end
        else:
            islands.append([start, end])
    return [t for island in islands for t in island]


def _quiet_cut(samples: np.ndarray) -> int:
    """Where to end a window: the middle of the longest run of the quietest 100 ms blocks in its last CUT_SEARCH
    seconds. The longest run, not the first quietest block: a gap between two words can be as quiet as a pause
    (espeak-ng's are digital silence), and a clean-clone run cut "The orchestra ..." there."""
    search = min(int(CUT_SEARCH * RATE), samples.size // 2) // CUT_BLOCK * CUT_BLOCK
    if search < CUT_BLOCK:
        return samples.size
    tail = samples[samples.size - search:].astype(np.float32).reshape(-1, CUT_BLOCK)
    loudness = (tail**2).mean(axis=1)
    quiet = loudness <= loudness.min() * 2 + 1.0  # +1: int16 silence with a little dither still counts
    best_start, best_length, start = 0, 0, None
    for n, is_quiet in enumerate([*quiet, False]):
        if is_quiet and start is None:
            start = n
        elif not is_quiet and start is not None:
            if n - start > best_length:
                best_start, best_length = start, n - start
            start = None
    middle = best_start * CUT_BLOCK + best_length * CUT_BLOCK // 2
    return samples.size - search + middle


def _simplified(text: str) -> str:
    import zhconv

    return zhconv.convert(text, "zh-cn")


def _read_checkpoint(path: Path, offset: float) -> tuple[str, list[TranscriptSegment]] | None:
    """A finished window's (language, segments), or None when there is none (or it is unreadable: redo it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if abs(data["offset"] - offset) > 1e-6:
            return None
        return data["language"], [TranscriptSegment(start=s, end=e, text=t) for s, e, t in data["segments"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_checkpoint(path: Path, offset: float, language: str, segments: list[TranscriptSegment]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"offset": offset, "language": language, "segments": [[s.start, s.end, s.text] for s in segments]}
    fd, tmp = tempfile.mkstemp(prefix=".window-", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False)
    os.replace(tmp, path)  # a kill mid-write leaves the window undone, never half-saved
