"""`laidub bench --chapters`: how well topic segmentation finds the seed episodes' real chapters.

Each seed episode becomes a pseudo-transcript: every chapter's body sentences, their times spread
evenly over the chapter's span. The chapters are hidden, the transcript segmented (assistant/topics.py),
and the real chapter starts compared with the generated boundaries:

- `recall`: the share of real chapter starts after the first (which is always 0:00, found for free)
  with a generated boundary within TOLERANCE_SECONDS;
- `precision`: the share of generated boundaries within TOLERANCE_SECONDS of a real chapter start,
  so that cutting everywhere cannot score.

No model is needed: segmentation uses only the e5 embedder, on the user's embedding cache.
"""

from __future__ import annotations

import time
from pathlib import Path

from assistant.config import Settings
from assistant.context import sentences
from assistant.topics import segment
from store.embedder import E5Embedding
from store.episode import Episode, TranscriptSegment
from store.formats import SUFFIXES, load_file

TOLERANCE_SECONDS = 60


def pseudo_transcript(episode: Episode) -> list[TranscriptSegment]:
    """The chapters' body sentences, each given an equal share of its chapter's span."""
    segments = []
    for chapter in episode.chapters:
        lines = sentences(chapter.body) or [chapter.title]
        step = (chapter.end - chapter.start) / len(lines)
        segments += [TranscriptSegment(chapter.start + i * step, chapter.start + (i + 1) * step, line)
                     for i, line in enumerate(lines)]  # fmt: skip
    return segments


def bench_chapters(settings: Settings) -> dict:
    embedder = E5Embedding(str(settings.cache_dir / "embeddings.sqlite"))
    seeds = sorted(p for p in Path(settings.seeds_dir).iterdir() if p.suffix in SUFFIXES)
    episodes = [e for path in seeds for e in load_file(path) if len(e.chapters) > 1]
    rows, started = [], time.perf_counter()
    for episode in episodes:
        real = [c.start for c in episode.chapters[1:]]
        found = [round(s.start) for s in segment(pseudo_transcript(episode), embedder.passages)[1:]]
        rows.append({
            "episode_id": episode.id, "chapters": len(episode.chapters), "generated": len(found) + 1,
            "starts_found": sum(any(abs(r - f) <= TOLERANCE_SECONDS for f in found) for r in real),
            "boundaries_right": sum(any(abs(r - f) <= TOLERANCE_SECONDS for r in real) for f in found),
            "real_starts": real, "generated_starts": found,
        })  # fmt: skip
    real_total = sum(r["chapters"] - 1 for r in rows)
    found_total = sum(r["generated"] - 1 for r in rows)
    return {
        "tolerance_seconds": TOLERANCE_SECONDS,
        "recall": round(sum(r["starts_found"] for r in rows) / max(real_total, 1), 3),
        "precision": round(sum(r["boundaries_right"] for r in rows) / max(found_total, 1), 3),
        "real_chapters": real_total + len(rows), "generated_chapters": found_total + len(rows),
        "seconds": round(time.perf_counter() - started, 2), "episodes": rows,
    }  # fmt: skip


def chapters_text(report: dict) -> str:
    return (f"chapters: {report['recall']:.0%} of real chapter starts have a generated boundary within "
            f"±{report['tolerance_seconds']} s; {report['precision']:.0%} of generated boundaries are at one "
            f"({report['generated_chapters']} generated, {report['real_chapters']} real chapters)")
