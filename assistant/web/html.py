"""HTML for the web app: answers with citation chips, the sources panel, the library, the episode page.

Everything that comes from an episode, a user or the model is escaped here, once, before it meets
markup: episode files are uploads, and a page or a model can carry `<script>` or markdown links.
The chatbot renders markdown, so a message goes out as a single line of HTML: markdown leaves the
inside of an HTML block alone, so escaped text stays text and our own links are the only links.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from assistant.citations import Citation
from assistant.context import Source
from assistant.prompts import Prompts
from assistant.results import Comparison
from assistant.web.media import Media
from store.episode import Chapter, Episode, format_timestamp

_MARKER = re.compile(r"\[(\d+)\]")


class Labels:
    """The interface's words in one language: the `ui_*` keys of prompts/messages.toml."""

    def __init__(self, prompts: Prompts, language: str):
        self.prompts = prompts
        self.language = language

    def __call__(self, key: str, **values) -> str:
        return self.prompts.message(self.language, f"ui_{key}", **values)


def text(value: object) -> str:
    """Escaped for HTML text and attributes; line breaks become <br>, so no blank line reaches markdown."""
    return "<br>".join(html.escape(line) for line in str(value).splitlines())


def episode_href(episode_id: str, seconds: int, cited: Sequence[int] = ()) -> str:
    """The episode page at `seconds`; `cited` are the moments an answer cites, marked on its timeline."""
    query = f"?cited={','.join(str(int(c)) for c in cited)}" if cited else ""
    return f"/episode/{quote(episode_id, safe='')}{query}#t={int(seconds)}"


def time_link(episode_id: str, seconds: int) -> str:
    href = text(episode_href(episode_id, seconds))
    return f'<a class="ld-time" href="{href}" target="_blank" rel="noopener">{format_timestamp(seconds)}</a>'


def citation_href(citation: Citation, cited: Sequence[int] = ()) -> str:
    """The episode's own web page when it has one, else ours; an uploaded `javascript:` URL never gets through."""
    if urlsplit(citation.url).scheme in ("http", "https"):
        return citation.url
    return episode_href(citation.episode_id, citation.start_seconds, cited)


# -- chat messages -------------------------------------------------------------------------


def user_html(question: str) -> str:
    return f'<div class="ld-question">{text(question)}</div>'


def notice_html(message: str, kind: str = "waiting") -> str:
    """A placeholder bubble: waiting in the queue, searching, or an error."""
    return f'<div class="ld-notice ld-{kind}">{text(message)}</div>'


def streaming_html(partial: str) -> str:
    return f'<div class="ld-answer">{text(partial)}<span class="ld-cursor"></span></div>'


def answer_html(answer_text: str, citations: Sequence[Citation], refused: bool, lead: str = "",
                media: Media | None = None) -> str:
    """The final answer: `lead` (already HTML, e.g. a comparison table), the text with its markers, the chips."""
    body = _MARKER.sub(r'<sup class="ld-marker">\1</sup>', text(answer_text))
    moments = _moments(citations)
    chips = "".join(chip_html(c, media=media, cited=moments[c.episode_id]) for c in citations)
    chip_row = f'<div class="ld-chips">{chips}</div>' if chips else ""
    return f'<div class="ld-answer{" ld-refused" if refused else ""}">{lead}<div>{body}</div>{chip_row}</div>'


def chip_html(citation: Citation, compact: bool = False, media: Media | None = None, cited: Sequence[int] = ()) -> str:
    """`Episode · 15:51`, linking to that second; compact shows the time only, for a narrow table column.

    For an episode with audio the chip plays it from that second (PLAYER_JS); the link stays for a new tab."""
    label, tip = (citation.start, citation.label) if compact else (citation.label, citation.title)
    src = media.src(citation.media) if media and citation.media else ""
    play = (f' data-media="{text(src)}" data-t="{citation.start_seconds}" data-label="{text(citation.label)}"'
            if src else "")  # fmt: skip
    return (
        f'<a class="ld-chip{" ld-playable" if src else ""}" href="{text(citation_href(citation, cited))}" '
        f'target="_blank" rel="noopener" title="{text(tip)}"{play}><span class="ld-chip-n">{citation.marker}</span>'
        f'{"▶ " if src else ""}{text(label)}</a>'
    )


def _moments(citations: Sequence[Citation]) -> dict[str, list[int]]:
    """Each cited episode's cited seconds, for its page's timeline."""
    moments: dict[str, list[int]] = {c.episode_id: [] for c in citations}
    for c in citations:
        moments[c.episode_id].append(c.start_seconds)
    return moments


def player_html() -> str:
    """The chat's audio player, hidden until a chip plays something."""
    return ('<div class="ld-player" hidden><div class="ld-player-title"></div>'
            '<audio controls preload="none"></audio></div>')  # fmt: skip


# The player's js_on_load: one listener for every chip, present and future (chips arrive with each answer).
# A new source starts at the cited second once its metadata is in; the same one seeks where it is.
PLAYER_JS = """
const box = element.querySelector(".ld-player");
const audio = element.querySelector("audio");
document.addEventListener("click", (event) => {
  const chip = event.target.closest("a.ld-chip[data-media]");
  if (!chip) return;
  event.preventDefault();
  const second = Number(chip.dataset.t);
  const play = () => { audio.currentTime = second; audio.play(); };
  box.hidden = false;
  box.querySelector(".ld-player-title").textContent = chip.dataset.label;
  if (audio.getAttribute("src") === chip.dataset.media && audio.readyState > 0) { play(); return; }
  audio.addEventListener("loadedmetadata", play, {once: true});
  audio.setAttribute("src", chip.dataset.media);
  audio.load();
});
"""


def comparison_html(comparison: Comparison, labels: Labels, media: Media | None = None) -> str:
    """The comparison table, one row per person with their own citation, then where they agree and differ."""
    keys = ("compare_person", "compare_position", "compare_quote", "compare_source")
    head = "".join(f"<th>{text(labels(key))}</th>" for key in keys)
    body = "".join(
        f'<tr><td class="ld-person">{text(r.person)}</td><td>{text(r.position)}</td>'
        f'<td class="ld-quote">{text(r.quote)}</td><td>{_source_cell(r.citation, media)}</td></tr>'
        for r in comparison.rows
    )
    table = f'<table class="ld-compare"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    summary_label = labels.prompts.message(comparison.language, "compare_summary_label")
    lead = table + (f'<div class="ld-summary-label">{text(summary_label)}</div>' if comparison.summary else "")
    return answer_html(comparison.summary, [], comparison.refused, lead)


def _source_cell(citation: Citation | None, media: Media | None) -> str:
    if citation is None:
        return ""
    return f'{chip_html(citation, compact=True, media=media)}<div class="ld-cell-episode">{text(citation.episode_title)}</div>'


# -- sources panel -------------------------------------------------------------------------


def sources_html(sources: Sequence[Source], citations: Sequence[Citation], labels: Labels) -> str:
    heading = f'<div class="ld-panel-title">{text(labels("sources"))}</div>'
    if not sources:
        return f'{heading}<div class="ld-empty">{text(labels("sources_empty"))}</div>'
    markers = {(c.episode_id, c.start_seconds): c.marker for c in citations}
    cited_first = sorted(sources, key=lambda s: markers.get((s.episode.id, s.start), len(markers) + 1))
    cards = "".join(_source_card(s, markers.get((s.episode.id, s.start)), labels) for s in cited_first)
    return f'{heading}<div class="ld-sources">{cards}</div>'


def _source_card(source: Source, marker: int | None, labels: Labels) -> str:
    title = source.chapter.title if source.chapter else source.hit.chunk.title
    badge = f'<span class="ld-badge">{text(labels("cited"))} [{marker}]</span>' if marker else ""
    quote_html = f"<blockquote>{text(source.quote)}</blockquote>" if source.quote else ""
    return (
        f'<div class="ld-source{" ld-cited" if marker else ""}">'
        f'<div class="ld-source-head">{time_link(source.episode.id, source.start)}{badge}</div>'
        f'<div class="ld-source-title">{text(title)}</div>'
        f'<div class="ld-source-episode">{text(source.episode.title)}</div>'
        f'{quote_html}<p class="ld-excerpt">{text(source.excerpt)}</p></div>'
    )


# -- library -------------------------------------------------------------------------------


def library_html(episodes: Sequence[Episode] | None, labels: Labels) -> str:
    if episodes is None:
        return f'<div class="ld-empty">{text(labels("library_loading"))}</div>'
    chapters = sum(len(e.chapters) for e in episodes)
    summary = labels("library_summary", episodes=len(episodes), chapters=chapters)
    cards = "".join(_episode_card(e, labels) for e in episodes)
    return f'<div class="ld-library"><div class="ld-library-summary">{text(summary)}</div>{cards}</div>'


def _episode_card(episode: Episode, labels: Labels) -> str:
    people = _pills(labels("people"), episode.people)
    tags = _pills(labels("tags"), [f"#{t}" for t in episode.tags])
    chapters = "".join(_chapter_item(episode, c, labels) for c in episode.chapters)
    return (
        f'<details class="ld-episode"><summary><span class="ld-episode-title">{text(episode.title)}</span>'
        f'<span class="ld-episode-meta">{episode_meta(episode)}</span>{_holdings(episode, labels)}</summary>'
        f'<p class="ld-episode-summary">{text(episode.summary)}</p>{people}{tags}'
        f'<a class="ld-open" href="{text(episode_href(episode.id, 0))}" target="_blank" rel="noopener">'
        f'{text(labels("open_episode"))} ↗</a><ol class="ld-chapters">{chapters}</ol></details>'
    )


def _holdings(episode: Episode, labels: Labels) -> str:
    """Whether the episode has a transcript (how long) and audio: what a listener can read and play."""
    transcript = (labels("transcript_lines", lines=len(episode.transcript)) if episode.transcript
                  else labels("no_transcript"))  # fmt: skip
    audio = f'<span class="ld-holding">{text(labels("audio"))}</span>' if episode.media_url else ""
    return f'<span class="ld-holding{"" if episode.transcript else " ld-missing"}">{text(transcript)}</span>{audio}'


def auto_badge(chapter: Chapter, labels: Labels) -> str:
    """"auto" beside a chapter the local model made from the transcript, not the publisher."""
    if not chapter.generated:
        return ""
    return f'<span class="ld-auto" title="{text(labels("auto_tip"))}">{text(labels("auto"))}</span>'


def _chapter_item(episode: Episode, chapter: Chapter, labels: Labels) -> str:
    quote_html = f"<blockquote>{text(chapter.quote.text)}</blockquote>" if chapter.quote else ""
    return (
        f'<li><div class="ld-chapter-head">{time_link(episode.id, chapter.start)}'
        f'<span class="ld-chapter-title">{text(chapter.title)}{auto_badge(chapter, labels)}</span>'
        f'<button class="ld-ask" data-episode="{text(episode.id)}" data-start="{chapter.start}">'
        f'{text(labels("ask_about"))}</button></div>'
        f'<p class="ld-chapter-body">{text(chapter.body)}</p>{quote_html}</li>'
    )


def episode_meta(episode: Episode) -> str:
    """Show · published date · duration, each when known."""
    duration = format_timestamp(episode.duration) if episode.duration else ""
    return " · ".join(text(part) for part in (episode.show, episode.published[:10], duration) if part)


def _pills(label: str, values: Sequence[str]) -> str:
    if not values:
        return ""
    pills = "".join(f'<span class="ld-pill">{text(v)}</span>' for v in values)
    return f'<div class="ld-pills"><span class="ld-pills-label">{text(label)}</span>{pills}</div>'


# -- start-up status -----------------------------------------------------------------------


def status_html(message: str, fraction: float | None, failed: bool = False) -> str:
    """A progress bar under the header; `fraction` None means "busy, length unknown"."""
    width = f"width:{fraction * 100:.0f}%" if fraction is not None else ""
    bar_class = "ld-bar" if fraction is not None else "ld-bar ld-indeterminate"
    return (
        f'<div class="ld-status{" ld-failed" if failed else ""}" role="status"><span>{text(message)}</span>'
        f'<div class="ld-track"><div class="{bar_class}" style="{width}"></div></div></div>'
    )


def header_html(labels: Labels) -> str:
    return (
        f'<div class="ld-header"><div class="ld-logo">{text(labels("title"))}</div>'
        f'<div class="ld-tagline">{text(labels("tagline"))}</div></div>'
    )


# -- the episode page (/episode/ID) ----------------------------------------------------------


def episode_page(episode: Episode | None, episode_id: str, labels: Labels, media: Media | None = None,
                 cited: Sequence[int] = ()) -> tuple[str, str]:
    """The page a citation links to, and its Content-Security-Policy: only our own inline script may run, and
    audio comes only from this server's media route or an enclosure's web address."""
    nonce = secrets.token_urlsafe(16)
    if episode is None:
        body = f'<p class="missing">{text(labels("episode_missing", id=episode_id))}</p>'
        title = labels("title")
    else:
        body = _episode_body(episode, labels, media.src(episode.media_url) if media else "", cited)
        title = f'{episode.title} · {labels("title")}'
    page = (
        f'<!doctype html><html lang="{labels.language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{text(title)}</title>'
        f'<style nonce="{nonce}">{EPISODE_CSS}</style></head><body>'
        f'<a class="back" href="/">← {text(labels("episode_back"))}</a>{body}'
        f'<script nonce="{nonce}">{EPISODE_JS}</script></body></html>'
    )
    policy = (f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; media-src 'self' http: https:; "
              f"base-uri 'none'")  # fmt: skip
    return page, policy


def _episode_body(episode: Episode, labels: Labels, audio_src: str, cited: Sequence[int]) -> str:
    chapters = "".join(
        f'<section class="chapter" id="t{c.start}" data-start="{c.start}"><h2><a href="#t={c.start}">{c.timestamp}</a> '
        f"{text(c.title)}{auto_badge(c, labels)}</h2><p>{text(c.body)}</p>"
        f'{f"<blockquote>{text(c.quote.text)}</blockquote>" if c.quote else ""}</section>'
        for c in episode.chapters
    )
    people = f"<p class='meta'>{text(labels('people'))}: {text(', '.join(episode.people))}</p>"
    audio = f'<audio id="player" controls preload="metadata" src="{text(audio_src)}"></audio>' if audio_src else ""
    return (
        f"<h1>{text(episode.title)}</h1><p class='meta'>{episode_meta(episode)}</p>"
        f"{people if episode.people else ''}<p>{text(episode.summary)}</p>{audio}"
        f"{_timeline(episode, cited, labels)}{chapters}{_transcript(episode, labels)}"
    )


def _timeline(episode: Episode, cited: Sequence[int], labels: Labels) -> str:
    """The chapters as a bar, with the cited moments marked; EPISODE_JS places them (the CSP forbids style attributes)."""
    length = max([episode.duration, *(c.end for c in episode.chapters), 1])
    parts = "".join(
        f'<a class="tl-chapter{" auto" if c.generated else ""}" href="#t={c.start}" data-start="{c.start}" '
        f'data-end="{c.end}" title="{c.timestamp} {text(c.title)}"></a>'
        for c in episode.chapters
    )
    marks = "".join(
        f'<a class="tl-mark" href="#t={int(m)}" data-start="{int(m)}" '
        f'title="{text(labels("cited_moment"))} {format_timestamp(m)}"></a>'
        for m in dict.fromkeys(cited) if 0 <= m <= length
    )
    if not parts and not marks:
        return ""
    return f'<nav class="timeline" aria-label="{text(labels("timeline"))}" data-length="{length}">{parts}{marks}</nav>'


def _transcript(episode: Episode, labels: Labels) -> str:
    """Every line with its time and, where the speaker changes, who speaks; a line's time seeks the audio there."""
    if not episode.transcript:
        return ""
    lines, speaker = [], None
    for s in episode.transcript:
        who = f'<span class="speaker">{text(s.speaker)}</span> ' if s.speaker and s.speaker != speaker else ""
        speaker = s.speaker or speaker
        lines.append(f'<li data-start="{int(s.start)}"><a class="line-time" href="#t={int(s.start)}" '
                     f'title="{text(labels("play_from"))}">{format_timestamp(s.start)}</a> {who}{text(s.text)}</li>')
    return (f'<section class="transcript"><h2>{text(labels("transcript_heading"))}</h2>'
            f'<ol>{"".join(lines)}</ol></section>')  # fmt: skip


# `#t=951` names a second, not an element: mark the chapter and the transcript line playing at that second,
# and put the audio there; a click on a time (a chapter's, a line's, the timeline's) also plays it.
EPISODE_JS = """
const audio = document.getElementById("player");
function mark(selector, second, scroll) {
  let current = null;
  for (const item of document.querySelectorAll(selector)) {
    item.classList.remove("current");
    if (Number(item.dataset.start) <= second) current = item;
  }
  if (current) { current.classList.add("current"); if (scroll) current.scrollIntoView({block: "start"}); }
}
function showTime(play) {
  const match = location.hash.match(/^#t=(\\d+)/);
  if (!match) return;
  const second = Number(match[1]);
  mark("section.chapter[data-start]", second, true);
  mark(".transcript li[data-start]", second, false);
  if (audio) { audio.currentTime = second; if (play) audio.play(); }
}
const timeline = document.querySelector(".timeline");
if (timeline) {
  const length = Number(timeline.dataset.length);
  for (const part of timeline.querySelectorAll("[data-start]")) {
    part.style.left = (100 * Number(part.dataset.start) / length) + "%";
    if (part.dataset.end) part.style.width = (100 * (Number(part.dataset.end) - Number(part.dataset.start)) / length) + "%";
  }
}
document.addEventListener("click", (event) => {
  const link = event.target.closest('a[href^="#t="]');
  if (link && link.getAttribute("href") === location.hash) showTime(true);  // the same time again: no hashchange
});
window.addEventListener("hashchange", () => showTime(true));
showTime(false);
"""

EPISODE_CSS = """
body { font: 16px/1.6 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif;
       max-width: 760px; margin: 2rem auto; padding: 0 1rem; color: #1f2937; }
h1 { font-size: 1.6rem; line-height: 1.3; } .meta { color: #6b7280; margin: .2rem 0; }
.back { color: #4f46e5; text-decoration: none; font-size: .9rem; }
.chapter { border-left: 3px solid #e5e7eb; padding: .2rem 1rem; margin: 1.2rem 0; scroll-margin-top: 1rem; }
.chapter h2 { font-size: 1.1rem; margin: .3rem 0; } .chapter h2 a { color: #4f46e5; text-decoration: none;
  font-variant-numeric: tabular-nums; margin-right: .4rem; }
.chapter.current { border-left-color: #4f46e5; background: #eef2ff; border-radius: 0 8px 8px 0; }
blockquote { margin: .5rem 0; padding-left: .8rem; border-left: 3px solid #c7d2fe; color: #374151; font-style: italic; }
audio { width: 100%; margin: .8rem 0 .4rem; }
.timeline { position: relative; height: 22px; margin: .6rem 0 1.2rem; background: #f3f4f6; border-radius: 6px; }
.tl-chapter { position: absolute; top: 0; bottom: 0; background: #c7d2fe; border-right: 2px solid white; }
.tl-chapter.auto { background: #ddd6fe; } .tl-chapter:hover { background: #a5b4fc; }
.tl-mark { position: absolute; top: -5px; bottom: -5px; width: 4px; margin-left: -2px; background: #db2777;
  border-radius: 2px; }
.ld-auto { font-size: .7rem; font-weight: 600; color: #6d28d9; background: #ede9fe; border-radius: 999px;
  padding: 0 .45rem; margin-left: .4rem; vertical-align: .15em; }
.transcript ol { list-style: none; padding: 0; } .transcript li { padding: .15rem .4rem; border-radius: 6px; }
.transcript li.current { background: #eef2ff; } .speaker { font-weight: 700; }
.line-time { color: #4f46e5; text-decoration: none; font-variant-numeric: tabular-nums; margin-right: .3rem;
  font-size: .85rem; }
"""

APP_CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto; }
.ld-header { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; padding: .4rem 0; }
.ld-logo { font-size: 1.9rem; font-weight: 800; letter-spacing: -.02em;
  background: linear-gradient(90deg, #4f46e5, #db2777); -webkit-background-clip: text; background-clip: text;
  color: transparent; }
.ld-tagline { color: var(--body-text-color-subdued); }
.ld-status { display: flex; align-items: center; gap: .8rem; padding: .5rem .8rem; border-radius: 10px;
  background: var(--background-fill-secondary); font-size: .9rem; }
.ld-status.ld-failed { background: #fef2f2; color: #991b1b; }
.ld-track { flex: 1; height: 6px; border-radius: 3px; background: var(--border-color-primary); overflow: hidden;
  min-width: 120px; }
.ld-bar { height: 100%; background: #4f46e5; transition: width .4s; }
.ld-bar.ld-indeterminate { width: 35%; animation: ld-slide 1.2s infinite ease-in-out; }
@keyframes ld-slide { from { margin-left: -35%; } to { margin-left: 100%; } }
.ld-answer { line-height: 1.65; }
.ld-refused { color: var(--body-text-color-subdued); }
.ld-marker { color: #4f46e5; font-weight: 700; font-size: .72em; margin-left: 1px; }
.ld-cursor::after { content: "▍"; animation: ld-blink 1s steps(2) infinite; color: #4f46e5; }
@keyframes ld-blink { to { opacity: 0; } }
.ld-chips { display: flex; flex-wrap: wrap; gap: .4rem; margin-top: .7rem; }
a.ld-chip { display: inline-flex; align-items: center; gap: .35rem; padding: .2rem .7rem .2rem .25rem;
  border-radius: 999px; background: #eef2ff; border: 1px solid #c7d2fe; color: #3730a3 !important;
  text-decoration: none !important; font-size: .82rem; line-height: 1.4; }
a.ld-chip:hover { background: #e0e7ff; }
.ld-chip-n { display: inline-flex; justify-content: center; align-items: center; min-width: 1.25rem;
  height: 1.25rem; border-radius: 999px; background: #4f46e5; color: white; font-size: .7rem; font-weight: 700; }
.ld-notice { color: var(--body-text-color-subdued); font-style: italic; }
.ld-notice.ld-error { color: #b91c1c; font-style: normal; }
.ld-waiting::before, .ld-searching::before { content: ""; display: inline-block; width: .8em; height: .8em;
  margin-right: .5em; vertical-align: -.1em; border: 2px solid #c7d2fe; border-top-color: #4f46e5;
  border-radius: 50%; animation: ld-spin .8s linear infinite; }
@keyframes ld-spin { to { transform: rotate(360deg); } }
/* A waiting question's place in the queue is Gradio's tracker on the chat ("queue: 2/3 | 4.1s"); its typing
   dots would only repeat what the waiting bubble says. */
#chatbot .progress-text { font-size: .85rem; color: #4f46e5; }
#chatbot .message.pending { display: none; }
.ld-compare { border-collapse: collapse; width: 100%; margin-bottom: .7rem; font-size: .9rem; }
.ld-compare th { text-align: left; background: var(--background-fill-secondary); white-space: nowrap; }
.ld-compare th, .ld-compare td { border: 1px solid var(--border-color-primary); padding: .4rem .55rem;
  vertical-align: top; }
.ld-compare .ld-person { font-weight: 700; white-space: nowrap; } .ld-compare .ld-quote { font-style: italic; }
.ld-summary-label { font-weight: 700; margin-top: .3rem; }
.ld-cell-episode { font-size: .75rem; color: var(--body-text-color-subdued); margin-top: .25rem; min-width: 8rem; }
.ld-panel-title { font-weight: 700; font-size: 1rem; margin: .2rem 0 .6rem; }
.ld-empty { color: var(--body-text-color-subdued); font-size: .9rem; }
.ld-sources { display: flex; flex-direction: column; gap: .6rem; }
.ld-source { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: .6rem .75rem;
  font-size: .86rem; background: var(--background-fill-primary); }
.ld-source.ld-cited { border-color: #818cf8; background: #eef2ff; box-shadow: inset 3px 0 0 #4f46e5; }
.ld-source-head { display: flex; justify-content: space-between; align-items: center; }
.ld-source-title { font-weight: 700; margin-top: .2rem; } .ld-source-episode { color: var(--body-text-color-subdued); }
.ld-badge { background: #4f46e5; color: white; border-radius: 999px; padding: 0 .5rem; font-size: .72rem; }
a.ld-time { font-variant-numeric: tabular-nums; color: #4f46e5; font-weight: 600; text-decoration: none; }
.ld-source blockquote, .ld-library blockquote { margin: .35rem 0; padding-left: .6rem;
  border-left: 3px solid #c7d2fe; font-style: italic; }
.ld-excerpt { margin: .2rem 0 0; color: var(--body-text-color-subdued); }
.ld-library-summary { color: var(--body-text-color-subdued); margin-bottom: .6rem; }
.ld-episode { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: .7rem 1rem;
  margin-bottom: .7rem; }
.ld-episode summary { cursor: pointer; display: flex; flex-wrap: wrap; gap: .2rem 1rem; align-items: baseline; }
.ld-episode-title { font-weight: 700; font-size: 1.05rem; } .ld-episode-meta { color: var(--body-text-color-subdued); }
.ld-pills { display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; margin: .3rem 0; }
.ld-pills-label { font-weight: 600; margin-right: .2rem; font-size: .85rem; }
.ld-pill { background: var(--background-fill-secondary); border-radius: 999px; padding: .05rem .55rem;
  font-size: .8rem; }
.ld-open { font-size: .85rem; color: #4f46e5; }
.ld-chapters { list-style: none; padding: 0; margin: .6rem 0 0; }
.ld-chapters li { border-top: 1px solid var(--border-color-primary); padding: .5rem 0; }
.ld-chapter-head { display: flex; gap: .6rem; align-items: center; }
.ld-chapter-title { font-weight: 600; flex: 1; }
.ld-ask { border: 1px solid #c7d2fe; background: #eef2ff; color: #3730a3; border-radius: 999px;
  padding: .1rem .7rem; font-size: .8rem; cursor: pointer; white-space: nowrap; }
.ld-ask:hover { background: #e0e7ff; }
.ld-auto { font-size: .7rem; font-weight: 600; color: #6d28d9; background: #ede9fe; border-radius: 999px;
  padding: 0 .45rem; margin-left: .4rem; }
.ld-holding { font-size: .78rem; background: var(--background-fill-secondary); border-radius: 999px;
  padding: 0 .5rem; } .ld-holding.ld-missing { color: var(--body-text-color-subdued); }
a.ld-chip.ld-playable { background: #fdf2f8; border-color: #fbcfe8; color: #9d174d !important; }
.ld-player { margin-bottom: .6rem; padding: .5rem .6rem; border: 1px solid #fbcfe8; border-radius: 10px;
  background: #fdf2f8; } .ld-player audio { width: 100%; } .ld-player-title { font-size: .85rem; font-weight: 600; }
.ld-chapter-body { margin: .25rem 0; font-size: .88rem; color: var(--body-text-color-subdued);
  display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }
"""
