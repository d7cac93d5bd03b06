"""Ranking on a Chroma server (LAIDUB_CHROMA_URL): the server's own queries, fused in the client by retrieve.py.

Nothing of the library is copied to the client. Per question it asks the server
- per chunk language, side by side, the dense neighbours of the question (`query`; one collection per
  language, so no metadata filter slows it: a `where` is sent only for filters the user gave), and reads
  them (text, metadata, vector, the BM25 terms stored at ingest);
- then, for the question's words (store/lexical.py's, Chinese glosses included) that no neighbour holds,
  the rows whose text holds them (`where_document`: the server's trigram full-text index; membership
  only, no ranking, so at most FULLTEXT_LIMIT ids), and reads the best covered of those;
and scores the candidates here: exact cosine, and BM25 with each word's IDF estimated from how many rows
the server found holding it. The people a question names are found among the candidates, as in embedded
mode (a `people` filter on the server took 130-500 ms at 100k rows). What this gives up against the
search files is in README.md ("Scale-out"): no latent terms, BM25 only over the candidates.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from store.chunks import TIMED_KINDS, Chunk
from store.index import Index, StoredChunk
from store.language import LANGUAGES, has_cjk
from store.lexical import B, K1, bm25_idf, expand, tokenize
from store.retrieve import CANDIDATES, Candidates, Filters

DENSE_FETCH = 2 * CANDIDATES  # neighbours per language: summaries and entities are dropped here, not filtered there
FULLTEXT_LIMIT = 200  # ids per token and language; a token in more rows is common, and its IDF low anyway
FULLTEXT_FETCH = CANDIDATES  # rows found only by full text that are read and scored

# Requests to the server run side by side: the server answers them on its own cores, this process mostly waits.
_REQUESTS = ThreadPoolExecutor(12, thread_name_prefix="chroma-requests")


class ServerRanking:
    """A `retrieve.Ranking`: the candidate lists of a question, ranked by the Chroma server that holds the chunks."""

    def __init__(self, index: Index, fulltext_words: int = 0):
        """`fulltext_words`: how many of the question's words no dense neighbour holds are asked of the full-text
        index (LAIDUB_SERVER_FULLTEXT_WORDS). Off by default: `chroma run` scans for each (a word no row holds
        took 26 ms at 20k rows, 85 ms at 100k), 70-200 ms a request at 100k on 2 busy cores against 2-30 ms for
        a dense query, so its cost grows with the library; a distributed Chroma may index it."""
        self.index = index
        self.fulltext_words = fulltext_words
        self._total: tuple[str | None, int] | None = None  # (revision, rows in every chunk collection)
        self._lock = threading.Lock()

    def __call__(self, query: str, filters: Filters, named: set[str]) -> Candidates:
        languages = filters.languages or list(LANGUAGES)
        collections = {language: self.index.chunk_collections[language] for language in languages}
        where = server_where(filters)
        vector = self.index.embedder.query(query)
        tokens = expand(tokenize(query))
        dense = {language: _REQUESTS.submit(self._neighbours, collection, vector, DENSE_FETCH, where)
                 for language, collection in collections.items()}  # fmt: skip
        total = self._rows()
        rows = {i: row for future in dense.values() for i, row in future.result()[1].items()}

        # Full text finds what the neighbours lack: the question's words that none of them holds (a named person's
        # name aside: the people list finds their chunks among the candidates, as in embedded mode).
        held = {term for row in rows.values() for term in row.terms} | set(tokenize(" ".join(named)))
        fulltext: dict[tuple[str, str], Future] = {
            (language, token): _REQUESTS.submit(_holding, collection, token, where)
            for token in [t for t in fulltext_tokens(query) if t not in held][: self.fulltext_words]
            for language, collection in collections.items()
            if language == "zh" or not has_cjk(token)  # Chinese words are not in English text
        }  # fmt: skip
        holding = {key: future.result() for key, future in fulltext.items()}
        found = Counter()
        for (_, token), ids in holding.items():
            found[token] += len(ids)
        idf = {token: bm25_idf(total, found[token]) for _, token in holding}
        reads = [_REQUESTS.submit(self.index.visible_chunks, collections[language], [i for i in ids if i not in rows])
                 for language, ids in prescore(holding, idf, FULLTEXT_FETCH).items()]  # fmt: skip
        rows |= {i: row for future in reads for i, row in future.result().items()}
        rows = {i: row for i, row in rows.items() if admits(filters, row.chunk)}

        idf |= pooled_idf([row.terms for row in rows.values()], [t for t in tokens if t not in idf], total)
        similarity = {i: float(row.vector @ vector) for i, row in rows.items()}
        average = float(np.mean([len(row.terms) for row in rows.values()])) if rows else 1.0
        bm25 = {i: bm25_score(row.terms, tokens, idf, average) for i, row in rows.items()}
        lists = [sorted((i for i in dense[language].result()[0] if i in rows), key=lambda i: -similarity[i])
                 [:CANDIDATES] for language in collections]  # fmt: skip
        lists.append(sorted((i for i in rows if bm25[i] > 0), key=lambda i: -bm25[i])[:CANDIDATES])
        return Candidates(lists, lambda i: rows[i].chunk, similarity.__getitem__, bm25.__getitem__,
                          lambda names: lambda i: bool(names & set(rows[i].chunk.people)))

    def _neighbours(self, collection, vector: np.ndarray, n: int,
                    where: dict | None) -> tuple[list[str], dict[str, StoredChunk]]:
        """The `n` nearest chunks in `collection` (ids, best first), and those readers see, read."""
        ids = collection.query(query_embeddings=[vector], n_results=n, where=where, include=[])["ids"][0]
        return ids, self.index.visible_chunks(collection, ids)

    def _rows(self) -> int:
        """How many chunks the library holds (BM25's N), counted again after each write."""
        revision = self.index.revision()
        with self._lock:
            if self._total is None or self._total[0] != revision:
                self._total = (revision, self.index.count())
            return self._total[1]


def _holding(collection, token: str, where: dict | None) -> list[str]:
    return collection.get(where_document=fulltext_clause(token), where=where, limit=FULLTEXT_LIMIT, include=[])["ids"]


def fulltext_clause(token: str) -> dict:
    """The server's full-text match for a BM25 token. The index is case-sensitive and matches substrings, so
    an English stem is a case-blind regex at a word's start ("regret" finds "Regrets", not "unregretted"):
    at 20k rows as fast as one `$contains` (18 ms), and 7 times faster than an `$or` of its spellings."""
    return {"$contains": token} if has_cjk(token) else {"$regex": rf"(?i)\b{re.escape(token)}"}


def fulltext_tokens(query: str) -> list[str]:
    """The tokens the full-text index may be asked for: the question's own words (whole, not jieba's parts of
    them), then the English glosses of its Chinese ones."""
    return list(dict.fromkeys(expand(tokenize(query, precise=True))))


def prescore(holding: dict[tuple[str, str], list[str]], idf: dict[str, float], n: int) -> dict[str, list[str]]:
    """The `n` rows best covered by the question's tokens (the sum of the IDF of the tokens a row holds), by
    language: which rows found only by full text are worth reading."""
    score: Counter[tuple[str, str]] = Counter()
    for (language, token), ids in holding.items():
        for i in ids:
            score[(language, i)] += idf[token]
    best: dict[str, list[str]] = {}
    for language, i in sorted(score, key=lambda key: -score[key])[:n]:
        best.setdefault(language, []).append(i)
    return best


def pooled_idf(pool: list[list[str]], tokens: list[str], total: int) -> dict[str, float]:
    """IDF for tokens not asked of the server, from their share of the candidates' terms. The candidates are
    about the question, so the share overstates a token's frequency in the library: its weight errs low."""
    held = [set(terms) for terms in pool]
    return {t: bm25_idf(total, round(total * sum(t in h for h in held) / max(len(held), 1))) for t in tokens}


def bm25_score(terms: list[str], tokens: list[str], idf: dict[str, float], average_length: float) -> float:
    """A row's BM25 for the question's tokens (a repeated token counts again, as in the search files)."""
    counts = Counter(terms)
    norm = K1 * ((1 - B) + B * len(terms) / average_length)
    return sum(idf[t] * counts[t] / (norm + counts[t]) for t in tokens if counts[t])


def server_where(filters: Filters) -> dict | None:
    """The user's filters as a Chroma `where` (None without any: every unfiltered query stays fast); the
    language filter picks collections instead."""
    clauses = []
    if filters.kinds:
        clauses.append({"kind": {"$in": list(filters.kinds)}})
    if filters.episodes:
        clauses.append({"episode_id": {"$in": list(filters.episodes)}})
    if filters.people:
        clauses.append(any_person(filters.people))
    return all_of(clauses)


def any_person(names: list[str]) -> dict:
    clauses = [{"people": {"$contains": name}} for name in names]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def all_of(clauses: list[dict | None]) -> dict | None:
    clauses = [c for c in clauses if c]
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def admits(filters: Filters, chunk: Chunk) -> bool:
    """The filters on a chunk read from the server: what `where` asked, and the default kinds it did not."""
    return (chunk.kind in (filters.kinds or TIMED_KINDS)
            and (not filters.episodes or chunk.episode_id in filters.episodes)
            and (not filters.people or bool(set(filters.people) & set(chunk.people)))
            and (not filters.languages or chunk.language in filters.languages))  # fmt: skip
