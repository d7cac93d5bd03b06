"""Timed pieces of transcript text (words, lines, paragraphs) -> one segment per sentence.

JSON and HTML transcripts come at any granularity: Podcasting 2.0 files often give one word per
segment, HTML one paragraph per speaker turn. A citation points at a segment's start, so both
become sentences: consecutive pieces of one speaker are joined until a sentence ends, and a piece
holding several sentences is split, each sentence timed by its share of the piece's characters
(an estimate; the file gives no finer time). Empty pieces are dropped, and so are those of
punctuation only, which end the sentence they follow instead of becoming one. Without punctuation
(raw speech recognition), a sentence ends at a pause of PAUSE_SECONDS or at MAX_SENTENCE_CHARS.

Abbreviations ("Dr. Smith") end a sentence too: no rule tells them from a sentence end in every
language, and an early end only moves a citation's time earlier within the same speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from store.episode import TranscriptSegment

# A sentence end: Latin end punctuation (and closing quotes) before a space, or CJK end punctuation.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|[。！？]+[」』”’）]*")
_ENDS_SENTENCE = re.compile(r"(?:[.!?…]+[\"'”’)\]]*|[。！？]+[」』”’）]*)$")
_WORDLIKE = re.compile(r"\w")
PAUSE_SECONDS = 2.0  # between words of one sentence, speech recognisers rarely leave more
MAX_SENTENCE_CHARS = 400  # about 25 s of speech, well inside a 60 s search window


@dataclass
class _Sentence:
    start: float
    end: float
    speaker: str
    text: str


def sentences(pieces: list[TranscriptSegment]) -> list[TranscriptSegment]:
    """`pieces` in time order, as sentence segments."""
    done: list[TranscriptSegment] = []
    open_: _Sentence | None = None  # the sentence still being joined

    def close() -> None:
        nonlocal open_
        if open_:
            done.append(TranscriptSegment(open_.start, open_.end, open_.text, open_.speaker))
        open_ = None

    for piece in sorted(pieces, key=lambda p: p.start):
        text = " ".join(piece.text.split())
        if not _WORDLIKE.search(text):
            if open_ and text:
                open_.text += text
                open_.end = max(open_.end, piece.end)
                close()
            continue
        if open_ and (piece.speaker != open_.speaker or piece.start - open_.end > PAUSE_SECONDS
                      or len(open_.text) + len(text) > MAX_SENTENCE_CHARS):  # fmt: skip
            close()
        for start, end, part in _split(piece.start, piece.end, text):
            if open_:
                open_.text, open_.end = f"{open_.text} {part}", end
            else:
                open_ = _Sentence(start, end, piece.speaker, part)
            if _ENDS_SENTENCE.search(part):
                close()
    close()
    return done


def _split(start: float, end: float, text: str) -> list[tuple[float, float, str]]:
    """The sentences of one piece, each with its share of the piece's time."""
    cuts = [0, *(match.end() for match in _END.finditer(text)), len(text)]
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        part = text[a:b].strip()
        if part:
            parts.append((start + (end - start) * a / len(text), start + (end - start) * b / len(text), part))
    return parts
