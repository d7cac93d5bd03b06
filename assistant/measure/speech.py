"""Speech with known words at known seconds, made here (espeak-ng and sox), and how well a transcript got it.

Tests and `laidub bench --audio` both need speech whose text and timing are known, and no
network: espeak-ng speaks each sentence, sox puts them at their offsets with silence between.
Chinese is spoken from pinyin with tone numbers (espeak-ng's `cmn-latn-pinyin` voice): its
character dictionary reads many common characters as English words ("们" as "men five").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from store.errors import SettingsError

RATE = 16_000


@dataclass(frozen=True)
class Line:
    text: str  # what is said, as a transcript should read it
    spoken: str = ""  # what espeak-ng is given, when not the text (pinyin for Chinese)
    pause: float = 1.0  # seconds of silence before it


@dataclass(frozen=True)
class Placed:
    text: str
    start: float  # seconds
    end: float


def check_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if not shutil.which(tool)]
    if missing:
        raise SettingsError(f"making test speech needs {' and '.join(missing)} (apt-get install espeak-ng sox)")


def synthesize(lines: list[Line], voice: str, target: Path, tail: float = 1.0) -> list[Placed]:
    """Speak the lines into one 16 kHz mono file at target (any suffix sox writes: .wav .flac .ogg ...),
    each after its pause; returns where each line is."""
    check_tools()
    placed, parts, at = [], [], 0.0
    with tempfile.TemporaryDirectory(prefix="laidub-speech-") as tmp:
        for n, line in enumerate([*lines, Line("", pause=tail)]):
            if line.pause:
                parts.append(_silence(Path(tmp) / f"{n}-pause.wav", line.pause))
                at += line.pause
            if not line.text:
                continue
            spoken = Path(tmp) / f"{n}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(spoken), line.spoken or line.text],
                           check=True, capture_output=True)
            parts.append(Path(tmp) / f"{n}-16k.wav")
            subprocess.run(["sox", str(spoken), "-r", str(RATE), "-c", "1", str(parts[-1])], check=True)
            length = _seconds(parts[-1])
            placed.append(Placed(line.text, round(at, 3), round(at + length, 3)))
            at += length
        subprocess.run(["sox", *map(str, parts), str(target)], check=True, capture_output=True)
    return placed


def repeat_with_silence(source: Path, target: Path, times: int, silence: float) -> None:
    """target = (source, then `silence` seconds) `times` over: a long file that is mostly silence."""
    check_tools()
    with tempfile.TemporaryDirectory(prefix="laidub-speech-") as tmp:
        gap = _silence(Path(tmp) / "gap.wav", silence)
        island = Path(tmp) / "island.wav"
        subprocess.run(["sox", str(source), str(gap), str(island)], check=True, capture_output=True)
        subprocess.run(["sox", str(island), str(target), "repeat", str(times - 1)], check=True, capture_output=True)


def _silence(path: Path, seconds: float) -> Path:
    subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "trim", "0", f"{seconds:.3f}"],
                   check=True)
    return path


def _seconds(path: Path) -> float:
    return float(subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True).stdout)


def words(text: str) -> list[str]:
    """English words for WER: lowercased, punctuation dropped ("lap-top" and "laptop" differ, as they should)."""
    return re.findall(r"[a-z0-9']+", text.lower())


def characters(text: str) -> list[str]:
    """Chinese characters for CER: letters and digits only, full-width forms folded."""
    return [c for c in unicodedata.normalize("NFKC", text) if c.isalnum()]


def error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """(substitutions + deletions + insertions) / len(reference): WER over words, CER over characters."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1] / max(len(reference), 1)


# The speech tests and the bench use: distinctive sentences, some close together, some after long pauses.
ENGLISH = [
    Line("Welcome to the show about offline speech recognition on small computers.", pause=0.5),
    Line("Today we talk about running language models on a laptop without any network."),
    Line("The lighthouse keeper counted seventeen purple umbrellas on the beach.", pause=20),
    Line("Our guest explains why batteries lose their charge in cold weather."),
    Line("Small models can be surprisingly useful when they run close to the data.", pause=2),
    Line("The orchestra rehearsed the symphony in an abandoned railway station.", pause=30),
    Line("Every answer should point to the second where the words were spoken."),
    Line("Thank you for listening and see you next week.", pause=15),
]
CHINESE = [
    Line("今天我们讨论人工智能的未来。", "jin1 tian1 wo3 men5 tao3 lun4 ren2 gong1 zhi4 neng2 de5 wei4 lai2.", 0.5),
    Line("语音识别可以在电脑上离线运行。", "yu3 yin1 shi2 bie2 ke3 yi3 zai4 dian4 nao3 shang4 li2 xian4 yun4 xing2."),
    Line("我们的客人喜欢在山上跑步。", "wo3 men5 de5 ke4 ren2 xi3 huan1 zai4 shan1 shang4 pao3 bu4.", 5),
    Line("谢谢大家收听，下周再见。", "xie4 xie4 da4 jia1 shou1 ting1, xia4 zhou1 zai4 jian4.", 3),
]
