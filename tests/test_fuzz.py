"""The fuzz suite of issue #14: 1,200 generated files across every format, from a fixed seed.

Files are mutations of valid ones (the seed page, and the fixtures of test_formats and test_formats_wild) and
the output of hostile generators: huge repeats of the tokens that made patterns quadratic, deep nesting, binary,
other encodings, absurd numbers. Every file must parse into valid episodes or fail as a ParseError
(any other exception is a traceback a user would see), within the parse budget; a sample of the
rejected files is then ingested into a real store, which must be left as it was.

Run with -s to see the numbers (files, tracebacks, worst parse); they are also written to
fuzz-summary.json in the test's temporary directory.
"""

from __future__ import annotations

import json
import random
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_formats import CHAPTERS_JSON, EPISODE_JSON, SEED, SRT, VTT, page
from test_formats_wild import (CHAPTERS_VTT, HTML_TRANSCRIPT, PODCASTING_TRANSCRIPT, PODLOVE_CHAPTERS, PODLOVE_FLAT,
                               PODLOVE_GROUPED, PSC, SPEAKER_SRT)

from store.chunks import chunk_episode
from store.episode import Chapter, Episode
from store.errors import ParseError
from store.formats import MAX_FILE_BYTES, load_file
from store.formats.checks import checked_episode
from store.formats.episode_json import dump_episode_json

RANDOM_SEED = 1234
FILES = 1_200
PARSE_BUDGET_SECONDS = 2
STORE_SAMPLE = 120  # rejected files ingested into a real store

# The indexed episode transcripts attach to (files are named after it): short, so the store embeds it in a second.
TARGET = Episode(
    id="fuzz-target", title="Fuzz Target", duration=4916,
    chapters=[Chapter(0, 2400, "Opening", body="Two hosts talk about world models."),
              Chapter(2400, 4916, "Closing", body="They say goodbye.")],
)  # fmt: skip

# Tokens that broke a pattern, a limit or a number before, and the characters files should not hold.
HOSTILE = [
    "<v ", "<", "{\\", '> *"', "- **a** (", "- **", "## [", "## [05:60] ", "## [-5:00] ", "## [99:59:59] ",
    "1" * 40, " 3 days ago", "56:10", "\u202e", "\u2066", "\x00", "\x1b[2J", "\ufeff", "\r", "\n", "\n\n",
    "\u2028", "-->", "00:00:01,000 --> 00:00:00,500", "99:00:00.000 --> 99:00:01.000", "WEBVTT", "NOTE",
    "2e30", "1e400", "-5", "NaN", "Infinity", "9" * 30, "[", "{", "]", "}", '"', ",", ":", "&#x202e;", "&amp;",
    "**", "## Entities ", "#tag", "汉字", "😀", " ", "\t", "../", "/",
    "<time>", "</time>", "<p>", "<cite>", "<!--", "-->", "<psc:chapter start=\"", "Ada: ", "杨立昆：", "&#",
]  # fmt: skip
TRANSCRIPTS = {"srt", "vtt", "json transcript", "html"}  # the families named after TARGET, to attach to it
ABSURD_JSON = [2e30, -5, -0.5, 1e308, 10**19, 0, 1.5, "", "x" * 30_000, None, True, [], {}, "\u202e\x07",
               "../etc/passwd", "a\nb", "15:51", [[[[[]]]]], {"startTime": 1}]  # fmt: skip
TIMED_CHAPTERS = [  # the chapters file of test_formats that has end times
    {"startTime": 0, "endTime": 90.2, "title": "A"}, {"startTime": 96, "endTime": 3581, "title": "B"},
]
ENCODINGS = ["utf-16-le", "utf-16-be", "utf-16", "utf-32", "latin-1", "gbk", "utf-8-sig", "cp1252"]
REPEATS = [10, 100, 1_000, 10_000, 100_000]  # how often a hostile token is repeated; rarely the largest


@dataclass
class Outcome:
    path: Path
    family: str
    seconds: float
    episodes: list[Episode] | None = None  # None: rejected
    error: str = ""  # the ParseError's message, or a traceback


def seeds() -> dict[str, list[tuple[str, str]]]:
    """Valid files of each family, as (suffix, text)."""
    page_text = SEED.read_text(encoding="utf-8")
    seed_episodes = load_file(SEED)
    return {
        "page": [(".txt", page_text), (".md", page()), (".txt", page_text.split("\nGemini Co-Lead")[0])],
        "episode": [(".json", EPISODE_JSON), (".json", dump_episode_json(seed_episodes[2])),
                    (".json", "[" + ",".join(dump_episode_json(e) for e in seed_episodes[:2]) + "]")],
        "chapters": [(".json", json.dumps(CHAPTERS_JSON, ensure_ascii=False)),
                     (".json", json.dumps({"version": "1.2.0", "chapters": TIMED_CHAPTERS}))],
        "srt": [(".srt", SRT), (".srt", SPEAKER_SRT)],
        "vtt": [(".vtt", VTT)],
        "json transcript": [(".json", json.dumps(PODCASTING_TRANSCRIPT)), (".json", json.dumps(PODLOVE_FLAT)),
                            (".json", json.dumps(PODLOVE_GROUPED))],
        "html": [(".html", HTML_TRANSCRIPT)],
        "podlove chapters": [(".json", json.dumps(PODLOVE_CHAPTERS, ensure_ascii=False)), (".psc", PSC)],
        "vtt chapters": [(".vtt", CHAPTERS_VTT)],
    }  # fmt: skip


def mutate_text(rng: random.Random, text: str) -> str:
    """One random edit of the text: hostile tokens, a huge repeat, a cut, a copied or moved span."""
    at = rng.randrange(len(text) + 1)
    op = rng.randrange(7)
    if op == 0:
        return text[:at] + rng.choice(HOSTILE) + text[at:]
    if op == 1:
        repeat = rng.choices(REPEATS, weights=[25, 25, 20, 15, 8])[0]
        return text[:at] + rng.choice(HOSTILE) * repeat + text[at:]
    if op == 2:
        return text[:at] + text[at + rng.randrange(1, 200) :]
    if op == 3:
        span = text[at : at + rng.randrange(1, 400)]
        return text[:at] + span * rng.choice([2, 10, 100]) + text[at:]
    if op == 4:
        return text[:at]
    if op == 5:
        lines = text.split("\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return text
    i = rng.choice(digits)
    number = rng.choice(["9" * rng.randrange(2, 30), "-1", "60", "99", "0", "1e400", "2e30", "0.5"])
    return text[:i] + number + text[i + 1 :]


def mutate_json(rng: random.Random, text: str) -> str:
    """Put an absurd value at a random place of the JSON, or a deep nest."""
    data = json.loads(text)
    nodes = []  # (container, key)

    def walk(value):
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in items:
            nodes.append((value, key))
            walk(child)

    walk(data)
    if not nodes:  # a bare number or string by now
        return mutate_text(rng, text)
    container, key = rng.choice(nodes)
    if rng.random() < 0.1:
        depth = rng.choice([50, 500, 5_000])
        container[key] = "NEST"
        return json.dumps(data, ensure_ascii=False).replace('"NEST"', "[" * depth + "]" * depth, 1)
    container[key] = rng.choice(ABSURD_JSON)
    return json.dumps(data, ensure_ascii=False)


def encode(rng: random.Random, text: str) -> bytes:
    """Mostly UTF-8; sometimes another encoding, or flipped bytes."""
    roll = rng.random()
    if roll < 0.08:
        return text.encode(rng.choice(ENCODINGS), errors="replace")
    data = text.encode("utf-8", errors="surrogatepass")
    if roll < 0.16:
        flipped = bytearray(data)
        for _ in range(rng.randrange(1, 10)):
            if flipped:
                flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        return bytes(flipped)
    return data


def hostile(rng: random.Random) -> bytes:
    """A file made from nothing valid: binary, a deep nest, a token repeated up to the size limit, or noise."""
    roll = rng.randrange(4)
    if roll == 0:
        return rng.randbytes(rng.choice([1, 100, 100_000]))
    if roll == 1:
        depth = rng.choice([1_000, 100_000, 1_000_000])
        return (rng.choice("[{") * depth).encode()
    if roll == 2:
        token = rng.choice(HOSTILE)
        return (token * (rng.choice([MAX_FILE_BYTES // 8, MAX_FILE_BYTES]) // max(1, len(token.encode())))).encode()
    return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 5_000))).encode("utf-8", "replace")


def generate(rng: random.Random, folder: Path) -> list[tuple[Path, str]]:
    """FILES files in folder, the families in turn; a transcript is named after TARGET, so it has one to attach to."""
    families = seeds()
    files = []
    for n in range(FILES):
        family = list(families)[n % len(families)]
        suffix, text = rng.choice(families[family])
        if rng.random() < 0.1:
            data = hostile(rng)
        else:
            for _ in range(rng.choice([1, 1, 2, 3])):
                json_ok = suffix == ".json" and rng.random() < 0.5
                try:
                    text = mutate_json(rng, text) if json_ok else mutate_text(rng, text)
                except (ValueError, RecursionError):  # the text is no longer JSON: edit it as text
                    text = mutate_text(rng, text)
            data = encode(rng, text)
        stem = TARGET.id if family in TRANSCRIPTS else f"file-{n:04d}"
        path = folder / f"{n:04d}" / f"{stem}{suffix}"
        path.parent.mkdir()
        path.write_bytes(data)
        files.append((path, family))
    return files


def parse(path: Path, family: str) -> Outcome:
    started = time.perf_counter()
    try:
        episodes = load_file(path, existing={TARGET.id: TARGET})
    except ParseError as err:
        return Outcome(path, family, time.perf_counter() - started, error=str(err))
    except Exception:
        return Outcome(path, family, time.perf_counter() - started, error=traceback.format_exc())
    return Outcome(path, family, time.perf_counter() - started, episodes)


def problems_of(episodes: list[Episode], path: Path) -> list[str]:
    """What is wrong with episodes a parse returned: each must pass the checks again, and chunk."""
    found = []
    for episode in episodes:
        try:
            if checked_episode(episode, str(path)) != episode:
                found.append(f"{episode.id}: not as checked_episode leaves it")
        except ParseError as err:
            found.append(str(err))
        ids = [c.id for c in chunk_episode(episode)]
        if len(ids) != len(set(ids)):
            found.append(f"{episode.id}: duplicate chunk ids")
    return found


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    folder = tmp_path_factory.mktemp("fuzz")
    outcomes = [parse(path, family) for path, family in generate(random.Random(RANDOM_SEED), folder)]
    worst = max(outcomes, key=lambda o: o.seconds)
    summary = {
        "files": len(outcomes),
        "by_family": dict(Counter(o.family for o in outcomes)),
        "parsed": sum(o.episodes is not None for o in outcomes),
        "rejected": sum(o.episodes is None for o in outcomes),
        "tracebacks": sum(o.error.startswith("Traceback") for o in outcomes),
        "worst_parse_seconds": round(worst.seconds, 3),
        "worst_parse_file": worst.path.name,
        "worst_parse_bytes": worst.path.stat().st_size,
    }
    (folder / "fuzz-summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nfuzz summary ({folder / 'fuzz-summary.json'}): {json.dumps(summary)}")
    return outcomes


def test_every_fuzzed_file_parses_or_is_a_parse_error_in_time(fuzzed):
    assert len(fuzzed) >= 1_000
    assert {o.path.suffix for o in fuzzed} == {".txt", ".md", ".json", ".srt", ".vtt", ".html", ".psc"}
    tracebacks = [f"{o.path}:\n{o.error}" for o in fuzzed if o.error.startswith("Traceback")]
    assert not tracebacks, f"{len(tracebacks)} tracebacks, the first:\n{tracebacks[0]}"
    slow = [(round(o.seconds, 2), str(o.path)) for o in fuzzed if o.seconds > PARSE_BUDGET_SECONDS]
    assert not slow, slow
    invalid = [(str(o.path), problems) for o in fuzzed if o.episodes and (problems := problems_of(o.episodes, o.path))]
    assert not invalid, invalid[:3]
    # Enough of each kind of outcome, and of size, that the run means something.
    assert sum(o.episodes is not None for o in fuzzed) >= 100
    assert max(o.path.stat().st_size for o in fuzzed) > MAX_FILE_BYTES // 2
    assert all(o.error.startswith(f"{o.path}: ") and "\n" not in o.error for o in fuzzed if o.episodes is None)


def test_rejected_files_leave_the_store_unchanged(fuzzed, library, tmp_path):
    rejected = [o for o in fuzzed if o.episodes is None]
    sample = rejected[:: max(1, len(rejected) // STORE_SAMPLE)][:STORE_SAMPLE]
    assert len(sample) >= 100
    store = library()
    target = tmp_path / "fuzz-target.json"
    target.write_text(dump_episode_json(TARGET), encoding="utf-8")
    store.ingest([target])

    def state():
        return store.index.revision(), store.index.count(), [e.to_json() for e in store.episodes()]

    before = state()
    for outcome in sample:
        with pytest.raises(ParseError):
            store.ingest([outcome.path])
    assert state() == before
    assert store.episodes() == [TARGET]
