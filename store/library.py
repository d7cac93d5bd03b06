"""The store's front door: ingest files, list episodes, search. CLI, UI and Assistant use this.

Ingest validates per call and writes per episode: every file is parsed before anything is
written, so one bad file in a batch leaves the index exactly as it was; then each episode is
written atomically (store/index.py). A crash mid-batch leaves the episodes written so far, whole;
running the same command again finishes the rest and rewrites nothing.

An episode's id comes from its title, so two different episodes can claim one id. A file only
updates the stored episode it came from (same file name), or one it explicitly extends (a
transcript for it); any other claim gets a new id (`-2`, `-3`, ...) unless the caller asks to
replace, and the result says which happened.

Feeds (store/feeds.py) follow the same rules: a feed and everything its items link to are read before
anything is written, and an item's source is "<feed url> item <guid>", so reading the feed again updates
the episodes it made. Followed feeds are rows of the index's state collection (Index.set_feed).

Audio files are transcribed while they are parsed (by the Transcriber the Library is given), so
the same holds for them: every file is probed first, then each is transcribed, and only then is
anything written. A transcription interrupted midway resumes from its checkpoints.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from store.audio import AudioFile, audio_episode, copy_to_media, is_audio, media_path, probe_audio
from store.chunks import ALL_KINDS
from store.embedder import E5Embedding
from store.episode import Episode, format_timestamp
from store.errors import ParseError, UnknownFilter, UserError
from store.feeds import Feed, read_feed
from store.fetch import Fetcher
from store.formats import SUFFIXES, load_file
from store.formats.checks import checked_episode
from store.glossary import load_terms
from store.index import Index, IngestResult, connect
from store.language import LANGUAGES
from store.lexical import add_words
from store.people import Cast, PeopleIndex
from store.retrieve import Filters, Hit, Retriever
from store.server_ranking import ServerRanking
from store.transcribe import Transcriber, Transcript

# Whole episodes kept for `episode(id)`: an answer reads those of its 8-16 hits several times (context,
# refusal, citations), and one with a transcript takes milliseconds to fetch and decode.
EPISODES_KEPT = 64


class Library:
    def __init__(self, data_dir: Path, cache_dir: Path, chroma_url: str = "", collection: str = "laidub",
                 alias_files: list[Path] = (), glossary_files: list[Path] = (),
                 transcriber: Transcriber | None = None, fulltext_words: int = 0):
        self.alias_files = list(alias_files)
        self.media_dir = Path(data_dir) / "media"  # audio copies, served for playback
        self.transcriber = transcriber
        add_words(load_terms(list(glossary_files)))
        # On a Chroma server the server ranks (store/server_ranking.py): no search files, no copy of the library here.
        self.index = Index(connect(data_dir, chroma_url), collection, E5Embedding(str(cache_dir / "embeddings.sqlite")),
                           None if chroma_url else data_dir / "search" / collection)
        self._lock = threading.Lock()
        # What was read for the index's current revision; all of it is dropped when another revision is seen.
        self._revision: str | None = None
        self._casts: list[Cast] | None = None
        self._people: PeopleIndex | None = None
        self._episodes: OrderedDict[str, Episode | None] = OrderedDict()  # the latest EPISODES_KEPT asked for
        server = ServerRanking(self.index, fulltext_words) if chroma_url else None
        self.retriever = Retriever(self.index, lambda: self.people, server)

    # -- what is indexed ---------------------------------------------------------------

    def episodes(self) -> list[Episode]:
        """Every indexed episode, whole, read afresh: only for what lists them all (`laidub episodes`, the UI's
        library). Searching and answering never call it: they read `casts`, `people` and `episode`."""
        return self.index.episodes()

    def episode(self, episode_id: str) -> Episode | None:
        self._check_revision()
        with self._lock:
            if episode_id in self._episodes:
                self._episodes.move_to_end(episode_id)
                return self._episodes[episode_id]
        episode = self.index.episode(episode_id)
        with self._lock:
            self._episodes[episode_id] = episode
            while len(self._episodes) > EPISODES_KEPT:
                self._episodes.popitem(last=False)
        return episode

    def casts(self) -> list[Cast]:
        """Who each episode is about, and its title, by title: reloaded when any writer (another process too) has
        changed the index."""
        self._check_revision()
        with self._lock:
            if self._casts is None:
                self._casts = self.index.casts()
            return self._casts

    @property
    def people(self) -> PeopleIndex:
        casts = self.casts()
        with self._lock:
            if self._people is None:
                self._people = self._people_of(casts)
            return self._people

    def _check_revision(self) -> None:
        revision = self.index.revision()
        with self._lock:
            if revision != self._revision:
                self._revision, self._casts, self._people = revision, None, None
                self._episodes.clear()

    def _people_of(self, casts: list[Cast]) -> PeopleIndex:
        people = PeopleIndex.build(casts, self.alias_files)
        # jieba must know every name before chunks are tokenized (at ingest) or questions are.
        add_words([alias for person in people.people for alias in person.aliases])
        return people

    def is_empty(self) -> bool:
        return not self.index.has_episodes()

    # -- writing -----------------------------------------------------------------------

    def parse(self, paths: list[Path], episode_id: str | None = None,
              media: dict[str, AudioFile] | None = None) -> list[tuple[Episode, str]]:
        """Each episode the files define, with the file name it came from; raises ParseError on the first bad file.

        Audio files are all probed before the first is transcribed; `media` collects, by media URL, the
        audio files whose copies the episodes will need."""
        known = {e.id: e for e in self.episodes()}
        for path in paths:
            if not Path(path).is_file():
                raise ParseError(str(path), "no such file")
        probed = {path: probe_audio(Path(path)) for path in paths if is_audio(Path(path))}
        parsed: list[tuple[Episode, str]] = []
        for path in paths:
            if path in probed:
                audio = probed[path]
                transcript = self._transcribed(audio)
                url = media_path(self.media_dir, audio).as_uri()
                parsed.append((audio_episode(audio, transcript.language, transcript.duration, transcript.segments,
                                             url), audio.path.name))
                if media is not None:
                    media[url] = audio
                continue
            earlier = known | {e.id: e for e, _ in parsed}
            parsed += [(e, Path(path).name) for e in load_file(Path(path), episode_id=episode_id, existing=earlier)]
        return parsed

    def ingest(self, paths: list[Path], episode_id: str | None = None, replace: bool = False,
               progress=None) -> list[IngestResult]:
        media: dict[str, AudioFile] = {}
        planned = self._claim_ids(self.parse(paths, episode_id, media), replace)
        return self._write(planned, progress, media=media)

    def ingest_feeds(self, locations: list[str], fetcher: Fetcher, replace: bool = False,
                     progress=None) -> FeedIngest:
        """Read every feed (and what its items link to) before writing anything, then write each item as an
        episode and follow the feeds. An item's source names its feed and guid, so reading a feed again
        updates the episodes it made, whatever ids they were given, and never duplicates one."""
        reads = [read_feed(_followable(location), fetcher) for location in locations]
        stored, sources = {e.id: e for e in self.episodes()}, self.index.sources()
        parsed, warnings = [], {}
        for read in reads:
            for item in read.items:
                source = f"{read.feed.url} item {item.guid}"
                parsed.append((_keep_attached_transcript(item.episode, stored, sources, source), source))
                warnings[source] = item.warnings
        results = self._write(self._claim_ids(parsed, replace), progress, warnings)
        for read in reads:
            self.index.set_feed(read.feed.url, read.feed.title, read.feed.items, read.feed.refreshed)
        return FeedIngest(results, [r.feed for r in reads], [f"{r.feed.title}: {w}" for r in reads for w in r.warnings])

    def update_feeds(self, fetcher: Fetcher, replace: bool = False, progress=None) -> FeedIngest:
        """Read every followed feed again; a feed that fails is reported and leaves its episodes as they were."""
        followed = self.feeds()
        if not followed:
            raise UserError("no feeds followed yet; add one with `laidub ingest FEED_URL`")
        total = FeedIngest([], [], [])
        for feed in followed:
            try:
                done = self.ingest_feeds([feed.url], fetcher, replace, progress)
            except UserError as err:
                total.errors.append(str(err))
                continue
            total.results += done.results
            total.feeds += done.feeds
            total.warnings += done.warnings
        return total

    def feeds(self) -> list[Feed]:
        return [Feed(m["url"], m["title"], m["items"], m["refreshed"]) for m in self.index.feeds()]

    def _write(self, planned: list[tuple[Episode, str, str]], progress=None,
               warnings: dict[str, list[str]] | None = None,
               media: dict[str, AudioFile] | None = None) -> list[IngestResult]:
        media = media or {}
        self._people_of(self.casts() + [Cast.of(e) for e, _, _ in planned])
        results = []
        for n, (episode, source, note) in enumerate(planned):
            if progress:
                progress(n, len(planned), episode.title)
            if episode.media_url in media:  # the copy first: a written episode's audio always plays
                copy_to_media(media[episode.media_url], self.media_dir)
            result = self.index.upsert_episode(episode, source)
            result.note = note
            result.warnings = (warnings or {}).get(source, [])
            results.append(result)
        if progress:
            progress(len(planned), len(planned), "done")
        return results

    def _claim_ids(self, parsed: list[tuple[Episode, str]], replace: bool) -> list[tuple[Episode, str, str]]:
        """Settle id collisions before anything is written: (episode, source, note) per episode to write."""
        stored = {e.id: e for e in self.episodes()}
        sources = self.index.sources()
        planned: dict[str, tuple[Episode, str, str]] = {}
        for episode, source in parsed:
            earlier = episode.id in planned
            taken, taken_from, note = planned[episode.id] if earlier else (
                stored.get(episode.id), sources.get(episode.id, ""), "")
            if taken is None:
                note = ""
            elif _extends(episode, taken):
                source = taken_from or source  # a transcript belongs to the page it extends
            elif not earlier and _same_file(source, episode, taken_from, taken):
                note = ""
            elif replace:
                note = f"replaced {taken.title!r} (from {taken_from or 'an earlier ingest'})"
            else:
                new_id = _own_or_free_id(episode.id, source, sources, set(stored) | set(planned))
                note = (f"stored as {new_id}: {episode.id!r} is already {taken.title!r} "
                        f"(from {taken_from or 'an earlier ingest'}); pass --replace to update that one instead")
                episode = dataclasses.replace(episode, id=new_id)
            planned[episode.id] = (episode, source, note)
        return list(planned.values())

    def transcribe_into(self, episode_id: str, path: Path) -> IngestResult:
        """Transcribe an audio file for an episode already indexed (a feed item's downloaded enclosure) and
        store the transcript with it; the episode keeps its media URL. Nothing changes if this fails."""
        episode = self.episode(episode_id)
        if episode is None:
            raise _unknown_episode(episode_id, self.casts())
        if not Path(path).is_file():
            raise ParseError(str(path), "no such file")
        transcript = self._transcribed(probe_audio(Path(path)))
        updated = checked_episode(dataclasses.replace(
            episode, transcript=transcript.segments, duration=episode.duration or round(transcript.duration),
            languages=episode.languages or [transcript.language]), str(path))
        self._people_of(self.casts())
        return self.index.upsert_episode(updated, self.index.sources().get(episode_id) or Path(path).name)

    def _transcribed(self, audio: AudioFile) -> Transcript:
        if self.transcriber is None:
            raise UserError(f"{audio.path}: this library was opened without a transcriber, so it cannot read audio")
        transcript = self.transcriber.transcribe(audio)
        if not transcript.segments:
            raise ParseError(str(audio.path), f"no speech found in its {format_timestamp(transcript.duration)} of "
                                              "audio (silence or music only): an empty transcript, nothing indexed")
        return transcript

    def remove(self, episode_id: str) -> int:
        """Delete an episode and its chunks; returns how many chunks were removed."""
        if self.episode(episode_id) is None:
            raise _unknown_episode(episode_id, self.casts())
        return self.index.remove_episode(episode_id)

    def seed(self, seeds_dir: Path, progress=None) -> list[IngestResult]:
        """Index the demo episodes once. Idempotent, so a first run that was interrupted finishes next time;
        once complete it never runs again, so an episode the user removed stays removed."""
        if self.index.is_seeded():
            return []
        seeds = sorted(p for p in Path(seeds_dir).iterdir() if p.suffix in SUFFIXES)
        results = self.ingest(seeds, progress=progress)
        self.index.mark_seeded()
        return results

    # -- searching ---------------------------------------------------------------------

    def filters(self, episodes=(), people=(), kinds=(), languages=()) -> Filters:
        """Resolve user-facing filter values, rejecting unknown ones with the valid choices."""
        known = {c.episode_id: c for c in self.casts()} if episodes else {}
        by_title = {c.title.lower(): c.episode_id for c in known.values()}
        episode_ids = []
        for value in episodes:
            episode_id = value if value in known else by_title.get(value.lower())
            if not episode_id:
                raise _unknown_episode(value, list(known.values()))
            episode_ids.append(episode_id)
        names = []
        for value in people:
            person = self.people.resolve(value)
            if not person:
                choices = ", ".join(p.name for p in self.people.people)
                raise UnknownFilter(f"unknown person {value!r}; known people: {choices or '(none)'}")
            names.append(person.name)
        for value in kinds:
            if value not in ALL_KINDS:
                raise UnknownFilter(f"unknown kind {value!r}; kinds: {', '.join(ALL_KINDS)}")
        for value in languages:
            if value not in LANGUAGES:
                raise UnknownFilter(f"unknown language {value!r}; languages: {', '.join(LANGUAGES)}")
        return Filters(episode_ids, names, list(kinds), list(languages))

    def search(self, query: str, k: int = 8, filters: Filters | None = None) -> list[Hit]:
        return self.retriever.search(query, k, filters)


@dataclass
class FeedIngest:
    results: list[IngestResult]
    feeds: list[Feed]  # as just read
    warnings: list[str]  # about feeds as a whole: skipped items, unreadable tags
    errors: list[str] = field(default_factory=list)  # feeds `update_feeds` could not read


def _followable(location: str) -> str:
    """A feed file by its absolute path, so `ingest --update` finds it from any directory."""
    return location if "://" in location else str(Path(location).resolve())


def _keep_attached_transcript(episode: Episode, stored: dict[str, Episode], sources: dict[str, str],
                              source: str) -> Episode:
    """A transcript attached by hand (`ingest FILE --episode ID`) survives a refresh of a feed item without one."""
    earlier = stored.get(episode.id)
    if episode.transcript or not earlier or not earlier.transcript or sources.get(episode.id) != source:
        return episode
    try:
        return checked_episode(dataclasses.replace(episode, transcript=earlier.transcript), source)
    except ParseError:
        return episode


def _unknown_episode(value: str, known: list[Cast]) -> UnknownFilter:
    ids = ", ".join(sorted(c.episode_id for c in known)) or "(none indexed)"
    return UnknownFilter(f"unknown episode {value!r}; known episode ids: {ids}")


def _extends(episode: Episode, taken: Episode) -> bool:
    """A transcript attached to an episode is that episode with segments added."""
    return dataclasses.replace(episode, transcript=[]) == dataclasses.replace(taken, transcript=[])


def _same_file(source: str, episode: Episode, taken_from: str, taken: Episode) -> bool:
    """Re-ingesting the file an episode came from updates it; for episodes indexed before sources
    were kept, the title is all we know."""
    return source == taken_from if taken_from else episode.title == taken.title


def _own_or_free_id(episode_id: str, source: str, sources: dict[str, str], taken: set[str]) -> str:
    """The `-n` id this file got when it first collided (so re-ingesting it updates that one), else a free one."""
    n = 2
    while f"{episode_id}-{n}" in taken and sources.get(f"{episode_id}-{n}") != source:
        n += 1
    return f"{episode_id}-{n}"
