"""Parse a LaiDub listing page (the text of laidub's podcast page) into Episodes.

The page is a flattened rendering: per episode a header block (title, duration, languages,
"Watch with Captions", show name glued to a relative date), the title again, then one long
line holding the summary, the chapters (`## [MM:SS] Title body > *"quote"*`), the entity
list (`## Entities - **Name** (Type): description`), and finally a `#tag#tag` line.

Chapter headings lost their line breaks, so where a title ends and its body begins is
inferred (see `_split_title`). An episode JSON can always override what we infer.
"""

from __future__ import annotations

import re

from store.episode import Chapter, Entity, Episode, Quote, parse_timestamp, slugify
from store.errors import ParseError
from store.language import detect_language, has_cjk

_DURATION = re.compile(r"^\d{1,2}:[0-5]\d(?::[0-5]\d)?$")
_LANGS = re.compile(r"^[A-Z]{2}(?:/[A-Z]{2})*$")
_TAGS = re.compile(r"^#[^\s#]+(?:#[^\s#]+)*$")
_RELATIVE_DATE = re.compile(
    r"(?:\d+\s*(?:second|minute|hour|day|week|month|year)s?\s+ago|yesterday|today|just now"
    r"|\d+\s*(?:秒|分钟|小时|天|周|个月|年)前|昨天|今天)\s*$",
    re.IGNORECASE,
)
_CHAPTER = re.compile(r"##\s*\[(\d{1,2}:[0-5]\d(?::[0-5]\d)?)\]\s*")
_ENTITIES = re.compile(r"##\s*(?:Entities|实体|人物与概念)\s*")
_ENTITY = re.compile(
    r"-\s*\*\*(?P<name>.+?)\*\*\s*[(（](?P<type>[^)）]+)[)）]\s*[:：]\s*(?P<desc>.*?)"
    r"(?=\s+-\s*\*\*|$)",
    re.DOTALL,
)
# A pull quote: > *"..."* (straight or curly quotes), possibly followed by an annotation.
_QUOTE = re.compile(r">\s*\*\s*[\"“](?P<text>.+?)[\"”]\s*\*(?P<after>.*)$", re.DOTALL)

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
    lines = [line.rstrip() for line in text.splitlines()]
    starts = [i for i in range(len(lines) - 1) if lines[i].strip() and _DURATION.match(lines[i + 1].strip())]
    if not starts:
        raise ParseError(path, "no episode found: expected a title line followed by a duration like 56:10")
    episodes = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        episodes.append(_parse_episode(lines[start:end], path))
    ids = [e.id for e in episodes]
    if len(set(ids)) != len(ids):
        raise ParseError(path, "two episodes share a title; episode titles must be unique on a page")
    return episodes


def _parse_episode(lines: list[str], path: str) -> Episode:
    title = lines[0].strip()
    duration = parse_timestamp(lines[1])
    rest = [line.strip() for line in lines[2:]]
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
        elif not show and not body_lines and _RELATIVE_DATE.search(line):
            show, host = _split_show(_RELATIVE_DATE.sub("", line).strip())
        else:
            body_lines.append(line)
    content = " ".join(body_lines)
    where = f"episode {title!r}"
    if not content:
        raise ParseError(path, f"{where} has no summary or chapters (the page looks truncated)")

    entities_match = _ENTITIES.search(content)
    entities_text = content[entities_match.end():] if entities_match else ""
    content = content[: entities_match.start()] if entities_match else content
    if not entities_match and not tags:
        raise ParseError(path, f"{where} ends without its '## Entities' section or tag line (the page looks truncated)")
    entities = [
        Entity(m["name"].strip(), _ENTITY_TYPES.get(m["type"].strip().lower(), m["type"].strip().lower()), m["desc"].strip())
        for m in _ENTITY.finditer(entities_text)
    ]

    pieces = _CHAPTER.split(content)
    summary = pieces[0].strip()
    person_names = list(dict.fromkeys([e.name for e in entities if e.type == "person"] + ([host] if host else [])))
    chapters = []
    for stamp, text in zip(pieces[1::2], pieces[2::2]):
        chapters.append(_parse_chapter(parse_timestamp(stamp), text.strip(), person_names))
    if not chapters:
        raise ParseError(path, f"{where} has no chapters (expected headings like '## [02:04] Title')")
    for before, after in zip(chapters, chapters[1:]):
        if after.start <= before.start:
            raise ParseError(path, f"{where}: chapter [{after.timestamp}] does not come after [{before.timestamp}]")
        before.end = after.start
    if chapters[-1].start >= duration:
        raise ParseError(path, f"{where}: chapter [{chapters[-1].timestamp}] starts after the episode ends ({lines[1].strip()})")
    chapters[-1].end = duration

    return Episode(
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
    match = _QUOTE.search(text)
    if match:
        quote = Quote(text=match["text"].strip(), start=start)
        text = (text[: match.start()] + " " + match["after"]).strip()
    title, body = _split_title(text, people)
    return Chapter(
        start=start,
        end=start,
        title=title,
        body=body,
        quote=quote,
        language=detect_language(body or title),
        people=[name for name in people if _mentions(f"{title} {body} {quote.text if quote else ''}", name)],
    )


def _mentions(text: str, name: str) -> bool:
    """Full name, or the first or last name as a whole word ('Demis', 'Mallaby's')."""
    parts = [name, *name.split()] if " " in name else [name]
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text) for p in parts if len(p) > 2)


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
        bare = re.sub(r"['’]s\W*$|\W+$", "", tokens[i])
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
