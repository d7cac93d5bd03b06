"""The last step of the flow: turn domain objects into the CLI's JSON contract and into text."""

from __future__ import annotations

import dataclasses

from assistant.citations import Citation
from assistant.results import Answer, CompareRow, Comparison
from store.episode import Chapter, Episode, format_timestamp
from store.feeds import Feed
from store.index import IngestResult
from store.library import FeedIngest
from store.people import Person
from store.retrieve import Hit

GENERATED = " (generated)"  # a chapter the model made, not the publisher


def hit_json(hit: Hit) -> dict:
    c = hit.chunk
    return {
        "rank": hit.rank, "episode_id": c.episode_id, "episode_title": c.episode_title, "kind": c.kind,
        "title": c.title, "start": format_timestamp(c.start), "start_seconds": c.start, "end_seconds": c.end,
        "text": c.text, "score": round(hit.score, 4),
    }  # fmt: skip


def episode_json(episode: Episode) -> dict:
    return {
        "id": episode.id, "title": episode.title, "show": episode.show, "host": episode.host,
        "guests": episode.guests, "duration": format_timestamp(episode.duration),
        "duration_seconds": episode.duration, "summary_language": episode.summary_language,
        "chapters": len(episode.chapters), "entities": len(episode.entities),
        "transcript_segments": len(episode.transcript), "tags": episode.tags, "url": episode.url,
        "published": episode.published, "media_url": episode.media_url, "media_type": episode.media_type,
        "generated_chapters": sum(c.generated for c in episode.chapters),
    }  # fmt: skip


def feed_json(feed: Feed) -> dict:
    return dataclasses.asdict(feed)


def feed_text(feed: Feed) -> str:
    return f"{feed.title}  {feed.url}  ({feed.items} items, refreshed {feed.refreshed})"


def transcript_json(episode: Episode) -> dict:
    """The transcript in the Podcasting 2.0 JSON transcript form: {"version", "segments": [{startTime, ...}]}."""
    segments = [{**({"speaker": s.speaker} if s.speaker else {}), "startTime": s.start, "endTime": s.end,
                 "body": s.text} for s in episode.transcript]
    return {"version": "1.0.0", "segments": segments}


def chapter_json(chapter: Chapter) -> dict:
    return {
        "start": chapter.timestamp, "start_seconds": chapter.start, "end_seconds": chapter.end, "title": chapter.title,
        "summary": chapter.body, "language": chapter.language, "generated": chapter.generated,
    }  # fmt: skip


def chapter_text(chapter: Chapter) -> str:
    return f"{chapter.timestamp}  {chapter.title}{GENERATED if chapter.generated else ''}"


def chapters_count(episode: Episode) -> str:
    """"13 chapters", or "9 chapters, generated" when the model made them."""
    generated = ", generated" if any(c.generated for c in episode.chapters) else ""
    return f"{len(episode.chapters)} chapters{generated}"


def person_json(person: Person) -> dict:
    return {"name": person.name, "aliases": person.aliases, "episodes": person.roles, "description": person.description}


def ingest_json(result: IngestResult) -> dict:
    return dataclasses.asdict(result)


def ingest_text(result: IngestResult) -> str:
    counts = f"{result.added} added, {result.updated} updated, {result.removed} removed, {result.unchanged} unchanged"
    line = f"{result.title} [{result.episode_id}]: {counts}" + (f" — {result.note}" if result.note else "")
    return "\n".join([line, *(f"  warning: {w}" for w in result.warnings)])


def feed_ingest_json(done: FeedIngest) -> dict:
    return {"ingested": [ingest_json(r) for r in done.results], "feeds": [feed_json(f) for f in done.feeds],
            "warnings": done.warnings, "errors": done.errors}


def feed_ingest_text(done: FeedIngest) -> str:
    lines = [ingest_text(r) for r in done.results]
    lines += [f"warning: {w}" for w in done.warnings] + [f"error: {e}" for e in done.errors]
    lines += [f"Following {feed_text(f)}" for f in done.feeds]
    return "\n".join(lines)


def hit_text(hit: Hit) -> str:
    c = hit.chunk
    text = c.text if len(c.text) < 240 else c.text[:237] + "…"
    return f"{hit.rank}. {c.episode_title} · {format_timestamp(c.start)}  [{c.kind}] {c.title}\n   {text}"


def citation_json(citation: Citation) -> dict:
    return dataclasses.asdict(citation)


def answer_json(answer: Answer) -> dict:
    return {
        "question": answer.question, "language": answer.language, "answer": answer.text,
        "refused": answer.refused, "citations": [citation_json(c) for c in answer.citations],
        "sources": [hit_json(s.hit) for s in answer.sources], "model": answer.model,
        "timings_ms": answer.timings_ms, "standalone_question": answer.standalone_question,
        "rows": [compare_row_json(r) for r in answer.rows],
    }  # fmt: skip


def compare_json(answer: Comparison) -> dict:
    return {
        "topic": answer.topic, "language": answer.language, "summary": answer.summary,
        "rows": [compare_row_json(r) for r in answer.rows], "citations": [citation_json(c) for c in answer.citations],
        "model": answer.model, "timings_ms": answer.timings_ms,
    }  # fmt: skip


def compare_row_json(row: CompareRow) -> dict:
    # "guest" is the contract's name for the column (DESIGN.md); "person" says what it holds: anyone talked about.
    return {
        "guest": row.person, "person": row.person, "episode_title": row.episode_title, "position": row.position,
        "quote": row.quote, "citation": citation_json(row.citation) if row.citation else None,
    }  # fmt: skip


def answer_text(answer: Answer) -> str:
    return "\n\n".join(part for part in (answer.text, citations_text(answer)) if part)


def citations_text(answer: Answer) -> str:
    return "\n".join(citation_text(c) for c in answer.citations)


def citation_text(citation: Citation) -> str:
    """`[1] Episode · 15:51  Chapter`, and on the next line where to hear it when the episode has audio."""
    line = f"[{citation.marker}] {citation.label}  {citation.title}{GENERATED if citation.generated else ''}"
    return f"{line}\n    ▶ {citation.media}" if citation.media else line
