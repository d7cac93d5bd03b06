"""What kind of answer a question asks for, so the prompt can say what to state.

Told only "answer in 2 to 4 sentences", the 1.5B model answers "Why did Yann LeCun leave Meta?" with
when he left (measured: it copied the system prompt's example). A "why" wants the reasons, a "how"
the mechanism, a "who/when/where" the fact, a yes/no question the verdict and its reason. The kind
picks one instruction line from prompts/messages.toml (`answer_<kind>`), in the answer's language.

Detection is by the question's leading words, in English and Chinese. The first kind whose
pattern matches wins, so "How many ..." is a fact before it is a mechanism, and "怎么看" (what
does X think) is a view, not a "how".
"""

from __future__ import annotations

import re
from enum import Enum


class Kind(Enum):
    REASON = "reason"  # why
    MECHANISM = "mechanism"  # how it works, how it happened
    FACT = "fact"  # who, when, where, which, how many
    VERDICT = "verdict"  # yes/no: did, does, is, can, 吗, 是否
    OPEN = "open"  # what ..., tell me about ...: the main points


_WORD = r"(?:^|[\s,，:：(（])"  # an English keyword starts a clause (after names like "Oriol,")
_PATTERNS: list[tuple[Kind, re.Pattern]] = [
    (Kind.REASON, re.compile(rf"{_WORD}(?:why|how come|what (?:is|was|are|were) the reasons?)\b|为什么|为何|为啥|什么原因|原因是什么|何以", re.I)),
    (Kind.FACT, re.compile(
        rf"{_WORD}(?:who|whom|whose|when|where|which|what (?:year|date|day|time|company|country|name)|how (?:many|much|long|old|often|big))\b"
        r"|谁|什么时候|何时|哪一?年|哪里|哪儿|哪家|哪个|哪位|多少|多久|几[年月天个位]", re.I)),
    # A view ("How does X see Y?", "X 怎么看 Y?") or a definition ("如何定义"): what they say, not how something works.
    (Kind.OPEN, re.compile(
        rf"{_WORD}how\b[^?？]*\b(?:see|view|think|feel|differ|compare|define)\b|^\s*compare\b"
        r"|怎么看|如何看待?|怎样看|看法|观点|评价|(?:如何|怎么|怎样)定义", re.I)),
    (Kind.MECHANISM, re.compile(rf"{_WORD}how\b|如何|怎么|怎样|怎么样|通过什么|机制|原理", re.I)),
    (Kind.VERDICT, re.compile(
        r"^\s*(?:\S+\s*[,，:：]\s*)?(?:do|does|did|is|are|was|were|can|could|will|would|should|has|have|had)\b"
        r"|[吗嘛][？?]?\s*$|是否|是不是|能不能|会不会|有没有|可不可以", re.I)),
]


def kind(question: str) -> Kind:
    """The kind of answer `question` asks for; OPEN when no pattern says otherwise."""
    return next((k for k, pattern in _PATTERNS if pattern.search(question)), Kind.OPEN)
