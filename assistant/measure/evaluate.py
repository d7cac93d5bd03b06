"""`laidub eval`: score retrieval (and, with a model, answers) on a JSONL question set.

Each line: {"id", "question", "lang": "en"|"zh", "type": "single"|"compare"|"unanswerable",
"gold": [{"episode": TITLE, "start": "MM:SS"}], "points": [[REGEX, ...], ...]}. Gold chapters are matched
on episode and start second, so the metrics need no model and no string matching of titles beyond lookup.

`points` are the key points a listener expects the answer to state (a reason, a mechanism, a name,
a number); each is a list of case-insensitive regex alternatives, and a point counts as covered
when any alternative matches the answer. Citation metrics say an answer points at the right chapter;
key-point coverage says it also says what that chapter says.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.results import Answer, Comparison
from store.chunks import chunk_episode
from store.episode import parse_timestamp
from store.errors import ParseError
from store.language import LANGUAGES, detect_language
from store.library import Library


@dataclass
class Case:
    id: str
    question: str
    lang: str
    type: str
    gold: list[tuple[str, int]] = field(default_factory=list)  # (episode id, start seconds)
    points: list[list[re.Pattern]] = field(default_factory=list)  # each point: its alternatives


@dataclass
class PointScore:
    lang: str
    covered: int
    total: int


CASE_TYPES = ("single", "compare", "unanswerable")


def read_questions(path: Path) -> list[tuple[int, dict]]:
    """The non-blank lines of a JSONL question file as (line number, object with a "question"); a ParseError
    names the file, the line and the problem (`eval` and `bench --questions` read these files)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ParseError(str(path), "not UTF-8 text") from None
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as err:  # RecursionError: nesting too deep for the parser
            raise ParseError(f"{path}:{n}", f"not valid JSON ({err})") from None
        if not isinstance(row, dict):
            raise ParseError(f"{path}:{n}", f"expected a JSON object, got {type(row).__name__}")
        if not isinstance(row.get("question"), str) or not row["question"].strip():
            raise ParseError(f"{path}:{n}", '"question" must be a non-empty string')
        rows.append((n, row))
    return rows


def load_cases(path: Path, library: Library) -> list[Case]:
    """Every line as a Case; a line that is not one is a ParseError naming the file, the line and the problem."""
    by_title = {e.title: e.id for e in library.episodes()}
    return [_case(row, n, f"{path}:{n}", by_title) for n, row in read_questions(path)]


def _case(row: dict, n: int, where: str, by_title: dict[str, str]) -> Case:
    lang, kind, gold = row.get("lang"), row.get("type"), row.get("gold", [])
    if lang not in LANGUAGES:
        raise ParseError(where, f'"lang" must be one of {", ".join(LANGUAGES)}, got {lang!r}')
    if kind not in CASE_TYPES:
        raise ParseError(where, f'"type" must be one of {", ".join(CASE_TYPES)}, got {kind!r}')
    if not isinstance(gold, list):
        raise ParseError(where, '"gold" must be a list of {"episode": TITLE, "start": "MM:SS"}')
    anchors = []
    for g in gold:
        if not (isinstance(g, dict) and isinstance(g.get("episode"), str) and isinstance(g.get("start"), str)):
            raise ParseError(where, f'each gold entry must be {{"episode": TITLE, "start": "MM:SS"}}, got {g!r:.80}')
        if g["episode"] not in by_title:
            raise ParseError(where, f"gold episode {g['episode']!r} is not indexed")
        try:
            anchors.append((by_title[g["episode"]], parse_timestamp(g["start"])))
        except ValueError as err:
            raise ParseError(where, f"gold {err}") from None
    return Case(str(row.get("id", n)), row["question"], lang, kind, anchors, parse_points(row.get("points", []), where))


def parse_points(points, where: str) -> list[list[re.Pattern]]:
    """A line's `points` compiled; a ParseError names the line when one is not a list of regexes."""
    if not isinstance(points, list) or not all(isinstance(p, list) and p and all(isinstance(a, str) for a in p)
                                               for p in points):
        raise ParseError(where, '"points" must be a list of points, each a non-empty list of regex strings')
    try:
        return [[re.compile(a, re.IGNORECASE) for a in point] for point in points]
    except re.error as err:
        raise ParseError(where, f"a point is not a valid regex ({err})") from None


def missed_points(points: list[list[re.Pattern]], text: str) -> list[str]:
    """The points no alternative of which occurs in `text`, each shown as its alternatives joined by |."""
    return ["|".join(a.pattern for a in point) for point in points if not any(a.search(text) for a in point)]


def point_coverage(scores: list[PointScore]) -> dict:
    """Share of key points the answers state, over all points and per question language."""
    def share(rows: list[PointScore]) -> float | None:
        return _ratio(sum(r.covered for r in rows), sum(r.total for r in rows))

    report = {"all": share(scores)}
    for lang in LANGUAGES:
        report[lang] = share([s for s in scores if s.lang == lang])
    report["points"] = sum(s.total for s in scores)
    return report


def retrieval_metrics(library: Library, cases: list[Case], k: int = 5) -> dict:
    per_case = []
    for case in cases:
        if not case.gold:
            continue
        start = time.perf_counter()
        hits = library.search(case.question, k=max(k, 10))
        elapsed = (time.perf_counter() - start) * 1000
        anchors = [h.anchor for h in hits]
        found = [g for g in case.gold if g in anchors[:k]]
        first = min((anchors.index(g) + 1 for g in case.gold if g in anchors), default=None)
        per_case.append((case, len(found), len(case.gold), 1.0 / first if first else 0.0, elapsed))

    def summary(rows) -> dict:
        if not rows:
            return {"questions": 0}
        return {
            "questions": len(rows),
            f"recall@{k}": round(sum(r[1] for r in rows) / sum(r[2] for r in rows), 3),
            "mrr": round(statistics.mean(r[3] for r in rows), 3),
        }

    report = {"all": summary(per_case)}
    for lang in LANGUAGES:
        report[lang] = summary([r for r in per_case if r[0].lang == lang])
    report["latency_ms"] = percentiles([r[4] for r in per_case])
    report["misses"] = [r[0].id for r in per_case if r[1] < r[2]]
    return report


def _written(answer: Answer) -> str:
    """What the model wrote, whose language is judged: a comparison's table also holds titles and quotes
    in the episodes' languages."""
    if isinstance(answer, Comparison):
        return " ".join([*(row.position for row in answer.rows), answer.summary])
    return answer.text


def answer_metrics(assistant, cases: list[Case]) -> dict:
    """Run the real pipeline on every question and score what users see: citations, language, refusals."""
    hit = precise = cited = wrong_language = 0
    answerable = refused_answerable = unanswerable = refused_unanswerable = 0
    compare_cases = compare_covered = 0
    points: list[PointScore] = []
    timings: dict[str, list[float]] = {"retrieve": [], "first_token": [], "total": []}
    failures = []
    for case in cases:
        answer = assistant.ask(case.question)
        for key, values in timings.items():
            if key in answer.timings_ms:
                values.append(answer.timings_ms[key])
        if detect_language(_written(answer)) != case.lang:
            wrong_language += 1
            failures.append({"id": case.id, "problem": "language", "answer": answer.text})
        if case.type == "unanswerable":
            unanswerable += 1
            refused_unanswerable += answer.refused
            if not answer.refused:
                failures.append({"id": case.id, "problem": "answered an unanswerable question", "answer": answer.text})
            continue
        answerable += 1
        refused_answerable += answer.refused
        if case.points:
            missed = missed_points(case.points, _written(answer))
            points.append(PointScore(case.lang, len(case.points) - len(missed), len(case.points)))
            if missed:
                failures.append({"id": case.id, "problem": "missed key points", "missed": missed})
        anchors = [(c.episode_id, c.start_seconds) for c in answer.citations]
        gold_episodes = {episode for episode, _ in case.gold}
        if set(anchors) & set(case.gold):
            hit += 1
        elif not answer.refused:
            failures.append({"id": case.id, "problem": "no gold citation", "cited": anchors})
        else:
            failures.append({"id": case.id, "problem": "false refusal", "answer": answer.text})
        cited += len(anchors)
        precise += sum(1 for a in anchors if a in case.gold or a[0] in gold_episodes)
        if case.type == "compare":
            compare_cases += 1
            compare_covered += gold_episodes <= {episode for episode, _ in anchors}
    return {
        "questions": len(cases),
        "key_point_coverage": point_coverage(points),
        "citation_hit_rate": _ratio(hit, answerable),
        "citation_precision": _ratio(precise, cited),
        "language_match": _ratio(len(cases) - wrong_language, len(cases)),
        "refusal_accuracy": _ratio(refused_unanswerable, unanswerable),
        "unanswerable_refused": f"{refused_unanswerable}/{unanswerable}",
        "false_refusal_rate": _ratio(refused_answerable, answerable),
        "compare_coverage": _ratio(compare_covered, compare_cases),
        "latency_ms": {key: percentiles(values) for key, values in timings.items()},
        "failures": failures,
    }


def compare_metrics(assistant, cases: list[Case]) -> dict:
    """Compare questions through `ask`: coverage (every gold episode cited) and attribution precision
    (each row's citation is a chapter about that row's person, as the index records it)."""
    # The chapters' chunks as every ingest makes them (a Chroma server's library has no search files to list them).
    chapters = [c for e in assistant.library.episodes() for c in chunk_episode(e) if c.kind == "chapter"]
    about = {(c.episode_id, c.start): set(c.people) for c in chapters}
    routed = covered = rows = attributed = 0
    totals, failures = [], []
    for case in (c for c in cases if c.type == "compare"):
        answer = assistant.ask(case.question)
        totals.append(answer.timings_ms.get("total", 0.0))
        routed += bool(answer.rows)
        cited = {c.episode_id for c in answer.citations}
        if {episode for episode, _ in case.gold} <= cited:
            covered += 1
        else:
            failures.append({"id": case.id, "problem": "gold episode not cited", "cited": sorted(cited)})
        for row in answer.rows:
            if row.citation:
                rows += 1
                if row.person in about.get((row.citation.episode_id, row.citation.start_seconds), set()):
                    attributed += 1
                else:
                    failures.append({"id": case.id, "problem": "misattributed", "person": row.person,
                                     "cited": row.citation.label})
    questions = len(totals)
    return {
        "questions": questions,
        "routed": _ratio(routed, questions),
        "coverage": _ratio(covered, questions),
        "attribution_precision": _ratio(attributed, rows),
        "cited_rows": rows,
        "latency_ms": {"total": percentiles(totals)},
        "failures": failures,
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": round(pick(0.5), 1), "p95": round(pick(0.95), 1)}
