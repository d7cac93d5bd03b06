"""Podcast feeds (RSS or Atom) -> one Episode per item, with the chapters, transcript and people it links.

feedparser reads the feed: encodings, CDATA, dates in every RFC 822 variant, Atom, and feeds that are not
quite XML. It keeps only the last of repeated unknown elements, and drops the text of one with attributes,
so the Podcasting 2.0 tags (`podcast:transcript` several times per item, `podcast:person` with its name as
text) are read with ElementTree from the same bytes (expat 2.5 refuses entity expansion bombs; external
entities are never fetched). Linked files are fetched (store/fetch.py) and parsed by `store.formats.load_text`,
the suffix chosen from the link's MIME type, so every format store/formats reads works here too. Enclosures
are recorded, never downloaded.

What is wrong with one item (no guid, a link that fails, a transcript of another length) is a warning on
that item, which is kept without the part or skipped; only a feed that cannot be read at all is an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import feedparser

from store.episode import Entity, Episode, slugify
from store.errors import ParseError
from store.fetch import MAX_FEED_BYTES, MAX_LINKED_BYTES, Fetched, FetchError, Fetcher
from store.formats import SUFFIXES, load_text
from store.formats.checks import MAX_ID_CHARS, MAX_SECONDS, MAX_TEXT_CHARS, checked_episode, clean_name
from store.language import LANGUAGES, detect_language

FEED_SUFFIXES = (".xml", ".rss", ".atom")
# Linked files by MIME type, as podcast hosts label them, -> the suffix store.formats reads them by.
TRANSCRIPT_SUFFIXES = {"application/json": ".json", "text/vtt": ".vtt", "application/x-subrip": ".srt",
                       "application/srt": ".srt", "text/srt": ".srt", "text/html": ".html"}
CHAPTERS_SUFFIXES = {"application/json+chapters": ".json", "application/json": ".json", "text/vtt": ".vtt"}
# Best first: JSON carries speakers and exact times, VTT voices, SRT at least times; HTML is the last resort.
TRANSCRIPT_PREFERENCE = (".json", ".vtt", ".srt", ".html")
_ID_WORDS = 60  # characters of a guid's readable part kept in an id, before its hash


@dataclass
class Feed:
    """A followed feed, as `laidub feeds` lists it."""

    url: str
    title: str
    items: int
    refreshed: str  # ISO 8601 UTC time of the last read


@dataclass
class FeedItem:
    episode: Episode
    guid: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReadFeed:
    feed: Feed
    items: list[FeedItem]
    warnings: list[str]  # about the feed as a whole: skipped items, unreadable podcast:* tags


@dataclass
class _Link:
    url: str
    type: str
    language: str = ""


@dataclass
class _Tags:
    """An item's Podcasting 2.0 tags, as ElementTree read them."""

    chapters: list[_Link] = field(default_factory=list)
    transcripts: list[_Link] = field(default_factory=list)
    people: list[tuple[str, str]] = field(default_factory=list)  # (name, role)


def is_feed(location: str) -> bool:
    """What `laidub ingest` treats as a feed: an http(s) URL, or a file named like one."""
    return location.startswith(("http://", "https://")) or location.lower().endswith(FEED_SUFFIXES)


def read_feed(location: str, fetcher: Fetcher) -> ReadFeed:
    """Fetch and parse a feed and everything its items link to; raises ParseError or FetchError only for the feed."""
    fetched = fetcher.fetch(location, MAX_FEED_BYTES)
    parsed = feedparser.parse(io.BytesIO(fetched.body), response_headers={"content-type": fetched.content_type})
    _check_is_feed(parsed, fetched, location)
    show = clean_name(parsed.feed.get("title", "")) or urlparse(fetched.url).netloc or "Podcast"
    language = _language(parsed.feed.get("language", ""))
    channel, tags, warnings = _podcast_tags(fetched.body, len(parsed.entries))
    items: list[FeedItem] = []
    seen: set[str] = set()
    for n, entry in enumerate(parsed.entries):
        guid = entry.get("id") or _enclosure(entry)[0] or entry.get("link", "")
        title = clean_name(entry.get("title", "")) or f"Item {n + 1}"
        if not guid:
            warnings.append(f"item {n + 1} ({title!r}): no guid, enclosure or link to identify it by; skipped")
            continue
        if guid in seen:
            warnings.append(f"item {n + 1} ({title!r}): guid {guid!r} repeats an earlier item's; skipped")
            continue
        seen.add(guid)
        try:
            item = FeedItem(_episode(entry, guid, title, show, language, tags[n].people or channel), guid)
        except ParseError as err:
            warnings.append(f"item {n + 1} ({title!r}): {err.problem}; skipped")
            continue
        _attach_links(item, tags[n], fetcher, fetched)
        items.append(item)
    feed = Feed(location, show, len(items), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return ReadFeed(feed, items, warnings)


def _check_is_feed(parsed, fetched: Fetched, location: str) -> None:
    if parsed.get("version") or parsed.entries:
        return
    start = fetched.body[:2048].lstrip().lower()
    if fetched.content_type == "text/html" or start.startswith((b"<!doctype html", b"<html")):
        alternate = re.search(rb'<link[^>]+type="application/(?:rss|atom)\+xml"[^>]*>', fetched.body[:200_000])
        href = re.search(rb'href="([^"]+)"', alternate[0]) if alternate else None
        named = urljoin(fetched.url, html.unescape(href[1].decode(errors="replace"))) if href else ""
        hint = f"; the page names its feed: {named}" if href else \
            "; give the feed's own URL (often .../feed or .../rss)"
        raise ParseError(location, "an HTML page, not a podcast feed" + hint)
    problem = parsed.get("bozo_exception")
    detail = f" ({problem})" if problem else ""
    raise ParseError(location, f"not an RSS or Atom feed{detail}")


def _episode(entry, guid: str, title: str, show: str, language: str, people: list[tuple[str, str]]) -> Episode:
    # An item without show notes is found by its title: an episode with no text at all has no chunk to search.
    summary = plain_text(entry.get("summary", "") or entry.get("subtitle", "")) or title
    if len(summary) > MAX_TEXT_CHARS:  # show notes can run long: the opening says what the episode is
        summary = summary[: summary.rfind(" ", 0, MAX_TEXT_CHARS - 1)] + "…"
    media_url, media_type = _enclosure(entry)
    hosts = [name for name, role in people if role == "host"]
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    language = language or detect_language(f"{title} {summary}")
    episode = Episode(
        id=item_id(guid), title=title, show=show, host=hosts[0] if hosts else "",
        guests=[name for name, role in people if role == "guest"],
        duration=parse_duration(entry.get("itunes_duration", "")),
        summary=summary, summary_language=language, languages=[language], url=entry.get("link", ""),
        published=time.strftime("%Y-%m-%d", published) if published else "", media_url=media_url, media_type=media_type,
        entities=[Entity(name, "person", role) for name, role in people if role != "guest" and name not in hosts[:1]],
        tags=list(dict.fromkeys(clean_name(t.get("term", "")) for t in entry.get("tags", []) if t.get("term"))),
    )  # fmt: skip
    return checked_episode(episode, f"item {guid!r}")


def _enclosure(entry) -> tuple[str, str]:
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and link.get("href"):
            return link["href"], link.get("type", "")
    return "", ""


def item_id(guid: str) -> str:
    """A readable, stable id from a guid: the guid itself when it already is one, else its readable part
    (a URL's last path segment) and a hash of the whole guid, so two guids never share an id."""
    slug = slugify(guid)
    if slug == guid and len(guid) <= MAX_ID_CHARS:
        return guid
    parsed = urlparse(guid)
    if parsed.scheme and parsed.netloc:
        readable = slugify(next((p for p in reversed(parsed.path.split("/")) if p), parsed.netloc).rsplit(".", 1)[0])
    else:
        readable = slug
    return f"{readable[:_ID_WORDS].strip('-')}-{hashlib.sha1(guid.encode()).hexdigest()[:8]}".lstrip("-")


def parse_duration(text: str) -> int:
    """itunes:duration in any form seen: "3723", "62:03", "1:02:03", "1:02:03.5", "3723.5"; else 0 (unknown)."""
    parts = text.strip().replace(",", ".").split(":")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+", p) for p in parts[:-1]):
        return 0
    if not re.fullmatch(r"\d+(?:\.\d*)?", parts[-1]):
        return 0
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return int(seconds) if seconds <= MAX_SECONDS else 0


def _language(code: str) -> str:
    """"zh-cn", "zh_TW", "zh-Hans", "cmn" -> "zh"; "en-us" -> "en"; anything else: "" (detected from the text)."""
    primary = re.split(r"[-_]", code.strip().lower())[0]
    primary = {"cmn": "zh", "yue": "zh"}.get(primary, primary)
    return primary if primary in LANGUAGES else ""


class _TextOnly(HTMLParser):
    BLOCKS = {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in ("script", "style")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.skipping -= tag in ("script", "style") and self.skipping > 0
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def plain_text(markup: str) -> str:
    """Show notes as text: tags removed, entities decoded, paragraphs kept as lines."""
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


# -- the Podcasting 2.0 tags ------------------------------------------------------------------


def _podcast_tags(body: bytes, entries: int) -> tuple[list[tuple[str, str]], list[_Tags], list[str]]:
    """(channel people, tags per item in document order, warnings); empty tags when the XML cannot be read."""
    empty = [_Tags() for _ in range(entries)]
    try:
        root = ET.fromstring(body)
    except ET.ParseError as err:
        return [], empty, [f"podcast:* tags not read: the feed is not well-formed XML ({err})"]
    channel = next((el for el in root.iter() if _local(el.tag) == "channel"), root)
    items = [el for el in root.iter() if _local(el.tag) in ("item", "entry")]
    if len(items) != entries:
        return [], empty, [f"podcast:* tags not read: {len(items)} items in the XML, {entries} in the feed"]
    return _people(channel), [_item_tags(item) for item in items], []


def _item_tags(item: ET.Element) -> _Tags:
    tags = _Tags(people=_people(item))
    for el in item:
        if _podcast(el) and el.get("url"):
            link = _Link(el.get("url", "").strip(), el.get("type", "").strip().lower(), el.get("language", "").strip())
            {"chapters": tags.chapters, "transcript": tags.transcripts}.get(_local(el.tag), []).append(link)
    return tags


def _people(parent: ET.Element) -> list[tuple[str, str]]:
    """podcast:person children: (name, role); the spec's default role is host."""
    found = [(clean_name(el.text or ""), (el.get("role") or "host").strip().lower())
             for el in parent if _podcast(el) and _local(el.tag) == "person"]  # fmt: skip
    return list(dict.fromkeys((name, role) for name, role in found if name))


def _podcast(el: ET.Element) -> bool:
    namespace = el.tag[1:].split("}")[0] if el.tag.startswith("{") else ""
    return "podcastindex" in namespace or "podcast-namespace" in namespace


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# -- linked chapters and transcripts ----------------------------------------------------------


def _attach_links(item: FeedItem, tags: _Tags, fetcher: Fetcher, feed: Fetched) -> None:
    for link in tags.chapters[:1]:
        chapters = _linked(item, link, CHAPTERS_SUFFIXES, "chapters", fetcher, feed)
        if chapters:
            _try(item, link, lambda: _with_chapters(item.episode, chapters[0], link.url))
    language = item.episode.summary_language
    ranked = sorted(tags.transcripts, key=lambda link: (link.language.split("-")[0].lower() not in ("", language),
                                                        _preference(link)))
    said = len(item.warnings)
    for link in ranked:
        transcribed = _linked(item, link, TRANSCRIPT_SUFFIXES, "transcript", fetcher, feed, existing=True)
        if transcribed and _try(item, link, lambda: _with_transcript(item.episode, transcribed[0], link.url)):
            del item.warnings[said:]  # a transcript is attached: the ones that failed before it are not news
            break


def _preference(link: _Link) -> int:
    suffix = _suffix(link, TRANSCRIPT_SUFFIXES)
    return TRANSCRIPT_PREFERENCE.index(suffix) if suffix in TRANSCRIPT_PREFERENCE else len(TRANSCRIPT_PREFERENCE)


def _suffix(link: _Link, by_type: dict[str, str]) -> str:
    """The suffix for a link's MIME type, else its URL's (a host that labels nothing)."""
    suffix = by_type.get(link.type.split(";")[0])
    if suffix:
        return suffix
    path = urlparse(link.url).path.lower()
    return next((s for s in by_type.values() if path.endswith(s)), "")


def _linked(item: FeedItem, link: _Link, by_type: dict[str, str], what: str, fetcher: Fetcher, feed: Fetched,
            existing: bool = False) -> list[Episode]:
    """What `load_text` makes of a linked file, or [] with a warning on the item."""
    suffix = _suffix(link, by_type)
    if suffix not in SUFFIXES:
        item.warnings.append(f"{what} {link.url}: type {link.type or suffix or '(none)'!r} is not supported; skipped")
        return []
    try:
        fetched = fetcher.fetch(link.url, MAX_LINKED_BYTES, base=feed)
        text = fetched.body.decode("utf-8-sig")
        known = {item.episode.id: item.episode} if existing else None
        return load_text(text, link.url, suffix, episode_id=item.episode.id, existing=known)
    except UnicodeDecodeError as err:
        item.warnings.append(f"{what} {link.url}: not UTF-8 text (byte 0x{err.object[err.start]:02x}); skipped")
    except (FetchError, ParseError) as err:
        item.warnings.append(f"{what} skipped: {err}")
    return []


def _try(item: FeedItem, link: _Link, attach) -> bool:
    """Replace the item's episode with `attach()`, or keep it and warn when the result does not check."""
    try:
        item.episode = attach()
        return True
    except ParseError as err:
        item.warnings.append(f"{link.url} skipped: {err.problem}")
        return False


def _with_chapters(episode: Episode, chaptered: Episode, name: str) -> Episode:
    chapters = chaptered.chapters
    duration = episode.duration or chaptered.duration
    last = chapters[-1]
    if last.end == last.start and duration > last.start:  # a chapters file cannot say when the last one ends
        chapters = [*chapters[:-1], dataclasses.replace(last, end=duration)]
    return checked_episode(dataclasses.replace(episode, chapters=chapters, duration=duration), name)


def _with_transcript(episode: Episode, transcribed: Episode, name: str) -> Episode:
    if transcribed.id != episode.id or not transcribed.transcript:
        raise ParseError(name, "not a transcript")
    return checked_episode(dataclasses.replace(episode, transcript=transcribed.transcript), name)
