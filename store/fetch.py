"""Fetching what a feed points at: the feed itself, its chapters and transcripts, and (when asked) its audio.

One GET per call, streamed and stopped at a size limit (a `Content-Length` over it is refused before
any body is read), a timeout per network step and one for the whole fetch (a server dribbling a byte
a second stays under every read timeout), redirects followed by hand so a loop is named as one.
Only http(s) URLs and, for what the user names on the command line, local files: a link in a remote
feed cannot make us read this machine's files. Every failure is a FetchError: one line naming the
URL and what to do; each fetch reports one progress line. Audio is never fetched with a feed: a
listener asks for an episode's transcription (`laidub transcribe ID`), and `download` streams the
enclosure to a file, never holding it in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import httpx

from store.errors import UserError
from store.formats import MAX_FILE_BYTES

# A feed lists every episode a show ever published, so it outgrows any single transcript: a feed of
# 2,000 items with 5 KB of show notes each is 10.6 MiB. Reading that one took 1.9 s in feedparser and
# 0.4 s in ElementTree here (5.5 MiB/s), so 32 MiB bounds a feed's parse to about 7 s.
MAX_FEED_BYTES = 32 * 2**20
MAX_LINKED_BYTES = MAX_FILE_BYTES  # a chapters or transcript file: the same limit as a file given by hand
# An enclosure: a 3-hour MP3 at 128 kbit/s is 173 MB and a 3-hour 16 kHz mono WAV 346 MB; 1 GiB leaves room
# for lossless audio and still refuses the misconfigured multi-GB link before a byte of it is read.
MAX_ENCLOSURE_BYTES = 2**30
MAX_REDIRECTS = 5  # hosts chain a tracking prefix or two before the file; more is a misconfiguration
USER_AGENT = "LaiDubAsk/0.1 (podcast feed reader)"


class FetchError(UserError):
    """A URL that could not be fetched: unreachable, refused, too big, too slow or not what was expected."""

    def __init__(self, url: str, problem: str):
        self.url = url
        super().__init__(f"{url}: {problem}")


@dataclass
class Fetched:
    url: str  # where the body came from, after redirects: what relative links resolve against
    body: bytes
    content_type: str  # the MIME type without parameters, lower case ("" for a local file)

    @property
    def is_local(self) -> bool:
        return not self.url.startswith(("http://", "https://"))


class Fetcher:
    """GETs with the limits above; `progress` receives one line per fetch (the CLI prints it to stderr)."""

    def __init__(self, timeout: float = 30.0, progress: Callable[[str], None] | None = None):
        self.timeout = timeout
        self.progress = progress or (lambda line: None)
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), headers={"User-Agent": USER_AGENT},
                                    follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, location: str, limit: int, base: Fetched | None = None) -> Fetched:
        """`location` (a URL, or a path when there is no remote `base`) resolved against `base`'s URL."""
        start = time.monotonic()
        url = urljoin(base.url, location) if base else location
        try:
            fetched = self._fetch(url, limit, base, start)
        except FetchError as err:
            self.progress(f"failed {err}")
            raise
        self.progress(f"fetched {url} ({_size(len(fetched.body))}, {time.monotonic() - start:.1f} s)")
        return fetched

    def download(self, url: str, dest: Path, limit: int = MAX_ENCLOSURE_BYTES) -> Path:
        """An http(s) file streamed to `dest` (written beside it, then renamed, so `dest` is whole or absent),
        with a progress line every 10 %; no overall time limit, only the per-step timeout: audio is big."""
        partial = dest.with_name(dest.name + ".part")
        try:
            with partial.open("wb") as out:
                self._get(url, limit, time.monotonic(), _Saving(out, self.progress, url), whole_timeout=False)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(dest)
        self.progress(f"downloaded {url} ({_size(dest.stat().st_size)})")
        return dest

    def _fetch(self, url: str, limit: int, base: Fetched | None, start: float) -> Fetched:
        scheme = urlparse(url).scheme.lower()
        if scheme in ("http", "https"):
            return self._get(url, limit, start)
        if base is not None and not base.is_local:
            raise FetchError(url, "a remote feed may only link to http(s) URLs")
        if scheme in ("", "file") or len(scheme) == 1:  # a path; "c:" is a Windows drive
            return _read_file(url, limit)
        raise FetchError(url, f"unsupported URL scheme {scheme!r}; use http(s) or a file path")

    def _get(self, url: str, limit: int, start: float, sink: _Saving | None = None,
             whole_timeout: bool = True) -> Fetched:
        seen = [url]
        while True:
            try:
                with self._client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = _next_hop(response, seen)
                        continue
                    if response.status_code >= 400:
                        raise FetchError(url, _status_problem(response.status_code, response.reason_phrase))
                    body = self._read(response, url, limit, start if whole_timeout else None, sink)
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    return Fetched(str(response.url), body, kind)
            except httpx.TimeoutException:
                raise FetchError(url, f"no answer within {self.timeout:g} s (timed out)") from None
            except httpx.TransportError as err:
                raise FetchError(url, _transport_problem(err)) from None

    def _read(self, response: httpx.Response, url: str, limit: int, start: float | None,
              sink: _Saving | None = None) -> bytes:
        """The body (or b"" when `sink` takes it), stopped at `limit`; `start` None: no overall time limit."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(url, f"{_size(int(declared))}, over the limit of {_size(limit)}; not downloaded")
        chunks, size = [], 0
        for chunk in response.iter_bytes():  # decoded: a gzip bomb stops at the limit too
            size += len(chunk)
            if size > limit:
                raise FetchError(url, f"larger than the limit of {_size(limit)}; stopped reading")
            if start is not None and time.monotonic() - start > self.timeout:
                raise FetchError(url, f"not complete within {self.timeout:g} s (timed out)")
            if sink:
                sink.write(chunk, size, int(declared) if declared.isdigit() else 0)
            else:
                chunks.append(chunk)
        return b"".join(chunks)


@dataclass
class _Saving:
    """Where a download's body goes, reporting each tenth of a declared size (or each 50 MiB of an undeclared one)."""

    out: object
    progress: Callable[[str], None]
    url: str
    _reported: int = 0

    def write(self, chunk: bytes, done: int, total: int) -> None:
        self.out.write(chunk)
        step = total // 10 if total else 50 * 2**20
        if step and done // step > self._reported:
            self._reported = done // step
            shown = f"{100 * done // total} % of {_size(total)}" if total else _size(done)
            self.progress(f"downloading {self.url}: {shown}")


def _next_hop(response: httpx.Response, seen: list[str]) -> str:
    url = seen[-1]
    target = urljoin(url, response.headers.get("location", ""))
    if urlparse(target).scheme.lower() not in ("http", "https"):
        raise FetchError(url, f"redirects to {target!r}, which is not an http(s) URL")
    if target in seen:
        raise FetchError(seen[0], f"redirect loop ({' -> '.join(seen[seen.index(target):] + [target])})")
    if len(seen) > MAX_REDIRECTS:
        raise FetchError(seen[0], f"more than {MAX_REDIRECTS} redirects")
    seen.append(target)
    return target


def _status_problem(status: int, reason: str) -> str:
    if status == 404:
        return "not found (HTTP 404); check the URL"
    if status in (401, 403):
        return f"access denied (HTTP {status}); the feed may be private"
    return f"the server answered HTTP {status} {reason}".rstrip()


def _transport_problem(err: httpx.TransportError) -> str:
    text = str(err)
    if isinstance(err, httpx.ConnectError) and any(
        marker in text for marker in ("Name or service not known", "nodename nor servname", "getaddrinfo failed",
                                      "Temporary failure in name resolution", "No address associated")
    ):
        return "cannot find this host (DNS lookup failed); check the URL and your connection"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect ({text or 'connection refused'})"
    return f"the download failed ({text or type(err).__name__})"


def _read_file(url: str, limit: int) -> Fetched:
    path = Path(unquote(urlparse(url).path) if url.startswith("file:") else url)
    try:
        with path.open("rb") as file:
            body = file.read(limit + 1)
    except OSError as err:
        raise FetchError(url, f"cannot read the file ({err.strerror})") from None
    if len(body) > limit:
        raise FetchError(url, f"larger than the limit of {_size(limit)}")
    return Fetched(path.resolve().as_uri(), body, "")


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    return f"{n / 2**10:.0f} KiB" if n >= 2**10 else f"{n} B"
