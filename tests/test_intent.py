"""The kind of answer a question asks for, in English and Chinese, and the instruction line each kind picks."""

from __future__ import annotations

import pytest

from assistant.config import REPO
from assistant.intent import Kind, kind
from assistant.prompts import Prompts
from store.language import LANGUAGES


@pytest.mark.parametrize(("question", "expected"), [
    ("Why did Yann LeCun leave Meta?", Kind.REASON),
    ("What is Spark and why must agents be trained with the model?", Kind.REASON),
    ("杨立昆为什么离开Meta？", Kind.REASON),
    ("谷歌为何没有集中押注？", Kind.REASON),
    ("How does the JEPA architecture work?", Kind.MECHANISM),
    ("Oriol 认为怎样评估模型有没有学到物理？", Kind.MECHANISM),
    ("世界模型如何帮助机器人？", Kind.MECHANISM),
    ("Who is Reid Hoffman?", Kind.FACT),
    ("When did Yann join Facebook?", Kind.FACT),
    ("How many labs were racing?", Kind.FACT),
    ("杨立昆什么时候加入Facebook？", Kind.FACT),
    ("谁承诺了十亿美元？", Kind.FACT),
    ("Did Sebastian Mallaby think the AI race was inevitable?", Kind.VERDICT),
    ("Oriol, can AI truly innovate?", Kind.VERDICT),
    ("马拉比认为人工智能竞赛是不可避免的吗？", Kind.VERDICT),
    ("节目里有没有讨论过气候变化？", Kind.VERDICT),
    ("What does Demis Hassabis actually regret?", Kind.OPEN),
    ("How does Oriol see continual learning?", Kind.OPEN),  # a view, not a mechanism
    ("维尼亚尔斯怎么看持续学习？", Kind.OPEN),
    ("Oriol 如何定义世界模型？", Kind.OPEN),  # a definition
    ("杨立昆对机器人模型有什么批评？", Kind.OPEN),
])
def test_the_question_words_decide_the_kind(question: str, expected: Kind):
    assert kind(question) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_has_an_instruction_in_each_language(language: str):
    prompts = Prompts(REPO / "prompts")
    lines = {k: prompts.message(language, f"answer_{k.value}") for k in Kind}
    assert all(lines.values()) and len(set(lines.values())) == len(Kind)


def test_the_system_prompt_has_no_sentence_an_answer_could_copy():
    # "Yann LeCun left Meta in 2025 [1]." came back verbatim as the answer to "Why did Yann LeCun leave Meta?"
    system = Prompts(REPO / "prompts").fill("answer_system")
    assert not any(word in system for word in ("Meta", "LeCun", "Mallaby", "2025"))
