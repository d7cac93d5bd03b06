"""Podcast feeds: every quirk of the fixture feeds below, served from a loopback HTTP server, through the real
fetcher, feedparser, store.formats and an embedded Chroma. Nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from assistant.measure.bench_feed import Loopback, Route, synthetic_feed
from store.errors import UserError
from store.feeds import item_id, parse_duration, plain_text, read_feed
from store.fetch import MAX_LINKED_BYTES, FetchError, Fetcher

GIB2 = str(2 * 2**30)
BUFFERED = 16 * 2**20

QUIRKS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
  <title><![CDATA[Quirks & Co]]></title>
  <language>en-us</language>
  <podcast:person role="host" href="https://example.org/hannah">Hannah Host</podcast:person>
  <item>
    <title>Bees, with Gita</title>
    <guid isPermaLink="false">lsg-001</guid>
    <link>https://quirks.example/1</link>
    <pubDate>Tue, 02 Dec 2025 10:00:00 GMT</pubDate>
    <itunes:duration>2700</itunes:duration>
    <description><![CDATA[<p>Gita &amp; Hannah talk <b>bees</b> &lt;3 &#8220;quoted&#8221;</p><script>alert(1)</script><p>Second paragraph</p>]]></description>
    <enclosure url="BASE/audio/huge.mp3" type="audio/mpeg" length="GIB2"/>
    <podcast:chapters url="BASE/ch/1.json" type="application/json+chapters"/>
    <podcast:transcript url="BASE/t/1-es.vtt" type="text/vtt" language="es"/>
    <podcast:transcript url="BASE/t/1-en.srt" type="application/x-subrip" language="en"/>
    <podcast:transcript url="BASE/t/1-en.vtt" type="text/vtt" language="en"/>
    <podcast:person role="host" href="https://example.org/hannah">Hannah Host</podcast:person>
    <podcast:person role="guest" img="https://example.org/gita.jpg">Gita Guest</podcast:person>
    <podcast:person role="producer">Pat Producer</podcast:person>
  </item>
  <item>
    <title>Language beats type</title>
    <guid>https://quirks.example/episodes/42-the-future.html?utm=feed</guid>
    <itunes:duration>62:03</itunes:duration>
    <description>&lt;p&gt;Escaped &amp;amp; html&lt;/p&gt;</description>
    <podcast:transcript url="BASE/t/2-es.vtt" type="text/vtt" language="es"/>
    <podcast:transcript url="BASE/t/2-en.srt" type="application/srt" language="en"/>
  </item>
  <item>
    <title>JSON or SRT, the same words</title>
    <guid>lsg-003</guid>
    <itunes:duration>1:02:03.5</itunes:duration>
    <podcast:transcript url="BASE/t/3.json" type="application/json"/>
    <podcast:transcript url="BASE/t/3.html" type="text/html"/>
    <podcast:transcript url="BASE/t/3.srt" type="application/x-subrip"/>
  </item>
  <item><title>No duration</title><guid>lsg-004</guid><itunes:duration></itunes:duration></item>
  <item><title>Garbage duration</title><guid>lsg-005</guid><itunes:duration>about an hour</itunes:duration></item>
  <item>
    <title>Broken links</title><guid>lsg-006</guid><itunes:duration>1:02:03</itunes:duration>
    <podcast:chapters url="BASE/ch/missing.json" type="application/json+chapters"/>
    <podcast:transcript url="BASE/t/huge.vtt" type="text/vtt"/>
  </item>
  <item>
    <title>Endless transcript</title><guid>lsg-007</guid>
    <podcast:transcript url="BASE/t/endless.vtt" type="text/vtt"/>
  </item>
  <item>
    <title>No guid, an enclosure</title>
    <enclosure url="BASE/audio/8.mp3" type="audio/mpeg" length="100"/>
  </item>
  <item><title>Nothing to know it by</title></item>
  <item>
    <title>Local file link</title><guid>lsg-010</guid>
    <podcast:transcript url="file:///etc/passwd" type="application/x-subrip"/>
  </item>
</channel>
</rss>
"""

CHAPTERS = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Hello bees"},
                                             {"startTime": 600.5, "title": "The waggle dance"}]}
SRT_3 = "1\n00:00:01,000 --> 00:00:04,000\nThe same words either way.\n"
JSON_3 = {"version": "1.0.0", "segments": [{"speaker": "Gita", "startTime": 1.0, "endTime": 4.0,
                                            "body": "The same words either way."}]}


def vtt(text: str) -> bytes:
    return f"WEBVTT\n\n00:00:05.000 --> 00:00:09.000\n{text}\n".encode()


def endless() -> Iterator[bytes]:
    yield b"WEBVTT\n\n"
    block = b"00:00:01.000 --> 00:00:02.000\nand on and on\n\n" * 1000
    while True:
        yield block


def quirk_routes(base: str) -> dict[str, Route]:
    feed = QUIRKS.replace("BASE", base).replace("GIB2", GIB2).encode()
    return {
        "/feed.xml": Route(body=feed, headers={"Content-Type": "application/rss+xml; charset=utf-8"}),
        "/ch/1.json": Route(body=json.dumps(CHAPTERS).encode(), headers={"Content-Type": "application/json"}),
        "/t/1-es.vtt": Route(body=vtt("Hola abejas")), "/t/1-en.vtt": Route(body=vtt("English VTT about bees")),
        "/t/1-en.srt": Route(body=b"1\n00:00:05,000 --> 00:00:09,000\nEnglish SRT about bees\n"),
        "/t/2-es.vtt": Route(body=vtt("Hola futuro")),
        "/t/2-en.srt": Route(body=b"1\n00:00:05,000 --> 00:00:09,000\nThe English future\n"),
        "/t/3.json": Route(body=json.dumps(JSON_3).encode()), "/t/3.srt": Route(body=SRT_3.encode()),
        "/t/3.html": Route(body=b"<p>The same words either way.</p>"),
        "/t/huge.vtt": Route(body=lambda: iter(lambda: b"\0" * 65536, None), headers={"Content-Length": GIB2}),
        "/t/endless.vtt": Route(body=endless),
        "/audio/huge.mp3": Route(body=lambda: iter(lambda: b"\0" * 65536, None), headers={"Content-Length": GIB2}),
        "/page.html": Route(body=b'<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml" '
                                 b'href="/feed.xml"></head><body>Our podcast</body></html>',
                            headers={"Content-Type": "text/html"}),
        "/loop": Route(302, headers={"Location": "/loop2"}), "/loop2": Route(302, headers={"Location": "/loop"}),
        "/notxml": Route(body=b"{\"this\": \"is json, not a feed\"}", headers={"Content-Type": "application/json"}),
    }


@pytest.fixture
def server() -> Iterator[Loopback]:
    with Loopback({}) as loopback:
        loopback.routes.update(quirk_routes(loopback.url))
        yield loopback


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    lines: list[str] = []
    with Fetcher(timeout=5, progress=lines.append) as f:
        f.lines = lines
        yield f


@pytest.mark.parametrize("text, seconds", [
    ("2700", 2700), ("45", 45), ("62:03", 3723), ("1:02:03", 3723), ("01:02:03", 3723), ("1:02:03.5", 3723),
    ("3723.9", 3723), ("1:02:03,5", 3723), (" 5:00 ", 300), ("", 0), ("about an hour", 0), ("1:xx", 0),
    (":30", 0), ("1:2:3:4", 0), ("-5", 0), ("99999999", 0), ("1e5", 0),
])  # fmt: skip
def test_every_itunes_duration_form(text, seconds):
    assert parse_duration(text) == seconds


def test_ids_from_guids_are_readable_stable_and_distinct():
    assert item_id("lsg-001") == "lsg-001"
    url_id = item_id("https://quirks.example/episodes/42-the-future.html?utm=feed")
    assert url_id.startswith("42-the-future-") and url_id == item_id("https://quirks.example/episodes/42-the-future.html?utm=feed")
    assert item_id("https://a.example/ep/1") != item_id("https://b.example/ep/1")  # same readable part, other guid
    assert item_id("Ep 1") != item_id("ep-1")  # a guid that is not an id keeps a hash
    assert item_id("550e8400-e29b-41d4-a716-446655440000") == "550e8400-e29b-41d4-a716-446655440000"


def test_show_notes_become_plain_text():
    assert plain_text("<p>A &amp; B</p><script>x()</script><ul><li>one</li><li>two</li></ul>") == "A & B\none\ntwo"


def test_every_quirk_of_a_feed(server, fetcher):
    read = read_feed(f"{server.url}/feed.xml", fetcher)
    items = {item.episode.id: item for item in read.items}
    bees = items["lsg-001"].episode
    assert (bees.title, bees.show, bees.published, bees.duration) == ("Bees, with Gita", "Quirks & Co", "2025-12-02", 2700)
    assert bees.summary == "Gita & Hannah talk bees <3 “quoted”\nSecond paragraph"
    assert (bees.media_url, bees.media_type) == (f"{server.url}/audio/huge.mp3", "audio/mpeg")
    assert (bees.url, bees.summary_language, bees.languages) == ("https://quirks.example/1", "en", ["en"])
    assert [(c.start, c.end, c.title) for c in bees.chapters] == [(0, 600, "Hello bees"), (600, 2700, "The waggle dance")]
    assert [s.text for s in bees.transcript] == ["English VTT about bees"]  # language first, then VTT over SRT
    assert (bees.host, bees.guests) == ("Hannah Host", ["Gita Guest"])
    assert [(e.name, e.type, e.description) for e in bees.entities] == [("Pat Producer", "person", "producer")]

    future = next(i.episode for i in read.items if i.guid.startswith("https://quirks.example/episodes/"))
    assert future.id.startswith("42-the-future-") and future.duration == 3723
    assert future.summary == "Escaped & html" and future.host == "Hannah Host"  # the channel's people by default
    assert [s.text for s in future.transcript] == ["The English future"]  # the item's language beats the type

    assert [s.text for s in items["lsg-003"].episode.transcript] == ["The same words either way."]
    assert items["lsg-003"].episode.duration == 3723
    assert items["lsg-004"].episode.duration == 0 and items["lsg-005"].episode.duration == 0
    assert items["lsg-004"].episode.summary == "No duration"  # no show notes: the title, so it can be found

    broken = items["lsg-006"]
    assert broken.episode.chapters == [] and broken.episode.transcript == [] and broken.episode.duration == 3723
    assert any("not found (HTTP 404)" in w for w in broken.warnings)
    assert any("2.0 GiB, over the limit" in w and "not downloaded" in w for w in broken.warnings)
    assert any("larger than the limit" in w for w in items["lsg-007"].warnings)
    assert any("may only link to http(s)" in w for w in items["lsg-010"].warnings)

    enclosed = next(i for i in read.items if i.guid.endswith("/audio/8.mp3"))
    assert enclosed.episode.id.startswith("8-")
    assert any("Nothing to know it by" in w and "skipped" in w for w in read.warnings)
    assert len(read.items) == 9 and read.feed.items == 9 and read.feed.title == "Quirks & Co"

    assert not any(path.startswith("/audio/") for path in server.requests)  # enclosures are never downloaded
    # What the server got written: loopback socket buffers take a few MB (3.8 MB seen) the client never reads.
    assert server.sent.get("/t/huge.vtt", 0) < BUFFERED  # refused on its Content-Length, of 2 GB
    assert server.sent["/t/endless.vtt"] < MAX_LINKED_BYTES + BUFFERED  # stopped at the limit, not read to the end
    # One progress line per fetch, failed ones too (the file:// link never reached the server).
    assert len(fetcher.lines) == len(server.requests) + 1 and sum(line.startswith("failed ") for line in fetcher.lines) == 4


def test_a_chinese_channel_is_chinese(server, fetcher):
    feed = QUIRKS.replace("<language>en-us</language>", "<language>zh-CN</language>").replace("BASE", server.url)
    server.routes["/zh.xml"] = Route(body=feed.encode())
    bees = next(i.episode for i in read_feed(f"{server.url}/zh.xml", fetcher).items if i.episode.id == "lsg-001")
    assert (bees.summary_language, bees.languages) == ("zh", ["zh"])
    assert bees.transcript  # no zh transcript: one in another language is still better than none


@pytest.mark.parametrize("path, message", [
    ("/missing.xml", "not found (HTTP 404)"),
    ("/page.html", "an HTML page, not a podcast feed; the page names its feed: /feed.xml"),
    ("/loop", "redirect loop (/loop -> /loop2 -> /loop)"),
    ("/notxml", "not an RSS or Atom feed"),
])  # fmt: skip
def test_bad_feeds_are_one_clear_line(server, fetcher, path, message):
    with pytest.raises(UserError) as raised:
        read_feed(f"{server.url}{path}", fetcher)
    text = str(raised.value).replace(server.url, "")
    assert message in text and "\n" not in text and text.startswith(path)


def test_dns_failure_and_timeout(server, monkeypatch):
    def no_such_host(host, *args, **kwargs):  # the resolver, not our code: tests never ask a real DNS server
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with Fetcher(timeout=5) as fetcher, monkeypatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", no_such_host)
        with pytest.raises(FetchError, match="cannot find this host"):
            fetcher.fetch("http://podcast.invalid/feed.xml", 1000)

    def dribble() -> Iterator[bytes]:
        import time
        for _ in range(20):
            time.sleep(0.2)
            yield b" "

    server.routes["/slow.xml"] = Route(body=dribble)
    with Fetcher(timeout=1) as fetcher, pytest.raises(FetchError, match=r"within 1 s \(timed out\)"):
        fetcher.fetch(f"{server.url}/slow.xml", 1000)


# -- the library and the CLI ------------------------------------------------------------------


@pytest.fixture
def env(laidub_env, tmp_path):
    return laidub_env | {"LAIDUB_SEEDS_DIR": str(tmp_path / "no-seeds")}  # feeds only: nothing else to embed


def run_json(cli, env, *args, code=0) -> dict:
    result = cli(env, *args, "--json")
    assert result.returncode == code, result.stdout + result.stderr
    return json.loads(result.stdout)


def episode_ids(cli, env) -> list[str]:
    return sorted(e["id"] for e in run_json(cli, env, "episodes")["episodes"])


def test_follow_a_feed_add_an_item_update_and_nothing_doubles(server, cli, env):
    server.routes["/show.xml"] = synthetic_feed(3, server.url)["/feed.xml"]
    server.routes.update({k: v for k, v in synthetic_feed(4, server.url).items() if k != "/feed.xml"})
    first = run_json(cli, env, "ingest", f"{server.url}/show.xml")
    assert len(first["ingested"]) == 3 and all(r["added"] for r in first["ingested"])
    assert [(f["url"], f["items"]) for f in run_json(cli, env, "feeds")["feeds"]] == [(f"{server.url}/show.xml", 3)]

    server.routes["/show.xml"] = synthetic_feed(4, server.url)["/feed.xml"]  # the show publishes an episode
    update = run_json(cli, env, "ingest", "--update")
    changed = [r["episode_id"] for r in update["ingested"] if r["added"] or r["updated"] or r["removed"]]
    assert changed == ["loopback-science-0004"] and len(update["ingested"]) == 4
    assert episode_ids(cli, env) == [f"loopback-science-{n:04d}" for n in range(1, 5)]

    edited = synthetic_feed(4, server.url)["/feed.xml"].body.replace(b"Episode 2: ", b"Episode 2 (edited): ")
    server.routes["/show.xml"] = Route(body=edited)
    update = run_json(cli, env, "ingest", "--update")
    assert [r["episode_id"] for r in update["ingested"] if r["updated"]] == ["loopback-science-0002"]
    assert episode_ids(cli, env) == [f"loopback-science-{n:04d}" for n in range(1, 5)]
    followed = run_json(cli, env, "feeds")["feeds"]
    assert len(followed) == 1 and followed[0]["items"] == 4 and followed[0]["title"] == "Loopback Science Hour"


def test_update_reports_a_feed_that_went_away_and_keeps_its_episodes(server, cli, env):
    server.routes.update(synthetic_feed(1, server.url))
    run_json(cli, env, "ingest", f"{server.url}/feed.xml")
    before = (run_json(cli, env, "episodes"), run_json(cli, env, "feeds"))
    del server.routes["/feed.xml"]
    update = run_json(cli, env, "ingest", "--update", code=1)  # one JSON object; the exit code says a feed failed
    assert update["ingested"] == [] and len(update["errors"]) == 1 and "not found (HTTP 404)" in update["errors"][0]
    assert (run_json(cli, env, "episodes"), run_json(cli, env, "feeds")) == before


@pytest.mark.parametrize("args, message", [
    (("--update", "show.xml"), "give it no files or URLs"),
    (("show.xml", "notes.srt"), "separate commands"),
    ((), "or --update"),
])  # fmt: skip
def test_ingest_arguments_that_do_not_go_together(cli, env, args, message):
    failed = cli(env, "ingest", *args, "--json")
    assert failed.returncode == 2 and message in json.loads(failed.stdout)["error"]


def test_the_same_guid_in_two_feeds_gets_its_own_id_and_keeps_it(server, cli, env):
    server.routes.update(synthetic_feed(2, server.url))
    server.routes["/other.xml"] = synthetic_feed(2, server.url, title="Another Show")["/feed.xml"]
    run_json(cli, env, "ingest", f"{server.url}/feed.xml")
    for _ in range(2):  # the second time updates the -2 episodes, it does not make -3 ones
        other = run_json(cli, env, "ingest", f"{server.url}/other.xml")
        assert sorted(r["episode_id"] for r in other["ingested"]) == ["loopback-science-0001-2", "loopback-science-0002-2"]
    assert len(episode_ids(cli, env)) == 4


def test_warnings_in_json_a_bad_feed_changes_nothing_and_a_transcript_only_item_is_cited(server, cli, env):
    done = run_json(cli, env, "ingest", f"{server.url}/feed.xml")
    warned = {r["episode_id"]: r["warnings"] for r in done["ingested"] if r["warnings"]}
    assert set(warned) == {"lsg-006", "lsg-007", "lsg-010"} and any("Nothing to know it by" in w for w in done["warnings"])
    before = (run_json(cli, env, "episodes"), run_json(cli, env, "feeds"))
    for path in ("/notxml", "/page.html", "/loop", "/missing.xml"):
        failed = cli(env, "ingest", f"{server.url}{path}", "--json")
        assert failed.returncode == 2 and list(json.loads(failed.stdout)) == ["error"]
        assert failed.stderr.count("\n") >= 1 and "Traceback" not in failed.stderr
    assert (run_json(cli, env, "episodes"), run_json(cli, env, "feeds")) == before

    hits = run_json(cli, env, "search", "the English future", "--kind", "segment")["results"]
    assert hits[0]["episode_id"].startswith("42-the-future-") and hits[0]["start_seconds"] == 5


def test_a_local_feed_file_is_followed_by_its_path(server, cli, env, tmp_path):
    path = tmp_path / "show.rss"
    path.write_bytes(synthetic_feed(1, server.url)["/feed.xml"].body)
    server.routes.update(synthetic_feed(1, server.url))
    done = run_json(cli, env, "ingest", str(path))
    assert [r["episode_id"] for r in done["ingested"]] == ["loopback-science-0001"]
    assert run_json(cli, env, "feeds")["feeds"][0]["url"] == str(path)


@pytest.fixture(scope="module")
def big_feed(tmp_path_factory, make_env, cli):
    """A 55-item feed with chapters and transcripts, ingested from the loopback URL into embedded Chroma."""
    root = tmp_path_factory.mktemp("big-feed")
    env = make_env(root / "data", LAIDUB_SEEDS_DIR=str(root / "no-seeds"))
    with Loopback({}) as server:
        server.routes.update(synthetic_feed(55, server.url))
        done = run_json(cli, env, "ingest", f"{server.url}/feed.xml")
    assert len(done["ingested"]) == 55 and not any(r["warnings"] for r in done["ingested"])
    return env


def test_a_55_item_feed_is_searchable_at_a_transcript_moment(big_feed, cli):
    hits = run_json(cli, big_feed, "search", "What is the answer code for item 37?")["results"]
    # The code is spoken at 1:40: transcript windows of 15 s put the hit at that cue itself.
    assert (hits[0]["episode_id"], hits[0]["kind"], hits[0]["start_seconds"]) == ("loopback-science-0037", "segment", 100)
    assert "1259" in hits[0]["text"]
    episode = next(e for e in run_json(cli, big_feed, "episodes")["episodes"] if e["id"] == "loopback-science-0037")
    assert (episode["chapters"], episode["transcript_segments"], episode["guests"]) == (2, 12, ["Guest Number 37"])


@pytest.mark.e2e
def test_ask_cites_a_transcript_moment_of_the_feed(big_feed, cli):
    answer = run_json(cli, big_feed, "ask", "What is the answer code for item 37?")
    assert not answer["refused"] and "1259" in answer["answer"]
    assert ("loopback-science-0037", 60) in {(c["episode_id"], c["start_seconds"]) for c in answer["citations"]}


def test_bench_feed_reports_per_item_time_and_the_embedding_share():
    from assistant.config import Settings
    from assistant.measure.bench_feed import bench_feed

    report = bench_feed(Settings.from_env(), 3, lambda step: None)
    assert (report["items"], report["chunks"], report["fetches"], report["warnings"]) == (3, 27, 7, 0)  # 15 s transcript windows
    assert 0 < report["embedding_s"] < report["ingest_s"] and 0 < report["embedding_share"] < 1
    assert report["per_item_ms"] == pytest.approx(report["ingest_s"] * 1000 / 3, rel=0.01)


def test_a_transcript_attached_by_hand_survives_a_refresh(server, cli, env, tmp_path):
    run_json(cli, env, "ingest", f"{server.url}/feed.xml")
    notes = tmp_path / "notes.srt"
    notes.write_text("1\n00:00:02,000 --> 00:00:06,000\nHand-made notes about nothing\n", encoding="utf-8")
    run_json(cli, env, "ingest", str(notes), "--episode", "lsg-004", "--no-chapters")
    update = run_json(cli, env, "ingest", "--update")
    refreshed = next(r for r in update["ingested"] if r["episode_id"] == "lsg-004")
    assert (refreshed["added"], refreshed["updated"], refreshed["removed"], refreshed["unchanged"]) == (0, 0, 0, 2)
    episode = next(e for e in run_json(cli, env, "episodes")["episodes"] if e["id"] == "lsg-004")
    assert episode["transcript_segments"] == 1


# -- enclosures: `laidub transcribe ID` downloads a feed item's audio and transcribes it ---------------------

AUDIO_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Loopback Audio</title><language>en</language>
  <item><title>The lighthouse episode</title><guid>la-001</guid>
    <enclosure url="BASE/audio/talk.wav" type="audio/wav" length="0"/></item>
  <item><title>A huge enclosure</title><guid>la-002</guid>
    <enclosure url="BASE/audio/huge.mp3" type="audio/mpeg" length="GIB2"/></item>
</channel></rss>"""


def test_an_enclosure_over_the_limit_is_refused_unread_and_leaves_no_file(server, fetcher, tmp_path):
    with pytest.raises(FetchError, match="over the limit of 1.0 GiB; not downloaded"):
        fetcher.download(f"{server.url}/audio/huge.mp3", tmp_path / "huge.mp3")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.e2e
def test_a_feed_episode_is_transcribed_from_its_enclosure_and_searchable(cli, env, tmp_path):
    from assistant.measure.speech import ENGLISH, synthesize

    talk = tmp_path / "talk.wav"
    placed = synthesize(ENGLISH[1:3], "en", talk)  # two sentences, the second after 20 s of silence
    with Loopback({}) as loopback:
        feed = AUDIO_FEED.replace("BASE", loopback.url).replace("GIB2", GIB2).encode()
        loopback.routes.update({"/feed.xml": Route(body=feed), "/audio/talk.wav": Route(body=talk.read_bytes()),
                                **{k: v for k, v in quirk_routes(loopback.url).items() if k == "/audio/huge.mp3"}})
        run_json(cli, env, "ingest", f"{loopback.url}/feed.xml")
        done = run_json(cli, env, "transcribe", "la-001")
        refused = run_json(cli, env, "transcribe", "la-002", code=2)
    assert [r["episode_id"] for r in done["ingested"]] == ["la-001"]
    assert "over the limit" in refused["error"]
    # The transcript line itself (the generated chapter over the whole talk starts at 0:00).
    hits = run_json(cli, env, "search", "lighthouse keeper purple umbrellas", "--k", "1", "--kind", "segment")["results"]
    assert hits[0]["episode_id"] == "la-001" and abs(hits[0]["start_seconds"] - placed[1].start) <= 15
    episode = next(e for e in run_json(cli, env, "episodes")["episodes"] if e["id"] == "la-001")
    assert episode["media_url"] == f"{loopback.url}/audio/talk.wav"  # plays from the enclosure, not a copy
    assert episode["generated_chapters"] >= 1  # a transcribed episode without chapters gets generated ones
