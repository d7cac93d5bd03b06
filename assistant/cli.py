"""The `laidub` command. Every command takes `--json` and then prints exactly one JSON object.

Errors a user can fix (a bad file, an unknown filter, a missing model) print one clear line
(or {"error": ...} with --json) and exit non-zero; nothing is written to the index.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import click

from assistant import render
from assistant.config import Settings
from assistant.library import open_library
from assistant.question import check_question
from store.errors import SettingsError, UnknownFilter, UserError
from store.feeds import is_feed
from store.fetch import Fetcher
from store.language import LANGUAGES

MAX_K = 100  # `search --k`: more results than anyone reads; a huge k only makes the search slow


def emit(as_json: bool, payload: dict, text: str) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False) if as_json else text)


def command(fn):
    """Shared options and error handling: `--json`, and user errors become a clean exit 2."""

    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    @functools.wraps(fn)
    def wrapper(*args, as_json: bool, **kwargs):
        try:
            return fn(*args, as_json=as_json, **kwargs)
        except UserError as err:
            message = str(err)
            if as_json:
                click.echo(json.dumps({"error": message}, ensure_ascii=False))
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)

    return wrapper


class _Command(click.Command):
    """click checks options and arguments (`--k 0`, a missing file) before `command` runs, and reports them
    as usage errors; with `--json` those print {"error": ...} too, so a script always gets its one object."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        as_json = "--json" in args
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            if as_json:
                click.echo(json.dumps({"error": err.format_message()}, ensure_ascii=False))
            raise


class _Group(click.Group):
    command_class = _Command


# -- options shared by several commands: each declared once -------------------------------------

fast_option = click.option("--fast", is_flag=True, default=None, help="Use the small 0.5B model.")
lang_option = click.option("--lang", type=click.Choice(["auto", *LANGUAGES]), default="auto", show_default=True,
                           help="Answer language; auto answers in the question's language.")
episode_option = click.option("--episode", "episodes", multiple=True,
                              help="Only this episode (id or title). Repeatable.")
person_option = click.option("--person", "--guest", "people", multiple=True,
                             help="Only chapters about this person (name or alias, e.g. LeCun or 杨立昆). Repeatable.")


@click.group(cls=_Group)
@click.version_option(package_name="laidub-ask")
def cli():
    """Ask LaiDub podcast episodes questions, in English or Chinese, with timestamp citations."""


@cli.command()
@click.argument("paths", nargs=-1)
@click.option("--episode", "episode_id", help="Episode id a transcript or chapters file belongs to.")
@click.option("--replace", is_flag=True,
              help="Let a file update a stored episode with its id that came from another file (else it gets a new id).")
@click.option("--update", is_flag=True, help="Read every followed feed again: new items added, changed ones updated.")
@click.option("--chapters/--no-chapters", default=None,
              help="Give an episode with a transcript and no chapters generated ones (topic segmentation and the "
                   "model). Default: on for files, off for feeds (a feed can bring hundreds: `laidub chapters ID`).")
@command
def ingest(paths, episode_id, replace, update, chapters, as_json):
    """Index LaiDub pages, episode JSON, chapter files, transcripts (SRT, VTT, JSON, HTML), audio, or podcast feeds.

    Audio (.mp3 .m4a .wav .flac .ogg .opus) is transcribed offline with Whisper; an interrupted
    transcription continues where it stopped when the command is run again.

    A feed (an http(s) URL, or a .xml/.rss/.atom file) becomes one episode per item, with the chapters,
    transcript and people it links, and is followed: `--update` reads every followed feed again.
    Everything is checked before anything is written; then each episode is written whole. If the
    command is interrupted, the episodes already written stay, and running it again finishes the rest.
    An episode with a transcript and no chapters then gets generated ones; if the model fails, it stays
    indexed with its transcript and the result says so.
    """
    feeds = [p for p in paths if is_feed(p)]
    if update and paths:
        raise SettingsError("--update reads the followed feeds; give it no files or URLs")
    if feeds and (len(feeds) < len(paths) or episode_id):
        raise SettingsError("ingest feeds and files in separate commands (--episode is for transcript files)")
    if not paths and not update:
        raise SettingsError("give files or feed URLs to ingest, or --update to refresh the followed feeds")
    from assistant.chaptering import ingest_with_chapters, lazy_chapterer

    settings = Settings.from_env()
    library = open_library(settings)
    wanted = chapters if chapters is not None else not (feeds or update)
    chapterer = lazy_chapterer(settings, library) if wanted else None
    if not feeds and not update:
        results = ingest_with_chapters(library, lambda: library.ingest([Path(p) for p in paths], episode_id=episode_id,
                                                                       replace=replace), chapterer, _chapter_progress)
        emit(as_json, {"ingested": [render.ingest_json(r) for r in results]}, "\n".join(map(render.ingest_text, results)))
        return
    with Fetcher(settings.fetch_timeout, progress=_stderr) as fetcher:
        if update:
            done = library.update_feeds(fetcher, replace, progress=_indexing)
        else:
            done = library.ingest_feeds(feeds, fetcher, replace, progress=_indexing)
    ingest_with_chapters(library, lambda: done.results, chapterer, _chapter_progress)
    emit(as_json, render.feed_ingest_json(done), render.feed_ingest_text(done))
    if done.errors:
        sys.exit(1)  # the one JSON object is printed; the exit code tells a script that a feed failed


@cli.command(name="feeds")
@command
def followed_feeds(as_json):
    """List followed feeds: URL, title, items, when last read."""
    followed = open_library(Settings.from_env()).feeds()
    text = "\n".join(map(render.feed_text, followed)) or "No feeds followed; add one with `laidub ingest FEED_URL`."
    emit(as_json, {"feeds": [render.feed_json(f) for f in followed]}, text)


def _stderr(line: str) -> None:
    click.echo(line, err=True)


def _indexing(done: int, total: int, title: str) -> None:
    if done < total:
        click.echo(f"indexing ({done + 1}/{total}) {title}", err=True)


def _chapter_progress(title: str, done: int, total: int) -> None:
    click.echo(f"Generating chapters for {title}: titling {done + 1}/{total}…", err=True)


@cli.command()
@click.argument("episode_id")
@fast_option
@command
def chapters(episode_id, fast, as_json):
    """Generate chapters for an episode's transcript (again, if they were generated before).

    An episode whose publisher gave chapters keeps them: only generated ones are replaced.
    """
    from assistant.chaptering import lazy_chapterer, write_chapters

    settings = Settings.from_env(fast=fast)
    library = open_library(settings)
    episode = library.episode(episode_id)
    if episode is None:
        raise UnknownFilter(f"unknown episode {episode_id!r}; see `laidub episodes`")
    if any(not c.generated for c in episode.chapters):
        raise UserError(f"{episode_id} has its publisher's chapters; only generated chapters are replaced")
    if not episode.transcript:
        raise UserError(f"{episode_id} has no transcript to make chapters from; ingest one with --episode {episode_id}")
    made = lazy_chapterer(settings, library)().chapters(episode, lambda done, total: _chapter_progress(
        episode.title, done, total))
    write_chapters(library, episode, made)
    emit(as_json, {"episode_id": episode.id, "chapters": [render.chapter_json(c) for c in made]},
         "\n".join(map(render.chapter_text, made)))


@cli.command()
@click.argument("episode_id")
@command
def remove(episode_id, as_json):
    """Remove an episode and everything indexed from it."""
    library = open_library(Settings.from_env())
    title = library.episode(episode_id).title if library.episode(episode_id) else episode_id
    removed = library.remove(episode_id)
    emit(as_json, {"removed": {"episode_id": episode_id, "chunks": removed}}, f"Removed {title} ({removed} chunks).")


@cli.command()
@command
def episodes(as_json):
    """List indexed episodes."""
    eps = open_library(Settings.from_env()).episodes()
    text = "\n".join(f"{e.id}  {e.title} ({render.chapters_count(e)})" for e in eps) or "No episodes indexed."
    emit(as_json, {"episodes": [render.episode_json(e) for e in eps]}, text)


@cli.command()
@click.argument("episode_ids", nargs=-1, required=True)
@command
def transcribe(episode_ids, as_json):
    """Transcribe feed episodes from their audio: each enclosure is downloaded (with progress, at most 1 GiB)
    into the cache dir, transcribed offline, and the transcript stored with the episode; an episode without
    chapters then gets generated ones."""
    from assistant.chaptering import ingest_with_chapters, lazy_chapterer

    settings = Settings.from_env()
    library = open_library(settings)

    def transcribe_all() -> list:
        with Fetcher(settings.fetch_timeout, progress=_stderr) as fetcher:
            return [library.transcribe_into(episode_id, _enclosure(library, fetcher, episode_id, settings))
                    for episode_id in episode_ids]

    results = ingest_with_chapters(library, transcribe_all, lazy_chapterer(settings, library), _chapter_progress)
    emit(as_json, {"ingested": [render.ingest_json(r) for r in results]}, "\n".join(map(render.ingest_text, results)))


def _enclosure(library, fetcher: Fetcher, episode_id: str, settings: Settings) -> Path:
    """The episode's audio as a local file: its enclosure downloaded once into the cache dir."""
    episode = library.episode(episode_id)
    if episode is None or not episode.media_url.startswith(("http://", "https://")):
        problem = "no such episode" if episode is None else "it has no audio enclosure to download"
        raise SettingsError(f"cannot transcribe {episode_id!r}: {problem}")
    suffix = Path(urlparse(episode.media_url).path).suffix.lower()
    downloads = settings.cache_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    dest = downloads / f"{hashlib.sha256(episode.media_url.encode()).hexdigest()[:32]}{suffix or '.mp3'}"
    return dest if dest.is_file() else fetcher.download(episode.media_url, dest)


@cli.command()
@click.argument("episode_id")
@click.option("--transcript", is_flag=True, help="Print only its transcript, as Podcasting 2.0 JSON segments.")
@command
def export(episode_id, transcript, as_json):
    """Print an episode as canonical episode JSON (re-importable with `laidub ingest`), or its transcript."""
    library = open_library(Settings.from_env())
    episode = library.episode(episode_id)
    if not episode:
        raise UnknownFilter(f"unknown episode {episode_id!r}; see `laidub episodes`")
    if transcript and not episode.transcript:
        raise UserError(f"episode {episode_id!r} has no transcript")
    click.echo(json.dumps(render.transcript_json(episode), ensure_ascii=False, indent=2) if transcript
               else episode.to_json())


@cli.command()
@command
def people(as_json):
    """List the people the episodes talk about, with their aliases."""
    everyone = open_library(Settings.from_env()).people.people
    text = "\n".join(f"{p.name}  ({', '.join(p.aliases)})  {', '.join(f'{e}: {r}' for e, r in p.roles.items())}" for p in everyone)
    emit(as_json, {"people": [render.person_json(p) for p in everyone]}, text)


@cli.command()
@click.argument("question")
@click.option("--k", default=8, show_default=True, type=click.IntRange(1, MAX_K), help="How many results.")
@episode_option
@person_option
@click.option("--kind", "kinds", multiple=True, help="chapter, quote, segment, summary or entity.")
@click.option("--language", "languages", multiple=True, help="Only chunks in en or zh.")
@command
def search(question, k, episodes, people, kinds, languages, as_json):
    """Search chapters and quotes (no model needed)."""
    settings = Settings.from_env()
    question = check_question(question, settings.max_question_chars)
    library = open_library(settings)
    if library.is_empty():  # an empty result list would read as "nothing relevant", not "nothing indexed"
        raise UserError("no episodes indexed; run `laidub ingest PATH` to add some")
    filters = library.filters(episodes, people, kinds, languages)
    start = time.perf_counter()
    hits = library.search(question, k=k, filters=filters)
    total = (time.perf_counter() - start) * 1000
    payload = {"query": question, "results": [render.hit_json(h) for h in hits], "timings_ms": {"total": round(total, 1)}}
    emit(as_json, payload, "\n".join(render.hit_text(h) for h in hits) or "No results.")


@cli.command()
@click.argument("question")
@lang_option
@episode_option
@person_option
@fast_option
@command
def ask(question, lang, episodes, people, fast, as_json):
    """Answer a question from the episodes, citing chapter timestamps."""
    from assistant.answer import Assistant

    settings = Settings.from_env(fast=fast)
    assistant = Assistant(settings)
    filters = assistant.library.filters(episodes, people)
    if as_json:
        click.echo(json.dumps(render.answer_json(assistant.ask(question, lang, filters)), ensure_ascii=False))
        return
    streamed = False
    for part in assistant.stream(question, lang, filters):
        if isinstance(part, str):
            click.echo(part, nl=False)
            streamed = True
        elif streamed:  # what streamed is the answer, each sentence checked as it came: only its citations follow
            click.echo("\n\n" + render.citations_text(part) if part.citations else "")
        else:  # a refusal decided before anything was shown
            click.echo(render.answer_text(part))


@cli.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1, or LAIDUB_HOST). Beyond this machine needs --auth.")
@click.option("--port", type=int, help="Port to listen on (default 7860, or LAIDUB_PORT).")
@click.option("--auth", help="user:password the browser must log in with (or LAIDUB_AUTH).")
@fast_option
@command
def serve(host, port, auth, fast, as_json):
    """Open the web app: chat with cited answers, browse the library, add episodes."""
    from assistant.web.app import serve as serve_app

    def listening(url: str) -> None:  # the page is up; the library and the model may still be loading
        emit(as_json, {"url": url}, f"LaiDub Ask: {url}")

    serve_app(Settings.from_env(host=host, port=port, auth=auth, fast=fast), listening)


@cli.command(name="compare")
@click.argument("topic")
@click.option("--person", "--guest", "people", multiple=True,
              help="Someone to compare (name or alias, e.g. LeCun or 杨立昆). Repeat; default: the people TOPIC names.")
@lang_option
@episode_option
@fast_option
@command
def compare_views(topic, people, lang, episodes, fast, as_json):
    """Compare people's views on TOPIC: each one's cited position, then where they agree and differ."""
    from assistant.answer import Assistant

    assistant = Assistant(Settings.from_env(fast=fast))
    result = assistant.compare(topic, people, lang, assistant.library.filters(episodes))
    emit(as_json, render.compare_json(result), render.answer_text(result))


@cli.command(name="eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--retrieval-only", is_flag=True, help="Skip the answer metrics (no model needed).")
@fast_option
@command
def evaluate(path, retrieval_only, fast, as_json):
    """Score retrieval (recall@5, MRR by language) and answers on a JSONL question set."""
    from assistant.measure.evaluate import answer_metrics, compare_metrics, load_cases, retrieval_metrics

    settings = Settings.from_env(fast=fast)
    library = open_library(settings)
    cases = load_cases(path, library)
    report = {"file": str(path), "retrieval": retrieval_metrics(library, cases)}
    if not retrieval_only:
        from assistant.answer import Assistant

        assistant = Assistant(settings, library)
        report["answers"] = answer_metrics(assistant, cases)
        report["compare"] = compare_metrics(assistant, cases)
        report["model"] = assistant.llm.name
    emit(as_json, report, json.dumps(report, ensure_ascii=False, indent=2))


@cli.command()
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Synthetic corpus sizes, in chunks.")
@click.option("--queries", default=50, show_default=True, type=click.IntRange(min=1), help="Searches timed per size.")
@click.option("--answers/--no-answers", default=True, show_default=True,
              help="Also time answering with the model (first token, total, prefix reuse, raw llama-cpp-python).")
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSONL of questions for --answers.")
@click.option("--feed", "feed_items", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also time ingesting a loopback feed of this many items with chapters and transcripts.")
@click.option("--audio", is_flag=True,
              help="Also time transcription: realtime factor, ingest vs raw faster-whisper, WER/CER, a 3-hour file's RSS.")
@click.option("--chapters", "chapters_only", is_flag=True,
              help="Only measure chapter generation's topic segmentation on the seed episodes (seconds, no model).")
@click.option("--server", is_flag=True,
              help="Only measure search on a Chroma server (`chroma run` on 127.0.0.1) from a separate client process, "
                   "at each --sizes, and dev recall@5 there and embedded.")
@click.option("--library", "library_sizes", default="",
              help="Only measure the big distractor libraries of these sizes (built once, resumable, reused), "
                   "e.g. 100000,1000000.")
@click.option("--dev", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSONL question set (as for `laidub eval`) for the recall@5 of --server and --library.")
@fast_option
@command
def bench(sizes, queries, answers, questions, feed_items, audio, chapters_only, server, library_sizes, dev, fast,
          as_json):
    """Time ingest, indexing and search (synthetic corpora, temporary) and answering with the model."""
    from assistant.measure.bench import QUESTIONS, bench_text, parse_sizes, run_bench

    def progress(step: str) -> None:  # the bench takes minutes: say what it is doing
        click.echo(f"bench: {step}", err=True)

    settings = Settings.from_env(fast=fast)
    if server:
        from assistant.measure.bench_server import run_server_bench, server_text

        report = run_server_bench(settings, parse_sizes(sizes), queries, dev, progress)
        emit(as_json, report, server_text(report))
        return
    if chapters_only:
        from assistant.measure.bench_chapters import bench_chapters, chapters_text

        report = {"chapters": bench_chapters(settings)}
        emit(as_json, report, chapters_text(report["chapters"]))
        return
    if library_sizes:
        from assistant.measure.bench_scale import DEV_QUESTIONS, run_scale, scale_text

        report = run_scale(settings, parse_sizes(library_sizes), dev or DEV_QUESTIONS, progress)
        emit(as_json, report, scale_text(report))
        return
    if answers:
        from assistant.measure.bench_answers import bench_answers, load_questions

        asked = load_questions(questions, QUESTIONS)  # a bad file fails now, not after minutes of benchmarking
    report = run_bench(settings, parse_sizes(sizes), queries, progress)
    if feed_items:
        from assistant.measure.bench_feed import bench_feed, feed_text

        report["feed"] = bench_feed(settings, feed_items, progress)
    if answers:
        from assistant.answer import Assistant

        report["answers"] = bench_answers(Assistant(settings), asked, progress)
    if audio:
        from assistant.measure.bench_audio import bench_audio

        report["audio"] = bench_audio(settings, progress)
    text = bench_text(report) + (f"\n{feed_text(report['feed'])}" if feed_items else "")
    extra = "".join(f"\n{json.dumps(report[part], indent=2)}" for part in ("answers", "audio") if part in report)
    emit(as_json, report, text + extra)


def main():
    cli()
