"""Parse a LaiDub listing page (the text of laidub's podcast page) into Episodes.

The page is a flattened rendering: per episode a header block (title, duration, languages,
"Watch with Captions", show name glued to a relative date), the title again, then one long
line holding the summary, the chapters (`## [MM:SS] Title body > *"quote"*`), the entity
list (`## Entities - **Name** (Type): description`), and finally a `#tag#tag` line.

Chapter headings lost their line breaks, so where a title ends and its body begins is
inferred (see `_split_title`). An episode JSON can always override what we infer.

Every pattern here runs in time linear in the line it reads (issue #14 found four that did not:
a 20 KB line took 30 s). Whitespace runs are collapsed before any pattern sees them, and a
pattern that searches never scans ahead to the end of the text from each of many starts.
"""

from __future__ import annotations

import re
from functools import lru_cache

from store.episode import Chapter, Entity, Episode, Quote, parse_timestamp, slugify
from store.errors import ParseError
from store.formats.checks import (
    MAX_CHAPTERS, MAX_ENTITIES, MAX_EPISODES, MAX_LINES, MAX_NAME_CHARS, MAX_TEXT_CHARS,
    check_count, check_length, checked_episode, clean_text, describe_value,
)  # fmt: skip
from store.language import detect_language, has_cjk

_DURATION = re.compile(r"^\d{1,2}:[0-5]\d(?::[0-5]\d)?$")
_LANGS = re.compile(r"^[A-Z]{2}(?:/[A-Z]{2})*$")
_TAGS = re.compile(r"^#[^\s#]+(?:#[^\s#]+)*$")
# A number starts only where no digit precedes it, and is never given back (`++`): from every digit of
# `1`*20k + " x", `\d+` scanned the rest of the line, and backtracked through it (30 s). A date is short,
# so only a line's tail is searched: a 5 MB line still took 1 s to try at every position.
_DATE_TAIL = 40
_RELATIVE_DATE = re.compile(
    r"(?:(?<!\d)\d++\s*(?:second|minute|hour|day|week|month|year)s?\s+ago|yesterday|today|just now"
    r"|(?<!\d)\d++\s*(?:秒|分钟|小时|天|周|个月|年)前|昨天|今天)\s*$",
    re.IGNORECASE,
)
# Anything stamp-like in a heading's brackets is a chapter stamp, so a wrong one ([05:60], [-5:00]) is
# an error instead of text of the chapter before.
_CHAPTER = re.compile(r"##\s*\[([-+\d:.\s]{1,16})\]\s*")
_ENTITIES = re.compile(r"##\s*(?:Entities|实体|人物与概念)\s*")
# "- **Name** (Type): description": the list is split at each "- **", and each piece cut at its first "**"
# before the rest is matched. As one pattern, the name's `.+?` ran to the end of the list from every
# "- **" without a closing one: 8k of "- **a** (" took 90 s.
_ENTITY_START = re.compile(r"(?:^|\s)-\s*\*\*")
_ENTITY_REST = re.compile(r"\s*[(（](?P<type>[^)）]+)[)）]\s*[:：]\s*(?P<desc>.*)", re.DOTALL)
# A pull quote: > *"..."* (straight or curly quotes), possibly followed by an annotation. Its opening
# is found first, then the first closing after it: as one pattern, the quote's `.+?` ran to the end of
# the chapter from every opening, and 20k openings took 18 s.
_QUOTE_OPEN = re.compile(r">\s*\*\s*[\"“]")
_QUOTE_CLOSE = re.compile(r"[\"”]\s*\*")
# A token's trailing 's and punctuation; the punctuation run only from its start (else quadratic in it).
_TOKEN_TAIL = re.compile(r"['’]s\W*$|(?<!\W)\W+$")
_WORD = re.compile(r"\w+")

_ENTITY_TYPES = {
    "person": "person", "人物": "person", "人": "person",
    "organization": "organization", "organisation": "organization", "company": "organization",
    "组织": "organization", "公司": "organization", "机构": "organization",
    "product": "product", "产品": "product",
    "concept": "concept", "概念": "concept",
    "software": "software", "软件": "software",
}  # fmt: skip

# Lowercase words that may sit inside a Title Case chapter heading.
_SMALL_WORDS = {
    "a", "an", "the", "and", "or", "but", "nor", "of", "on", "in", "to", "for", "vs", "vs.",
    "with", "as", "at", "by", "from", "into", "is", "are", "&", "—", "-", "–", "x",
}  # fmt: skip
# Capitalized words that usually open a sentence rather than continue a heading.
_SENTENCE_OPENERS = {"The", "On", "In", "At", "After", "Before", "When", "As", "It", "He", "She"}


def parse_page(text: str, path: str = "<page>") -> list[Episode]:
    lines = clean_text(text).splitlines()
    check_count(len(lines), MAX_LINES, "lines", path)
    lines = [" ".join(line.split()) for line in lines]
    starts: list[int] = []
    for i in range(len(lines) - 1):
        # A duration right after a title's duration is a title that reads as a duration ("56:10\n56:10"), not
        # the next episode's: each episode needs its own two lines.
        if lines[i] and _DURATION.match(lines[i + 1]) and (not starts or i > starts[-1] + 1):
            starts.append(i)
    if not starts:
        raise ParseError(path, "no episode found: expected a title line followed by a duration like 56:10")
    check_count(len(starts), MAX_EPISODES, "episodes in one file", path)
    episodes = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        episodes.append(_parse_episode(lines[start:end], path))
    ids = [e.id for e in episodes]
    if len(set(ids)) != len(ids):
        raise ParseError(path, "two episodes share a title; episode titles must be unique on a page")
    return episodes


def _parse_episode(lines: list[str], path: str) -> Episode:
    title = lines[0]
    duration = parse_timestamp(lines[1])
    rest = lines[2:]
    languages: list[str] = []
    if rest and _LANGS.match(rest[0]):
        languages = [lang.lower() for lang in rest.pop(0).split("/")]
    show, host = "", ""
    tags: list[str] = []
    body_lines = []
    for line in rest:
        if not line or line == title or line.lower() == "watch with captions":
            continue
        if _TAGS.match(line):
            tags = [t for t in line.split("#") if t]
        elif not show and not body_lines and (date := _RELATIVE_DATE.search(line, max(0, len(line) - _DATE_TAIL))):
            show, host = _split_show(line[: date.start()].strip())
        else:
            body_lines.append(line)
    content = " ".join(body_lines)
    where = f"episode {describe_value(title)}"
    if not content:
        raise ParseError(path, f"{where} has no summary or chapters (the page looks truncated)")

    entities_match = _ENTITIES.search(content)
    entities_text = content[entities_match.end():] if entities_match else ""
    content = content[: entities_match.start()] if entities_match else content
    if not entities_match and not tags:
        raise ParseError(path, f"{where} ends without its '## Entities' section or tag line (the page looks truncated)")
    # Each chapter is searched for each person: counts and sizes are checked before that work, not after.
    listed = _ENTITY_START.split(entities_text)[1:]
    check_count(len(listed), MAX_ENTITIES, "entities", path, f"{where}: ")
    entities = [entity for entity in map(_entity, listed) if entity]
    person_names = list(dict.fromkeys([e.name for e in entities if e.type == "person"] + ([host] if host else [])))
    for name in person_names:
        check_length(name, MAX_NAME_CHARS, "a person's name", path, f"{where}: ")
    pieces = _CHAPTER.split(content)
    check_count(len(pieces) // 2, MAX_CHAPTERS, "chapters", path, f"{where}: ")
    summary = pieces[0].strip()
    check_length(summary, MAX_TEXT_CHARS, "the summary", path, f"{where}: ")
    chapters = []
    for stamp, text in zip(pieces[1::2], pieces[2::2]):
        check_length(text, MAX_TEXT_CHARS, f"chapter [{stamp}]", path, f"{where}: ")
        chapters.append(_parse_chapter(_chapter_start(stamp, path, where), text.strip(), person_names))
    if not chapters:
        raise ParseError(path, f"{where} has no chapters (expected headings like '## [02:04] Title')")
    for before, after in zip(chapters, chapters[1:]):
        if after.start <= before.start:
            raise ParseError(path, f"{where}: chapter [{after.timestamp}] does not come after [{before.timestamp}]")
        before.end = after.start
    if chapters[-1].start >= duration:
        raise ParseError(path, f"{where}: chapter [{chapters[-1].timestamp}] starts after the episode ends ({lines[1]})")
    chapters[-1].end = duration

    episode = Episode(
        id=slugify(title),
        title=title,
        show=show,
        host=host,
        guests=_infer_guests(summary, person_names, host),
        duration=duration,
        summary=summary,
        summary_language=detect_language(summary),
        languages=languages,
        chapters=chapters,
        entities=entities,
        tags=tags,
    )
    return checked_episode(episode, path, f"{where}: ")


def _chapter_start(stamp: str, path: str, where: str) -> int:
    try:
        return parse_timestamp(stamp)
    except ValueError:
        raise ParseError(path, f"{where}: chapter stamp [{stamp}] is not a time like [MM:SS] or [H:MM:SS]") from None


def _entity(listed: str) -> Entity | None:
    name, _, rest = listed.partition("**")
    match = _ENTITY_REST.match(rest)
    if not name.strip() or not match:
        return None
    kind = match["type"].strip().lower()
    return Entity(name.strip(), _ENTITY_TYPES.get(kind, kind), match["desc"].strip())


def _split_show(text: str) -> tuple[str, str]:
    """'Unsupervised Learning: With Jacob Effron' -> ('Unsupervised Learning', 'Jacob Effron')."""
    match = re.match(r"^(?P<show>.+?)\s*[:：\-—|]\s*(?:with|hosted by|主持[人:：]?)\s+(?P<host>.+)$", text, re.IGNORECASE)
    if match:
        return match["show"].strip(), match["host"].strip()
    return text, ""


def _infer_guests(summary: str, people: list[str], host: str) -> list[str]:
    """The guest is unlabelled on the page: take the first person (not the host) the summary names."""
    found = []
    for name in people:
        if name == host:
            continue
        position = summary.find(name)
        if position >= 0:
            found.append((position, name))
    return [min(found)[1]] if found else []


def _parse_chapter(start: int, text: str, people: list[str]) -> Chapter:
    quote = None
    opening = _QUOTE_OPEN.search(text)
    closing = opening and _QUOTE_CLOSE.search(text, opening.end() + 1)  # a quote holds at least one character
    if closing:
        quote = Quote(text=text[opening.end() : closing.start()].strip(), start=start)
        text = (text[: opening.start()] + " " + text[closing.end() :]).strip()
    title, body = _split_title(text, people)
    return Chapter(
        start=start,
        end=start,
        title=title,
        body=body,
        quote=quote,
        language=detect_language(body or title),
        people=_named(f"{title} {body} {quote.text if quote else ''}", people),
    )


def _named(text: str, people: list[str]) -> list[str]:
    """Who `text` names: by full name, or by first or last name as a whole word ('Demis', 'Mallaby's').

    One-word parts are looked up among the text's words; a regex search for each part of each person
    took 223 s on a page of 500 chapters and 200 people. Only a part such as "O'Brien" is searched
    for, and only once the text holds each of its words.
    """
    words = set(_WORD.findall(text))

    def mentions(name: str) -> bool:
        one_word, others = _name_parts(name)
        return not words.isdisjoint(one_word) or any(
            words.issuperset(runs) and re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text) for p, runs in others
        )

    return [name for name in people if mentions(name)]


@lru_cache(maxsize=MAX_ENTITIES + 1)  # a page's people, looked up in each of its chapters
def _name_parts(name: str) -> tuple[frozenset[str], tuple[tuple[str, list[str]], ...]]:
    """A name's parts worth looking for, over two characters: the one-word ones, and the others with their words.

    The full name counts only when no part is long enough: a text that names "Demis Hassabis" names "Demis".
    """
    parts = {p for p in name.split() if len(p) > 2} or ({name} if len(name) > 2 else set())
    one_word = frozenset(p for p in parts if _WORD.fullmatch(p))
    return one_word, tuple((p, _WORD.findall(p)) for p in parts - one_word)


def _split_title(text: str, people: list[str]) -> tuple[str, str]:
    """Find where a flattened '## [ts] Title Body...' heading ends.

    A heading is a run of Title Case words; an English body opens with a sentence whose first
    capitalized words still sit inside that run ("Jacob points", "The origin story"), a
    Chinese body with the first CJK token. Rules, strongest first: the last boundary after
    '?'/'!', at a person's name, a sentence opener or a repeated heading word; then the CJK or
    quote that stops the run; then a clause with a comma; then the last capitalized word.
    """
    if has_cjk(text[:1]):
        head, _, tail = text.partition(" ")
        return (head, tail) if len(head) <= 40 else (text[:20], text[20:])
    tokens = text.split()
    limit = 0
    while limit < len(tokens) and limit < 16 and _titleish(tokens[limit]):
        limit += 1
    if limit >= len(tokens):
        return text, ""
    name_parts = {part for name in people for part in name.split()}

    def boundary(i: int) -> bool:  # a heading never ends on a small word
        return tokens[i][:1].isupper() and tokens[i - 1].lower() not in _SMALL_WORDS

    def strong(i: int) -> bool:
        bare = _TOKEN_TAIL.sub("", tokens[i])
        after_name = tokens[i - 1].rstrip(",") in name_parts  # "David Silver": one name
        return (
            tokens[i - 1].endswith(("?", "!"))
            or tokens[i] in _SENTENCE_OPENERS
            or (not after_name and (bare in name_parts or bare in {t.strip(":,") for t in tokens[:i]}))
        )

    inside = [i for i in range(1, limit) if boundary(i)]
    strong_ones = [i for i in inside if strong(i)]
    if strong_ones:
        return _join(tokens, strong_ones[-1])
    stop = tokens[limit]
    if has_cjk(stop) or not stop[:1].isalnum() or any(has_cjk(t) for t in tokens[limit : limit + 3]):
        before = limit - 1  # "Spark I/O 发布的": an acronym glued to the Chinese body
        if before in inside and (tokens[before].isupper() or "/" in tokens[before]):
            return _join(tokens, before)
        return _join(tokens, limit)
    commas = [i for i in range(1, limit) if tokens[i].endswith(",")]
    if commas:
        opening = commas[0] - 1 if tokens[commas[0]][:1].isdigit() else commas[0]
        if opening in inside:
            return _join(tokens, opening)
    words = [i for i in inside if not tokens[i].isupper()]
    return _join(tokens, words[-1] if words else limit)


def _titleish(token: str) -> bool:
    if has_cjk(token):
        return False
    return token.lower() in _SMALL_WORDS or token[:1].isupper() or token[:1].isdigit() or token[:1] in "$&("


def _join(tokens: list[str], i: int) -> tuple[str, str]:
    return " ".join(tokens[:i]).strip(), " ".join(tokens[i:]).strip()
