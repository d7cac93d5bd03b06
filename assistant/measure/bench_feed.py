"""`laidub bench --feed N`: ingesting a podcast feed of N items, each with chapters and a transcript, end to end.

The feed and its files are generated (`synthetic_feed`) and served from a loopback HTTP server (`Loopback`,
also the tests' server), so the fetch path is the real one and nothing leaves the machine. The library is a
temporary one with a cold embedding cache: every vector is computed, as on a user's first ingest of a new
show. Reported: the whole ingest, per item, and the share spent embedding (the e5 passes that
`Index.upsert_episode` makes; read by wrapping the library's embedder, not estimated).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from assistant.config import Settings
from assistant.library import open_library
from store import embedder
from store.episode import format_timestamp
from store.fetch import Fetcher

TOPICS = ("sleep and memory", "ocean currents", "compilers", "bee colonies", "solar storms", "sourdough",
          "glaciers", "jazz harmony", "volcanoes", "chess openings")  # fmt: skip
CUES = 12  # per item: two minutes of captions, ten seconds each (two transcript windows)


@dataclass
class Route:
    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b""  # a callable streams (e.g. endlessly) until the client stops
    headers: dict[str, str] = field(default_factory=dict)


class Loopback:
    """An HTTP server on 127.0.0.1 in a thread, serving `routes` (path -> Route); records every path asked for."""

    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.requests: list[str] = []
        self.sent: dict[str, int] = {}  # body bytes written per path
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                route = server.routes.get(self.path, Route(404, b"not found"))
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if not callable(route.body):
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                for chunk in route.body() if callable(route.body) else [route.body]:
                    try:
                        self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client stopped reading: what a size limit does
                    server.sent[self.path] = server.sent.get(self.path, 0) + len(chunk)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Loopback:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def synthetic_feed(items: int, base: str, title: str = "Loopback Science Hour") -> dict[str, Route]:
    """Routes for a feed of `items` items at `base`/feed.xml, each linking chapters JSON and a WebVTT
    transcript; item n's transcript alone says "the answer code for item n is NNNN" at 1:40."""
    routes: dict[str, Route] = {}
    entries = []
    for n in range(1, items + 1):
        topic = TOPICS[n % len(TOPICS)]
        chapters = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": f"Why {topic} matter"},
                                                     {"startTime": 60, "title": f"Open questions about {topic}"}]}
        routes[f"/chapters/{n}.json"] = Route(body=json.dumps(chapters).encode(),
                                              headers={"Content-Type": "application/json+chapters"})
        routes[f"/transcripts/{n}.vtt"] = Route(body=transcript_vtt(n, topic).encode(),
                                                headers={"Content-Type": "text/vtt"})
        entries.append(f"""<item>
  <title>Episode {n}: {topic.title()}</title>
  <guid isPermaLink="false">loopback-science-{n:04d}</guid>
  <pubDate>Mon, {1 + n % 28:02d} Sep 2025 08:00:00 GMT</pubDate>
  <itunes:duration>{format_timestamp(CUES * 10 + 30)}</itunes:duration>
  <description><![CDATA[<p>We talk about <b>{topic}</b> with guest {n}.</p>]]></description>
  <enclosure url="{base}/audio/{n}.mp3" type="audio/mpeg" length="12345678"/>
  <podcast:chapters url="{base}/chapters/{n}.json" type="application/json+chapters"/>
  <podcast:transcript url="{base}/transcripts/{n}.vtt" type="text/vtt" language="en"/>
  <podcast:person role="guest">Guest Number {n}</podcast:person>
</item>""")
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>{title}</title><language>en-us</language><link>{base}/</link>
<podcast:person role="host">Hannah Host</podcast:person>
{chr(10).join(entries)}
</channel></rss>"""
    routes["/feed.xml"] = Route(body=feed.encode(), headers={"Content-Type": "application/rss+xml"})
    return routes


def transcript_vtt(n: int, topic: str) -> str:
    cues = ["WEBVTT", ""]
    for c in range(CUES):
        text = (f"Here is the detail: the answer code for item {n} is {1000 + n * 7}." if c == CUES - 2 else
                f"Line {c} of our talk on {topic}, where guest {n} adds one more thought.")
        timing = f"{format_timestamp(c * 10)}.000 --> {format_timestamp(c * 10 + 9)}.500"
        cues += [timing, f"<v Guest Number {n}>{text}", ""]
    return "\n".join(cues)


def bench_feed(settings: Settings, items: int, progress: Callable[[str], None]) -> dict:
    with tempfile.TemporaryDirectory(prefix="laidub-bench-feed-") as tmp:
        base = {}
        with Loopback({}) as server:
            server.routes.update(synthetic_feed(items, server.url))
            base["url"] = server.url
            local = dataclasses.replace(settings, data_dir=Path(tmp) / "data", cache_dir=Path(tmp) / "cache",
                                        seeds_dir=Path(tmp) / "no-seeds")
            library = open_library(local)
            embedder.engine()  # the model load is the bench's "model_load_s", not part of a feed's ingest
            embedding = _time_embedding(library.index.embedder)
            progress(f"feed: ingesting {items} items from {server.url}/feed.xml")
            start = time.perf_counter()
            with Fetcher(settings.fetch_timeout) as fetcher:
                done = library.ingest_feeds([f"{server.url}/feed.xml"], fetcher)
            total = time.perf_counter() - start
    chunks = sum(r.added for r in done.results)
    return {
        "items": len(done.results), "chunks": chunks, "fetches": len(server.requests), "ingest_s": round(total, 2),
        "per_item_ms": round(total * 1000 / max(len(done.results), 1), 1),
        "embedding_s": round(embedding[0], 2), "embedding_share": round(embedding[0] / total, 3),
        "warnings": sum(len(r.warnings) for r in done.results) + len(done.warnings),
    }  # fmt: skip


def _time_embedding(embedder) -> list[float]:
    """Wraps the embedder's passage and latent passes so their time adds up in the returned cell."""
    spent = [0.0]
    for name in ("passages", "latent"):
        original = getattr(embedder, name)

        def timed(texts, _original=original):
            start = time.perf_counter()
            try:
                return _original(texts)
            finally:
                spent[0] += time.perf_counter() - start

        setattr(embedder, name, timed)
    return spent


def feed_text(report: dict) -> str:
    return (f"feed: {report['items']} items ({report['chunks']} chunks, {report['fetches']} fetches) in "
            f"{report['ingest_s']} s = {report['per_item_ms']} ms per item; embedding {report['embedding_s']} s "
            f"({report['embedding_share']:.0%})")
