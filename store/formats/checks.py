"""What a parsed file may hold, in one place, and the check every format's episodes pass: `checked_episode`.

The limits are generous for real podcasts and small enough that no file can make a parse, an ingest or
an answer slow or unreadable: issue #14 saw a 10 MB summary, 50k chapters and a 100 KB cue embedded for
minutes each, and a start of 2e30 s printed as a 27-digit timestamp. Over a limit is a ParseError that
names it; nothing is cut silently.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator

from store.episode import Entity, Episode, TranscriptSegment, format_timestamp
from store.errors import ParseError

# The web app's upload limit too (import it from store.formats). The seed page (3 episodes, 41 chapters)
# is 42 KB and a 5-hour transcript as SRT about 400 KB. The other limits keep a parse of 5 MiB within the
# 2 s budget tests/test_fuzz.py holds every parse to: hostile 5 MiB files took 0.2-2.5 s on 2 busy cores.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_EPISODES = 100  # per file: the seed page holds 3, an export 1; each is its own store write
# The longest podcast episodes run 5-6 hours; two days leaves room for a marathon live stream.
MAX_SECONDS = 48 * 3600
MAX_CHAPTERS = 500  # a chapter a minute for over 8 hours (the seeds have at most 17); each is 2 chunks to embed
# The seeds list at most 13; each is a chunk, and a page's every chapter is searched for every person.
MAX_ENTITIES = 200
# A caption every 2 s for 27 hours, or one per word for 5; 130k one-word cues (a 5 MiB SRT) took 2-9 s to read.
MAX_CUES = 50_000
# Of a page or transcript: 8 for each of MAX_CUES cues. Each line is a step of Python, and 5 MiB of "x\n\n"
# (5M lines) took 9 s to split into cues on 2 busy cores.
MAX_LINES = 8 * MAX_CUES
# A summary, chapter body, quote, description or cue: the seeds' longest (a chapter body) is 1,273
# characters; 20k is about 3,000 words, a chapter no listener would call one.
MAX_TEXT_CHARS = 20_000
MAX_NAME_CHARS = 200  # a title, show, person, tag or language; the seeds' longest (a title) is 71
MAX_ID_CHARS = MAX_NAME_CHARS  # an id is usually its title's slug, so any title that fits gives an id that fits

# An id is part of every chunk id ("ID/chapter/124"), URL (/episode/ID) and CLI line: letters and digits
# in any script, '-' and '_', as `slugify` makes them. No '/', '..', spaces or newlines.
_ID = re.compile(r"[\w-]+")

# Characters no title or text has a use for, removed: C0 and C1 controls (tab and newline aside) and the
# bidi embeddings, overrides and isolates, which make text display as something else (after U+202E a
# title reads backwards). An id is refused instead of cleaned: it must stay what the file says.
_INVISIBLE = dict.fromkeys(
    [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def checked_episode(episode: Episode, path: str, where: str = "") -> Episode:
    """`episode` with invisible characters removed from its texts, or a ParseError saying what is wrong.

    Every parser ends here, so the rules are the same whatever the format. `where` prefixes the message,
    to say which episode of a file is wrong.
    """
    episode = _tidy(episode)
    problem = next(_problems(episode), None)
    if problem:
        raise ParseError(path, where + problem)
    return episode


def check_count(count: int, limit: int, what: str, path: str, where: str = "") -> None:
    """For a parser to stop early, before it spends time on each of `count` items."""
    problem = next(_too_many(count, limit, what), None)
    if problem:
        raise ParseError(path, where + problem)


def check_length(text: str, limit: int, what: str, path: str, where: str = "") -> None:
    """Like `check_count`, for a text a parser is about to spend time on."""
    problem = next(_too_long([(what, text)], limit), None)
    if problem:
        raise ParseError(path, where + problem)


def describe_value(value: object) -> str:
    """The offending value as a JSON author would name it, short enough for a one-line message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def clean_text(text: str) -> str:
    return text.translate(_INVISIBLE)


def clean_name(text: str) -> str:
    """A title or name on one line: a newline or run of spaces in a title is as invisible as a control.

    A parser that derives an id from a title slugifies the clean title, so the id matches what is shown.
    """
    return " ".join(text.translate(_INVISIBLE).split())


def _tidy(episode: Episode) -> Episode:
    name, text = clean_name, clean_text
    chapters = [
        dataclasses.replace(
            c, title=name(c.title), body=text(c.body), language=name(c.language), people=[name(p) for p in c.people],
            quote=c.quote and dataclasses.replace(c.quote, text=text(c.quote.text), speaker=name(c.quote.speaker)),
        )
        for c in episode.chapters
    ]
    return dataclasses.replace(
        episode,
        title=name(episode.title), show=name(episode.show), host=name(episode.host),
        guests=[name(g) for g in episode.guests], summary=text(episode.summary),
        summary_language=name(episode.summary_language), languages=[name(lang) for lang in episode.languages],
        url=name(episode.url), chapters=chapters, tags=[name(t) for t in episode.tags],
        entities=[Entity(name(e.name), name(e.type), text(e.description)) for e in episode.entities],
        # Built directly, not with replace: a transcript may hold 100k cues, and replace is 5x slower.
        transcript=[TranscriptSegment(s.start, s.end, text(s.text), name(s.speaker)) for s in episode.transcript],
    )  # fmt: skip


def _problems(episode: Episode) -> Iterator[str]:
    """What types cannot say, first problem first: ids, sizes, and times that run forward inside the episode."""
    if not episode.title:
        yield "the title is empty"
    yield from _too_many(len(episode.chapters), MAX_CHAPTERS, "chapters")
    yield from _too_many(len(episode.entities), MAX_ENTITIES, "entities")
    yield from _too_many(len(episode.transcript), MAX_CUES, "transcript cues")
    yield from _too_long(_names(episode), MAX_NAME_CHARS)
    yield from _too_long(_texts(episode), MAX_TEXT_CHARS)
    if not episode.id:  # after the title, whose slug it usually is
        yield "the id is empty"
    if len(episode.id) > MAX_ID_CHARS or not _ID.fullmatch(episode.id):
        yield (f"the id {describe_value(episode.id)} is not an id: at most {MAX_ID_CHARS} letters, digits, "
               "'-' or '_' (like 'yann-lecun-on-llms')")  # fmt: skip
    yield from _time_problems(episode)


def _too_many(count: int, limit: int, what: str) -> Iterator[str]:
    if count > limit:
        yield f"{count:,} {what}, over the limit of {limit:,}"


def _too_long(fields: Iterable[tuple[str, str]], limit: int) -> Iterator[str]:
    for field, value in fields:
        if len(value) > limit:
            yield f"{field} is {len(value):,} characters long, over the limit of {limit:,}"


def _names(episode: Episode) -> Iterator[tuple[str, str]]:
    yield from [("the title", episode.title), ("the show", episode.show), ("the host", episode.host),
                ("summary_language", episode.summary_language)]  # fmt: skip
    yield from (("a guest", g) for g in episode.guests)
    yield from (("a language", lang) for lang in episode.languages)
    yield from (("a tag", t) for t in episode.tags)
    for i, c in enumerate(episode.chapters):
        yield from [(f"chapters[{i}].title", c.title), (f"chapters[{i}].language", c.language)]
        yield from ((f"a person of chapters[{i}]", p) for p in c.people)
        if c.quote:
            yield f"chapters[{i}].quote.speaker", c.quote.speaker
    for i, e in enumerate(episode.entities):
        yield from [(f"entities[{i}].name", e.name), (f"entities[{i}].type", e.type)]
    for i, s in enumerate(episode.transcript):
        yield f"transcript[{i}].speaker", s.speaker


def _texts(episode: Episode) -> Iterator[tuple[str, str]]:
    yield from [("the summary", episode.summary), ("the url", episode.url)]
    for i, c in enumerate(episode.chapters):
        yield f"chapters[{i}].body", c.body
        if c.quote:
            yield f"chapters[{i}].quote.text", c.quote.text
    for i, e in enumerate(episode.entities):
        yield f"entities[{i}].description", e.description
    for i, s in enumerate(episode.transcript):
        yield f"transcript[{i}].text", s.text


def _time_problems(episode: Episode) -> Iterator[str]:
    """A zero-length chapter is allowed only last, in an episode of unknown duration: a chapter
    list without end times (Podcasting 2.0) cannot say when the last chapter ends."""
    duration, chapters = episode.duration, episode.chapters
    yield from _out_of_range("the duration", duration)
    for i, chapter in enumerate(chapters):
        yield from _out_of_range(f"chapters[{i}] starts at", chapter.start)
        if i and chapter.start <= chapters[i - 1].start:
            yield f"chapters[{i}] starts at {chapter.start} s, not after chapters[{i - 1}] ({chapters[i - 1].start} s)"
    for i, chapter in enumerate(chapters):  # ends only once the order is known good, to blame the right field
        open_ended = i == len(chapters) - 1 and not duration and chapter.end == chapter.start
        if chapter.end <= chapter.start and not open_ended:
            yield f"chapters[{i}] ends at {chapter.end} s, not after its start ({chapter.start} s)"
        if duration and chapter.end > duration:
            yield f"chapters[{i}] ends at {chapter.end} s, after the episode's duration ({duration} s)"
        yield from _out_of_range(f"chapters[{i}] ends at", chapter.end)
        if chapter.quote:
            yield from _out_of_range(f"chapters[{i}].quote starts at", chapter.quote.start)
    yield from _transcript_problems(episode)


def _transcript_problems(episode: Episode) -> Iterator[str]:
    previous, last = 0.0, min(episode.duration + 1 if episode.duration else MAX_SECONDS, MAX_SECONDS)
    for i, segment in enumerate(episode.transcript):
        if previous <= segment.start <= segment.end <= last:  # the usual case, at a cost a 100k-cue file can bear
            previous = segment.start
            continue
        where = f"transcript[{i}]"
        yield from _out_of_range(f"{where} starts at", segment.start)
        yield from _out_of_range(f"{where} ends at", segment.end)
        if segment.end < segment.start:
            yield f"{where} ends at {segment.end} s, before it starts ({segment.start} s)"
        if segment.start < previous:  # transcript windows, and their chunk ids, follow this order
            yield (f"{where} starts at {segment.start} s, before transcript[{i - 1}] ({previous} s); "
                   "cues must be in time order")  # fmt: skip
        previous = segment.start
        # Durations are whole seconds, so the last cue may legitimately end within the next one.
        if episode.duration and segment.end > episode.duration + 1:
            yield (f"a transcript cue ends at {format_timestamp(segment.end)}, after episode {episode.id!r} ends "
                   f"({format_timestamp(episode.duration)}); is this the transcript of another episode?")  # fmt: skip


def _out_of_range(what: str, seconds: float) -> Iterator[str]:
    if seconds < 0:
        yield f"{what} {describe_value(seconds)} s; a time cannot be negative"
    elif not seconds <= MAX_SECONDS:  # not <=, so NaN is out of range too
        yield f"{what} {describe_value(seconds)} s, over the limit of {MAX_SECONDS // 3600} h"
