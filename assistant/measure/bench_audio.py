"""`laidub bench --audio`: transcription speed, accuracy and memory, on speech made here (speech.py).

- English speech with short pauses (dense, as a podcast is): the realtime factor of our
  Transcriber (model load excluded, reported beside it), raw faster-whisper `transcribe` on the
  same file with the same options, and our whole `ingest` of it (probe, sha256, transcription,
  chunking, embedding, indexing), as a ratio to the raw transcription; WER.
- Chinese speech (espeak-ng's Mandarin from pinyin): CER and realtime factor.
- A 3-hour file, a speech island every 10 minutes and silence between: RSS after each window,
  to show memory stays flat.
Everything runs in a temporary directory; the user's index is never touched.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from assistant.config import Settings
from assistant.measure.speech import CHINESE, ENGLISH, characters, error_rate, repeat_with_silence, synthesize, words
from store import embedder
from store.audio import probe_audio
from store.library import Library
from store.speech_model import resolve_whisper_model
from store.transcribe import BEAM_SIZE, WORD_TIMESTAMPS, Transcriber

LONG_HOURS = 3
ISLAND_EVERY = 600  # seconds: one speech island per 10 minutes of the long file


def bench_audio(settings: Settings, progress: Callable[[str], None]) -> dict:
    model_dir = str(resolve_whisper_model(settings.whisper_model, settings.cache_dir))
    with tempfile.TemporaryDirectory(prefix="laidub-bench-audio-") as tmp:
        root = Path(tmp)
        progress("audio: making speech (espeak-ng, sox)")
        dense = [dataclasses.replace(line, pause=1.0) for line in ENGLISH] * 3
        english = root / "english.flac"
        en_placed = synthesize(dense, "en", english)
        chinese = root / "chinese.flac"
        zh_placed = synthesize(CHINESE, "cmn-latn-pinyin", chinese)
        transcriber = Transcriber(root / "checkpoints", model_dir, settings.threads, settings.transcribe_window)
        start = time.perf_counter()
        transcriber.model
        report: dict = {"model_load_s": round(time.perf_counter() - start, 2), "beam_size": BEAM_SIZE,
                        "word_timestamps": WORD_TIMESTAMPS, "threads": settings.threads}

        progress("audio: raw faster-whisper transcribe")
        start = time.perf_counter()
        pieces, _ = transcriber.model.transcribe(str(english), beam_size=BEAM_SIZE, vad_filter=True,
                                                 word_timestamps=WORD_TIMESTAMPS)
        list(pieces)
        raw_s = time.perf_counter() - start

        progress("audio: laidub ingest of the same file")
        embedder.engine()  # loaded once per process, like the Whisper model: not part of an ingest
        library = Library(root / "data", root / "embeddings", transcriber=transcriber)
        start = time.perf_counter()
        library.ingest([english])
        ingest_s = time.perf_counter() - start

        progress("audio: our transcription alone")
        ours = _timed(transcriber, english, root)
        said = " ".join(p.text for p in en_placed)
        report["english"] = {
            "audio_s": round(ours["audio_s"], 1), "realtime_factor": ours["realtime_factor"],
            "raw_faster_whisper_realtime_factor": round(ours["audio_s"] / raw_s, 1),
            "ingest_s": round(ingest_s, 1), "raw_transcribe_s": round(raw_s, 1),
            "ingest_over_raw": round(ingest_s / raw_s, 2),
            "wer": round(error_rate(words(said), words(ours["text"])), 3),
        }
        progress("audio: Chinese")
        zh = _timed(transcriber, chinese, root)
        report["chinese"] = {"audio_s": round(zh["audio_s"], 1), "realtime_factor": zh["realtime_factor"],
                             "language": zh["language"],
                             "cer": round(error_rate(characters("".join(p.text for p in zh_placed)),
                                                     characters(zh["text"])), 3)}
        progress(f"audio: a {LONG_HOURS}-hour file")
        report["long"] = _bench_long(transcriber, root)
    return report


def _timed(transcriber: Transcriber, path: Path, root: Path) -> dict:
    for old in (root / "checkpoints" / "transcripts").glob("*/*.json"):
        old.unlink()  # a fresh transcription, not one read back from checkpoints
    audio = probe_audio(path)
    start = time.perf_counter()
    transcript = transcriber.transcribe(audio)
    seconds = time.perf_counter() - start
    return {"audio_s": transcript.duration, "realtime_factor": round(transcript.duration / seconds, 1),
            "language": transcript.language, "text": " ".join(s.text for s in transcript.segments)}


def _bench_long(transcriber: Transcriber, root: Path) -> dict:
    island = root / "island.flac"
    synthesize([ENGLISH[2], ENGLISH[3]], "en", island)
    long_file = root / "long.flac"
    repeat_with_silence(island, long_file, LONG_HOURS * 3600 // ISLAND_EVERY, ISLAND_EVERY - 12.0)
    process = psutil.Process()
    rss: list[float] = []
    transcriber.progress = lambda p: rss.append(process.memory_info().rss / 2**20) if p.done else None
    before = process.memory_info().rss / 2**20
    start = time.perf_counter()
    transcript = transcriber.transcribe(probe_audio(long_file))
    seconds = time.perf_counter() - start
    transcriber.progress = None
    return {"audio_s": round(transcript.duration), "windows": transcript.windows, "seconds": round(seconds, 1),
            "realtime_factor": round(transcript.duration / seconds, 1), "segments": len(transcript.segments),
            "rss_mb_before": round(before), "rss_mb_first_window": round(rss[0]),
            "rss_mb_middle_window": round(rss[len(rss) // 2]), "rss_mb_last_window": round(rss[-1]),
            "rss_mb_peak_sampled": round(max(rss))}
