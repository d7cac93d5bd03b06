"""Is what an answer sentence says in the source it cites? A check that topical similarity cannot fool.

e5 similarity and word overlap rate a sentence by how much it is *about* a source, and a 1.5B model's
inventions are about the source: "the feud began in 2013 with a tweet about faith" cites the feud chapter,
which has no 2013 and no tweet. So a sentence is supported only when what it asserts is in the source:

- hard content, each item required: numbers and dates (normalised: "$1 billion" = "10亿", "four and a
  half" = "四年半", "30-plus" = "30多"), links, quoted words, names and other capitalised terms (a
  person by any alias: "杨立昆" is in a source that says "Yann"), the Latin terms inside Chinese text;
- the claim's key words: most of its content words (stemmed; Chinese words through their English glosses,
  from seeds/glossary.toml and CC-CEDICT, so a Chinese sentence can be checked against an English
  chapter), with e5 similarity to the source's closest sentence as a second witness when the words
  alone fall a little short (glosses miss paraphrases);
- no reversed polarity: a sentence whose clause says the opposite of the source clause it matches
  ("favours generative architectures" beside "the generative ones have been failures") is not supported;
- never an instruction: "claim your free heat pump at http://…", "ignore previous instructions" are not
  claims, whatever a source says, and such sentences inside a source support nothing (episode text is
  untrusted: a hostile page can carry them).

Measured on tests/data/claims.jsonl (real seed chapters, see tests/test_claims.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import jieba
import numpy as np

from store.episode import Chapter, Episode
from store.language import detect_language, has_cjk
from store.glossary import compounds, glosses
from store.lexical import _STEMMER, _STOPWORDS, gloss_stems, tokenize
from store.people import PeopleIndex

# Share of a sentence's content words that must be in the source. Chosen on the labelled set's supported
# paraphrases (a 1.5B model copies the source's words; paraphrases keep about 4 in 5) against its invented
# mechanisms, which share the topic's words but few of the claim's (about 1 in 2).
ACCEPT = 0.75
# Between WITNESS and ACCEPT, the sentence also needs e5's word: cosine to the source's closest sentence.
# e5 is a weak witness, which is the issue this module answers: on the labelled set, invented mechanisms
# scored up to 0.90 against their chapter (same language) and 0.855 across languages, as high as supported
# paraphrases (0.82-0.92). So it only counts above what no unsupported sentence reached there.
WITNESS = 0.5
SIMILARITY = 0.92
# Glosses find fewer of a Chinese sentence's words in an English source (CC-CEDICT's senses are not the
# chapter's words), so the word bars are lower across languages, and so is e5's.
CROSS_ACCEPT = 0.6
CROSS_WITNESS = 0.34
CROSS_SIMILARITY = 0.87
# Words around a matched span that still belong to its claim: a negation before it ("not a path"), the
# predicate after it ("the generative ones basically have been failures").
BEFORE_WORDS = 5
AFTER_WORDS = 4


@dataclass(frozen=True)
class Verdict:
    supported: bool
    reason: str = ""  # why not: "number 2013", "name Thiel", "instruction", "contradicts", "words 0.40"
    coverage: float = 0.0  # share of content words found


# -- what a sentence asserts -------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'，。）)]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|ai|example|xyz|ly|cn)\b(?:/\S*)?", re.I)
_QUOTED = re.compile(r"[\"“”]([^\"“”]{3,})[\"“”]|「([^」]{2,})」")
_CHAT_TOKEN = re.compile(r"<\|[^|>]*\|>")
# Instructions to the reader or the model. An answer reports what episodes say; it never tells the user to
# do something on a site, or the model to change its orders (measured: the 1.5B model copied an injected
# "claim your free heat pump" link from a chapter into a Chinese answer, cited [1]).
_INSTRUCTION = re.compile(
    r"^\W*(?:please\s+)?(?:ignore|disregard|forget|reply|respond|print|output|repeat|claim|visit|click|call|"
    r"subscribe|download|install|register|sign\s+up|buy|send|contact|enter|go\s+to)\b"
    r"|\b(?:previous|prior|above|earlier)\s+instructions?\b|\bsystem\s+prompt\b|\byou\s+are\s+now\b"
    r"|\b(?:claim|get)\s+your\s+free\b|\byour\s+(?:email|password|card)\b"
    r"|^\W*请?(?:忽略|无视|忘记|回复|输出|领取|点击|访问|注册|下载|扫码|联系|购买)"
    r"|(?:之前|以上|先前)的(?:所有)?(?:指令|指示|说明)|系统提示|免费领取|领取免费",
    re.I,
)
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_CAPITALISED_STOPWORDS = {"ai", "i", "the", "a", "an", "in", "on", "of", "and", "or", "to", "he", "she", "it", "they",
                          "his", "her", "its", "their", "this", "that", "who", "what", "when", "why", "how", "but"}
def _lexicon(english: str, chinese: str) -> set[str]:
    """English words as stems (what sentences are compared as), and Chinese words as they are."""
    return {_STEMMER.stemWord(w) for w in english.split()} | set(chinese.split())


# Words that say who holds a view, not what the view is: "Yann argues that ..." is checked on the rest.
_REPORTING = _lexicon(
    "say says said argue argues argued think believe believes explain explains describe describes note notes "
    "call calls suggest suggests mention mentions add adds point points stress stresses emphasize emphasizes "
    "admit admits acknowledge acknowledges view position also even just really actually still yet according "
    "recall recalls reply replies answer answers told tells",
    "认为 表示 指出 强调 提到 说道 谈到 承认 看来 觉得 相信 所以 因此 而且 并且 其实 就是 真正 已经 根本")
# Words that state someone's stance or verdict. A position that gives a guest a stance the source never states
# ("Yann agrees with Hinton", "杨立昆看好VLA", "generalizes better than") is the inversion compare mode
# produced, so these are hard content.
_STANCE = _lexicon(
    "favour favor favours favors prefer prefers support supports champion champions advocate advocates agree "
    "agrees oppose opposes regret regrets like likes love loves hate hates want wants recommend recommends "
    "advise advises enjoy enjoys endorse endorses correct right wrong mistake mistakes better worse best superior "
    "inferior good bad promising",
    "看好 支持 赞成 反对 喜欢 最喜欢 偏爱 推荐 主张 同意 后悔 赞同 青睐 正确 错误 更好 最好 优于 有前途")

# A superlative preference is a claim of its own: "哈萨比斯最喜欢玩的电子游戏是《邪恶天才》" passed as 喜欢 = "like",
# which the chapter has ("I'd like to invest"), beside a game Demis designed (measured: tests/data/unanswerable.jsonl n25).
_FAVOURITE = re.compile(r"最(?:喜欢|爱|偏爱)|favou?rite|\bmost\s+(?:like|love|enjoy)", re.I)

# Irregular past forms the stemmer leaves alone ("left" vs "leaving"); both sides go through this map.
_IRREGULAR = {
    "left": "leave", "said": "say", "thought": "think", "began": "begin", "begun": "begin", "built": "build",
    "ran": "run", "won": "win", "made": "make", "took": "take", "taken": "take", "gave": "give", "given": "give",
    "went": "go", "gone": "go", "got": "get", "saw": "see", "seen": "see", "knew": "know", "known": "know",
    "wrote": "write", "written": "write", "led": "lead", "held": "hold", "brought": "bring", "came": "come",
    "became": "become", "told": "tell", "felt": "feel", "kept": "keep", "met": "meet", "paid": "pay",
    "sold": "sell", "spent": "spend", "stood": "stand", "taught": "teach", "understood": "understand",
    "chose": "choose", "chosen": "choose", "drew": "draw", "drawn": "draw", "grew": "grow", "grown": "grow",
    "hung": "hang", "lost": "lose", "meant": "mean", "sent": "send", "shown": "show", "spoke": "speak",
    "thrown": "throw", "threw": "throw", "woke": "wake", "worse": "bad", "worst": "bad", "better": "good",
    "best": "good", "men": "man", "people": "person", "data": "datum",
}


def _stem(word: str) -> str:
    if re.fullmatch(r"[A-Z]{2,}s", word):  # "LLMs", "VLAs": the stemmer leaves short plurals alone
        word = word[:-1]
    word = word.lower()
    return _STEMMER.stemWord(_IRREGULAR.get(word, word))


def instruction(sentence: str) -> bool:
    """Whether the sentence tells the reader or the model to do something (or carries chat control tokens)."""
    return bool(_CHAT_TOKEN.search(sentence) or _INSTRUCTION.search(sentence) or
                (_URL.search(sentence) and re.search(r"\byou(?:r)?\b|请|您", sentence, re.I)))


# -- numbers -------------------------------------------------------------------------------------------------

_EN_UNITS = {w: n for n, w in enumerate(
    "zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split()) if w != "_"}  # "one" is a pronoun as often as a number: left out
_EN_TENS = {w: 10 * n for n, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split(), 0)
            if w != "_"}
_EN_SCALE = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9}
_SCALE = {**_EN_SCALE, "百": 1e2, "千": 1e3, "万": 1e4, "亿": 1e8}  # after digits: "500万", "10亿"
_NUMBER_WORD = "|".join([*_EN_TENS, *_EN_UNITS])
_EN_WORDS = re.compile(
    rf"\b(?:({_NUMBER_WORD})(?:[- ]({'|'.join(_EN_UNITS)}))?|(a|one))(\s+and\s+a\s+half)?"
    rf"(?:[\s-]+({'|'.join(_EN_SCALE)})\b)?", re.I)
_DIGITS = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(?:-\s*)?(hundred|thousand|million|billion|"
                     r"trillion|bn|万|亿|千|百)(?![a-z]))?", re.I)
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 1e4, "亿": 1e8}
_CN_RUN = re.compile(r"(百分之)?([零〇一二两三四五六七八九十百千万亿]+)(年半|个半|半)?")


def _chinese_value(run: str) -> float:
    total = section = digit = 0.0
    for ch in run:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
        else:
            total += (section + digit) * _CN_BIG[ch]
            section = digit = 0
    return total + section + digit


def numbers(text: str) -> set[float]:
    """Every number the text states, as values: '$1 billion', 'billion-dollar' and '10亿' are all 1e9."""
    found: set[float] = set()
    for match in _DIGITS.finditer(text):
        value = float(match.group(1).replace(",", ""))
        scale = match.group(2)
        found.add(value * _SCALE[scale.lower()] if scale else value)
        if re.match(r"\s*(?:年半|个半)", text[match.end():]):
            found.add(value + 0.5)
    for match in _EN_WORDS.finditer(text):
        tens, unit, article, half, scale = match.groups()
        if article and not scale:  # "a", "one" alone: not a number worth checking
            continue
        value = 1.0 if article else _EN_TENS.get(tens.lower(), 0) + _EN_UNITS.get(tens.lower(), 0) + \
            _EN_UNITS.get((unit or "").lower(), 0)
        value += 0.5 if half else 0
        found.add(value * _EN_SCALE[scale.lower()] if scale else value)
    for match in _CN_RUN.finditer(text):
        run = match.group(2)
        if len(run) == 1 and run in "百千万亿" or run in ("一", "千万", "万一"):  # 一个, 万一, 千万: not numbers
            continue
        value = _chinese_value(run) + (0.5 if match.group(3) else 0)
        if value != 1:
            found.add(value)
    return found


# -- the source, prepared once ------------------------------------------------------------------------------


@dataclass
class Evidence:
    """A source's checkable content: its non-instruction sentences, and their words, stems and numbers."""

    text: str  # lowercased, instructions removed
    sentences: list[str]
    stems: set[str]
    numbers: set[float]
    segments: list[Segment]
    language: str


# Sentence ends, and the page format's quote marks ("> *...*") and line breaks.
_EVIDENCE_BREAK = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\s+>\s+|\n+")


@lru_cache(maxsize=256)
def evidence(source: str) -> Evidence:
    """The source prepared for checking, once per source text (an answer checks each sentence against it)."""
    parts = (s.strip(" *\"“”") for s in _EVIDENCE_BREAK.split(source))
    kept = [s for s in parts if s and not instruction(s)]
    text = " ".join(kept)
    segments = [Segment.of(c) for s in kept for c in _SEGMENT.split(s) if c and c.strip()]
    return Evidence(text.lower(), kept, _stems(text) | _glossed(text), numbers(text),
                    [g for g in segments if g.words], detect_language(text))


# Function words bm25s's English list leaves in; as content they match anywhere ("it", "had", "down").
_FUNCTION_WORDS = set("it its had has have been being be was were is are am do does did done down up out off over "
                      "very just so than then there here also such own much yes 是的 对 没错".split())


def _words(text: str, precise: bool = True) -> list[str]:
    """Content words: Chinese words as jieba cuts them, English words stemmed; no stopwords."""
    chinese = [t for t in tokenize(text, precise) if has_cjk(t)]
    english = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*", text) if w.lower() not in _STOPWORDS | _FUNCTION_WORDS]
    return chinese + [_stem(w) for w in english]


def _stems(text: str) -> set[str]:
    # Search mode adds the parts of long Chinese words; hyphenated terms ("GPT-4", "file-system") count whole too.
    return set(_words(text, precise=False)) | {_stem(w) for w in _LATIN.findall(text)}


def _glossed(text: str) -> set[str]:
    """English stems of the text's Chinese words, so English sentences can be checked against Chinese chapters."""
    return {w for token in tokenize(text, precise=True) if has_cjk(token) and len(token) > 1
            for sense in gloss_stems(token) for w in sense}


# -- polarity ------------------------------------------------------------------------------------------------

_NEGATIVE_EN = re.compile(
    r"\b(?:not|no|never|none|neither|nor|cannot|fail\w*|inferior|wrong|useless|unsafe|dead[- ]end|"
    r"dismiss\w*|reject\w*|against|scepti\w*|skepti\w*|doubt\w*|underperform\w*|worse|brittle|impossible|"
    r"incapable|unable|zero|avoidable|oppose[sd]?|opposing|non|lack\w*|instead|rather)\b|n't\b", re.I)
# Chinese negation is a word of its own in jieba's cut ("不", "没有"); inside a word it usually is not one
# ("不可避免" inevitable, "绕不开" unavoidable, "无监督" unsupervised name a thing, they do not deny it).
_NEGATIVE_ZH = set("不 没 没有 无 无法 未 非 别 不是 不能 不会 不要 从不 从未 并非 没见 失败 更差 反对 质疑".split())
_ZH_LEXICAL = re.compile(r"不可避免|绕不开|不止|不仅|不同|无论|非常|不断|不得不|无监督")
_ZH_CANNOT = re.compile(r".[不没].")  # a verb's "cannot" form, kept whole by jieba: 站不住, 做不到
_ZH_SPLIT = re.compile(r"(?<=是)(?=非)")  # jieba cuts "都是非生成式" as 是非 ("right and wrong") + 生成式
# Where a sentence's polarity can turn: a contrast, a clause of its own. Commas and "and" rarely turn it.
_SEGMENT = re.compile(r"[;；—–]|\s(?:but|while|whereas|although|though|because)\s|但是|但|而是|然而|却|因为"
                      r"|(?=\s(?:rather\s+than|instead\s+of)\s)|(?=而不是|而非)")


def _negative(text: str) -> bool:
    return any(Segment.of(text).negations)


_WORD_OR_PUNCT = re.compile(r"[A-Za-z][A-Za-z0-9']*(?:-[A-Za-z0-9]+)*|[\u3400-\u9fff]+|[,，:：?？]")


@dataclass(frozen=True)
class Segment:
    """A stretch of text polarity is judged on: its words in order, each as the stems it matches, whether it
    is a negation, and which comma-clause it is in."""

    words: tuple[frozenset[str], ...]
    negations: tuple[bool, ...]
    clauses: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Segment:
        words, negations, clauses, clause = [], [], [], 0
        for chunk in _WORD_OR_PUNCT.findall(_ZH_SPLIT.sub(" ", _ZH_LEXICAL.sub("词", text))):
            if chunk in ",，:：?？":
                clause += 1
                continue
            for word in jieba.lcut(chunk) if has_cjk(chunk) else [chunk]:
                if has_cjk(word):
                    words.append(frozenset({word, *(w for sense in gloss_stems(word) for w in sense)}))
                    negations.append(word in _NEGATIVE_ZH or bool(_ZH_CANNOT.fullmatch(word)))
                else:  # a hyphenated word is also its parts: "AI-for-science", "non-generative"
                    parts = word.split("-")
                    words.append(frozenset({_stem(word), *map(_stem, parts)}))
                    negations.append(any(_NEGATIVE_EN.fullmatch(p) for p in parts) or word.lower().endswith("n't"))
                clauses.append(clause)
        return cls(tuple(words), tuple(negations), tuple(clauses))

    def negated(self, words: list[str]) -> bool:
        """Whether a negation sits where `words` are: among them, just before ("not a path") or just after, in
        their predicate ("the generative ones have been failures"), without leaving their clauses."""
        places = [i for i, stems in enumerate(self.words) if any(_found_in(w, stems) for w in words)]
        first, last = min(places), max(places)
        span = range(max(0, first - BEFORE_WORDS), min(len(self.words), last + 1 + AFTER_WORDS))
        clauses = {self.clauses[i] for i in places}  # "wanted oversight, Mountain View wasn't providing it, and ..."
        return any(self.negations[i] for i in span if self.clauses[i] in clauses)


# -- the checker -----------------------------------------------------------------------------------------


class ClaimChecker:
    """Decides whether one answer sentence's content is in one source text.

    `people` lets a name be found by any alias ("LeCun" in a chapter that says "Yann"); `embedder`
    (store.embedder.E5Embedding) is the second witness for sentences whose words are mostly there.
    """

    def __init__(self, people: PeopleIndex | None = None, embedder=None):
        self.people = people
        self.embedder = embedder

    def check(self, sentence: str, source: str) -> Verdict:
        if instruction(sentence):
            return Verdict(False, "instruction")
        ev = evidence(source)
        missing = next(self._missing_hard(sentence, ev), None)
        if missing:
            return Verdict(False, missing)
        words = self._content(sentence)
        # "Yes." supports nothing on its own, nor does one Latin word: "PWNED [1]" passed as the echo of a
        # hostile chapter that says it. A single Chinese compound is a claim ("不可避免"), an English word is not.
        if not words or (len(words) < 2 and not has_cjk(sentence)):
            return Verdict(False, "no content")
        coverage = self._coverage(words, ev)
        if self._contradicts(sentence, ev):
            return Verdict(False, "contradicts", coverage)
        cross = detect_language(sentence) != ev.language
        accept, witness = (CROSS_ACCEPT, CROSS_WITNESS) if cross else (ACCEPT, WITNESS)
        if coverage >= accept:
            return Verdict(True, "", coverage)
        if coverage >= witness and self._similar(sentence, ev, CROSS_SIMILARITY if cross else SIMILARITY):
            return Verdict(True, "", coverage)
        return Verdict(False, f"words {coverage:.2f}", coverage)

    def supports(self, sentence: str, source: str) -> bool:
        return self.check(sentence, source).supported

    def coverage(self, sentence: str, text: str) -> float:
        """Share of the sentence's content words that `text` has, whatever else the check would say."""
        words = self._content(sentence)
        return self._coverage(words, evidence(text)) if words else 0.0

    def _coverage(self, words: list[str], ev: Evidence) -> float:
        return sum(self._found(w, ev) for w in words) / len(words)

    # -- hard content --

    def _missing_hard(self, sentence: str, ev: Evidence):
        """Reasons the sentence is unsupported outright: each number, link, quote or name not in the source."""
        for url in _URL.findall(sentence):
            if url.lower().rstrip("/.") not in ev.text:
                yield f"link {url}"
        for value in numbers(sentence) - ev.numbers:
            yield f"number {value:g}"
        for groups in _QUOTED.findall(sentence):
            quote = groups[0] or groups[1]
            if not has_cjk(quote) or ev.language == "zh":  # a translated quote is checked as words instead
                missing = [w for w in _stems(quote) if w not in ev.stems and not self._person_in(w, ev)]
                if missing:
                    yield f"quote {quote!r}"
        for term in self._terms(sentence):
            if not self._term_in(term, ev):
                yield f"name {term}"
        for word in self._other_names(sentence):
            if not self._found(word, ev):
                yield f"name {word}"
        for word in self._content(sentence):
            if word in _STANCE and not self._found(word, ev):
                yield f"stance {word}"
        if _FAVOURITE.search(sentence) and not _FAVOURITE.search(ev.text):
            yield "stance favourite"

    def _terms(self, sentence: str) -> list[str]:
        """Names and terms: capitalised words past the first (English), every Latin word (Chinese), people by alias."""
        terms = []
        chinese = has_cjk(sentence) and detect_language(sentence) == "zh"
        text = _URL.sub(" ", sentence)
        for match in _LATIN.finditer(text):
            word = re.sub(r"['’]s$", "", match.group())
            first = not text[: match.start()].strip(" \"“'(")
            if chinese or (word[0].isupper() and not first and word.lower() not in _CAPITALISED_STOPWORDS):
                terms.append(word)
        if chinese and self.people:
            terms += [p.name for p in self.people.mentioned_in(sentence)]
        return terms

    def _other_names(self, sentence: str) -> list[str]:
        """Chinese names the alias files do not know but the dictionary does ("约翰逊": Johnson), to find by gloss.

        jieba tags many non-names as names ("拉进来"); those have no gloss, and count as ordinary words.
        """
        known = {s for p in self.people.mentioned_in(sentence) for s in [p.name, *p.aliases]} if self.people else set()
        import jieba.posseg  # here, not at the top: its dictionary takes 0.8 s to load, and `laidub search` needs none

        return [t.word for t in jieba.posseg.cut(sentence) if t.flag.startswith("nr") and has_cjk(t.word)
                and len(t.word) > 1 and glosses(t.word) and not any(t.word in k or k in t.word for k in known)]

    def _term_in(self, term: str, ev: Evidence) -> bool:
        lowered = term.lower()
        if re.search(rf"(?<![a-z0-9]){re.escape(lowered)}", ev.text) or _stem(term) in ev.stems:
            return True
        return self._person_in(lowered, ev)

    def _person_in(self, word: str, ev: Evidence) -> bool:
        """Whether `word` names a person some spelling of whom the source uses ("LeCun" for a source saying "Yann")."""
        person = self.people.resolve(word) if self.people else None
        if person is None and self.people:
            person = next((p for p in self.people.people if word.lower() in
                           {part.lower() for n in [p.name, *p.aliases] for part in n.split()}), None)
        if person is None:
            return False
        spellings = [person.name, *person.aliases, *person.name.split()]
        return any((s in ev.text) if has_cjk(s) else re.search(rf"(?<![a-z]){re.escape(s.lower())}(?![a-z])", ev.text)
                   for s in spellings if len(s) > 2)

    # -- key words --

    def _content(self, sentence: str) -> list[str]:
        """The sentence's content words: English stems and Chinese words, without names' reporting verbs."""
        text = _CN_RUN.sub(" ", _DIGITS.sub(" ", _URL.sub(" ", sentence)))  # numbers are checked on their own
        if self.people:
            text = self.people.without_names(text)
        # A single Chinese character is a particle or a measure word far more often than a claim ("到", "轮").
        words = [w for w in compounds(_words(text)) if len(w) > 1]
        return [w for w in dict.fromkeys(words) if w not in _REPORTING]

    def _found(self, word: str, ev: Evidence) -> bool:
        return _found_in(word, ev.stems) or (has_cjk(word) and word in ev.text)

    def _contradicts(self, sentence: str, ev: Evidence) -> bool:
        """A part of the sentence that negates what the source part sharing most of its words affirms, or the reverse.

        Polarity is judged where the shared words are, on both sides: a sentence or a source goes on past the
        claim ("... only governments can solve, because no single lab's restraint can bind the others").
        """
        for part in _SEGMENT.split(sentence):
            words = [w for w in self._content(part or "") if not _NEGATIVE_EN.fullmatch(w) and w not in _NEGATIVE_ZH]
            if len(words) < 2:
                continue
            claim = Segment.of(part)
            matches = []
            for segment in ev.segments:
                shared = [w for w in words if any(_found_in(w, stems) for stems in segment.words)]
                mine = [w for w in shared if any(_found_in(w, stems) for stems in claim.words)]
                if len(shared) >= 2 and mine:
                    matches.append((len(shared), segment.negated(shared) != claim.negated(mine)))
            most = max((count for count, _ in matches), default=0)
            if matches and all(differs for count, differs in matches if count == most):
                return True
        return False

    def _similar(self, sentence: str, ev: Evidence, floor: float) -> bool:
        if self.embedder is None or not ev.sentences:
            return False
        scores = self.embedder.passages(ev.sentences) @ self.embedder.query(sentence)
        return float(np.max(scores)) >= floor


def _found_in(word: str, stems: set[str]) -> bool:
    """Whether a content word (an English stem or a Chinese word) is among a text's stems."""
    if word in stems or (word.endswith("s") and word[:-1] in stems):  # "vlas": the stemmer keeps short plurals
        return True
    if not has_cjk(word):
        return False
    # A Chinese word counts when at least half of one of its English senses is there ("家人": family member),
    # a gloss's base form matching as a prefix ("失败": fail, in "failures"); a word jieba keeps whole that
    # the dictionary does not know ("普遍认为") counts when all of its parts are found.
    senses = gloss_stems(word)
    for sense in senses:
        hits = sum(any(s.startswith(w) or (len(s) > 4 and w.startswith(s)) for s in stems) if len(w) > 3 else w in stems
                   for w in sense)  # "mistaken" finds "mistak", "fail" finds "failur"
        if hits * 2 >= len(sense):
            return True
    parts = [p for p in jieba.lcut_for_search(word) if p != word and len(p) > 1]
    return not senses and bool(parts) and all(_found_in(p, stems) for p in parts)


def evidence_text(episode: Episode, chapter: Chapter | None, text: str = "") -> str:
    """What a citation vouches for: who speaks in the episode, the chapter's title, its body (or `text`,
    what of it the model was shown) and its quote; a transcript segment's `text` when there is no chapter."""
    speakers = ", ".join([*episode.guests, episode.host] if episode.host else episode.guests)
    if chapter is None:
        return f"{episode.title}. {speakers}. {text}"
    quote = chapter.quote.text if chapter.quote else ""
    return f"{episode.title}. {speakers}. {chapter.title}. {text or chapter.body}\n{quote}"


__all__ = ["ClaimChecker", "Verdict", "evidence_text", "instruction", "numbers"]
