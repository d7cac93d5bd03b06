"""Which language a piece of text is in: English or Chinese, the two LaiDub publishes.

Code-mixed text is the norm here ("Oriol 怎么看 memory?"), so a language-id model trained on
monolingual text is the wrong tool. One Chinese character carries about as much as one
English word, so we compare the two counts.
"""

import re

LANGUAGES = ("en", "zh")  # what LaiDub publishes, and what answers are written in
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """'zh' when Chinese characters outnumber Latin words, else 'en'."""
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= words else "en"


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
