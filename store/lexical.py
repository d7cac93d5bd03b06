"""The lexical half of hybrid search: BM25 over jieba-segmented, lowercased tokens.

Local Chroma has no BM25 (its Search API is Cloud-only, its BM25 function English-only), so
the postings live in the on-disk search index's segments (store/segment.py). Names and
English terms inside Chinese text ("杨立昆为什么说OpenAI是...") are exactly what dense
retrieval blurs and BM25 keeps, so the two are fused in `retrieve.py`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import jieba
import numpy as np
import Stemmer

from store.chunks import Chunk
from store.glossary import glosses
from store.language import has_cjk
from store.segment import term_hash

if TYPE_CHECKING:
    from store.rows import Rows

jieba.setLogLevel(logging.WARNING)

# bm25s's English stopwords (bm25s.stopwords.STOPWORDS_EN), copied: importing bm25s loads scipy, 0.9 s of every
# cold `laidub` command. tests/test_search_files.py keeps the copy equal to the original.
STOPWORDS_EN = tuple(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these they "
    "this to was will with".split()
)
_ZH_STOPWORDS = set(
    "的 了 是 在 和 与 及 吗 呢 吧 啊 么 什么 为什么 如何 怎么 怎样 哪些 哪个 有 有没有 没有 这 那 这些 那些 "
    "他 她 它 他们 我们 你 我 对 把 被 就 都 也 还 而 但 并 或 一个 这个 那个 认为 觉得 说 谈到 谈 讲 提到 "
    "是否 之 其 中 上 下 里 会 能 要 可以 以及 节目 有人 看法 观点 讨论 不同 区别 异同 比较 怎么看 有何 "
    "哪里 哪儿 时候 为何 给 过 吗 请 问 这些 那些 里 所 最 到底 究竟 处于 目前 当今 "
    # how to answer, not what about: courtesy and answer length
    "请问 谢谢 多谢 麻烦 简单 简单地 简短 简要 简而言之 总之 一下 说说 讲讲 概括".split()
)
_EN_QUESTION_WORDS = set(
    "what whats does did do how why who whom whose which when where is are was were say says said think thinks "
    "thought view views according about tell told talk talked discuss discussed mention mentioned anyone someone "
    "episode episodes podcast guest you he she they him her his their we i me my can could should would will "
    "must may might doesn don didn isn aren wasn from into onto "
    # how to answer, not what about: courtesy and answer length
    "please pls thanks thank short shortly brief briefly summarize summarise nutshell concisely".split()
)
_STOPWORDS = set(STOPWORDS_EN) | _EN_QUESTION_WORDS | _ZH_STOPWORDS
_WORD = re.compile(r"\w")
TITLE_WEIGHT = 3


_STEMMER = Stemmer.Stemmer("english")
K1, B = 1.5, 0.75  # BM25's saturation and length normalisation (Lucene's and bm25s' defaults)


def tokenize(text: str, precise: bool = False) -> list[str]:
    """jieba words for Chinese, stemmed lowercase words for English ('Regrets' -> 'regret').

    Search mode also yields the parts of long words ("强化学习" -> 强化, 学习, 强化学习), good for
    recall; precise mode yields each word once, for counting what a question is about.
    """
    tokens = []
    for token in (jieba.lcut if precise else jieba.cut_for_search)(text.lower()):
        token = token.strip().strip("'’")
        if token and _WORD.search(token) and token not in _STOPWORDS:
            tokens.append(token if has_cjk(token) else _STEMMER.stemWord(token))
    return tokens


def expand(tokens: list[str]) -> list[str]:
    """Add the English glosses of Chinese tokens, stemmed like the index."""
    # Single characters gloss to a dozen senses ("后": back, behind, after...): too noisy to add.
    extra = [_STEMMER.stemWord(w) for t in tokens if len(t) > 1 for p in glosses(t) for w in p if w not in _STOPWORDS]
    return tokens + [w for w in dict.fromkeys(extra) if w not in tokens]


def add_words(words: list[str]) -> None:
    """Teach jieba names it would split ("杨立昆" is one word, not "杨立" + "昆")."""
    for word in words:
        if has_cjk(word):
            jieba.add_word(word.replace("·", ""), freq=None)
            jieba.add_word(word, freq=None)


def gloss_stems(word: str) -> list[tuple[str, ...]]:
    """A Chinese word's English glosses as stemmed content words, one tuple per sense."""
    senses = [tuple(_STEMMER.stemWord(w) for w in phrase if w not in _STOPWORDS) for phrase in glosses(word)]
    return [s for s in senses if s]


def document_terms(chunk: Chunk) -> list[str]:
    """What BM25 indexes for a chunk; computed once at ingest and stored with it."""
    # Titles are short, precise summaries of a chapter: weigh their words more (BM25F-style).
    return tokenize(f"{chunk.title} " * TITLE_WEIGHT + chunk.text)


class LexicalIndex:
    """BM25 (Lucene's variant, bm25s' default) over every segment's postings, with global statistics.

    bm25s stores scores with each term's IDF baked in, so an index of appended segments would score
    each segment by its own IDF (an episode-sized segment's IDF is noise). The segments keep raw term
    frequencies and row lengths instead, and a question's IDF and the average length are taken over
    all segments at once: the scores equal one bm25s index over all rows (tests/test_search_files.py).
    Tombstoned rows still count in the statistics until their segment is compacted, as in Lucene.
    """

    def __init__(self, rows: Rows, live: np.ndarray, k1: float = K1, b: float = B):
        self._rows, self._live = rows, live
        self.size = len(rows)
        self.k1, self.b = k1, b
        total = sum(float(np.asarray(s.lengths, dtype=np.float64).sum()) for s in rows.segments)
        self._average_length = total / self.size if self.size else 1.0

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row, in row order (zeros when nothing matches)."""
        tokens = expand(tokenize(query))
        scores = np.zeros(self.size, dtype=np.float32)
        if not self.size or not tokens:
            return scores
        wanted = np.asarray([term_hash(t) for t in tokens], dtype=np.uint64)
        found = []  # per segment: (column of each token or -1)
        df = np.zeros(len(wanted))
        for segment in self._rows.segments:
            columns = segment.columns_of(wanted)
            df[columns >= 0] += segment.lexical.column_sizes(columns[columns >= 0])
            found.append(columns)
        idf = bm25_idf(self.size, df).astype(np.float32)
        for start, segment, columns in zip(self._rows.starts, self._rows.segments, found):
            present = np.nonzero(columns >= 0)[0]
            rows, tf, which = segment.lexical.gather(columns[present])
            if not len(rows):
                continue
            norm = self.k1 * ((1 - self.b) + self.b * np.asarray(segment.lengths[rows]) / self._average_length)
            weights = idf[present][which] * tf / (norm + tf)
            scores[start : start + segment.rows] += np.bincount(rows, weights, minlength=segment.rows)
        return scores


def bm25_idf(total, df):
    """Lucene's IDF of a term in `df` of `total` rows (numbers or arrays); a Chroma server's ranking uses it too."""
    return np.log1p((total - df + 0.5) / (df + 0.5))
