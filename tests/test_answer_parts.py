"""The answer pipeline's decisions one at a time: the citation check, the refusal decision, follow-up rewriting.

They run on the real seed library (e5 from the shared cache); the model is scripted, so each test
knows exactly what text the decision was given.
"""

from __future__ import annotations

import pytest
from conftest import ScriptedLLM

from assistant.citations import Support, verify
from assistant.claims import ClaimChecker
from assistant.config import REPO
from assistant.context import pack
from assistant.followup import Turn, standalone
from assistant.prompts import Prompts
from assistant.refusal import about_the_people_asked, covered
from store.library import Library

WHY_LEFT = "Why did Yann LeCun leave Meta?"


@pytest.fixture(scope="module")
def library(seed_library: Library) -> Library:
    return seed_library


@pytest.fixture(scope="module")
def sources(library: Library):
    """The sources packed for WHY_LEFT, with room for several (the default budget usually fits one)."""
    found = pack(WHY_LEFT, library.search(WHY_LEFT), library, Prompts(REPO / "prompts"), ScriptedLLM().count_tokens,
                 budget=1000)
    assert found[0].chapter.title == "Why Yann Left Meta" and len(found) > 1
    return found


# -- the citation check ---------------------------------------------------------------------


def check(text: str, sources, library: Library):
    return verify(text, Support(sources, ClaimChecker(library.people, library.index.embedder)))


def test_a_supported_sentence_keeps_a_citation_of_its_chapter(sources, library: Library):
    text, citations = check("Yann says he had zero technical influence on Llama [1].", sources, library)
    assert text == "Yann says he had zero technical influence on Llama [1]."
    assert [(c.marker, c.title, c.start) for c in citations] == [(1, "Why Yann Left Meta", "58:00")]


def test_an_invented_marker_is_replaced_by_the_supporting_source(sources, library: Library):
    text, citations = check("Yann says he had zero technical influence on Llama [7].", sources, library)
    assert text.endswith("[1].") and citations[0].title == "Why Yann Left Meta"


def test_a_sentence_no_source_supports_is_not_shown(sources, library: Library):
    text, citations = check("Bananas grow best in the humid lowlands of Ecuador [1]. Yann says he had zero technical "
                            "influence on Llama [1].", sources, library)
    assert text == "Yann says he had zero technical influence on Llama [1]." and len(citations) == 1


def test_markers_are_renumbered_in_order_of_first_use(sources, library: Library):
    reflections = next(s for s in sources if s.chapter.title == "Reflections on FAIR")
    text, citations = check(
        f"Yann joined Facebook in late 2013 and ran FAIR for four and a half years [{reflections.number}]. "
        "He says he had zero technical influence on Llama [1].", sources, library)
    assert [c.title for c in citations] == ["Reflections on FAIR", "Why Yann Left Meta"]
    assert "[1]." in text.split(". ")[0] + "." and text.endswith("[2].")


def test_an_abbreviation_keeps_the_sentence_and_its_marker_whole(sources, library: Library):
    sentence = "Yann says he had zero technical influence on Llama, e.g. none on its training, vs. FAIR's research [1]."
    text, citations = check(sentence, sources, library)
    assert text == sentence and [c.title for c in citations] == ["Why Yann Left Meta"]


# -- the refusal decision ------------------------------------------------------------------


def test_a_question_the_chapters_speak_to_is_covered(library: Library):
    assert covered(WHY_LEFT, library.search(WHY_LEFT), library)
    assert covered("杨立昆为什么离开Meta？", library.search("杨立昆为什么离开Meta？"), library)


def test_a_topic_no_chapter_mentions_is_not_covered(library: Library):
    question = "What did Demis Hassabis say about quantum computing?"
    assert not covered(question, library.search(question), library)


@pytest.mark.parametrize("question", [WHY_LEFT, "杨立昆为什么离开Meta？", "Why did Elon Musk start calling Demis an evil genius?"])
def test_a_question_about_someone_keeps_the_chapters_about_them(library: Library, question: str):
    kept = about_the_people_asked(question, library.search(question), library)
    assert kept and covered(question, kept, library)


@pytest.mark.parametrize("question", ["What is David Silver's opinion of JEPA?", "辛顿在访谈中如何评价JEPA？"])
def test_a_view_nobody_reported_for_that_person_is_not_covered(library: Library, question: str):
    """Silver's and Hinton's names occur in the library, JEPA too, but never together: LeCun's JEPA chapters
    cover the topic, and none of them speaks for the person asked about."""
    hits = library.search(question)
    assert covered(question, hits, library)
    assert not covered(question, about_the_people_asked(question, hits, library), library)


def test_a_question_naming_nobody_keeps_every_hit(library: Library):
    hits = library.search("How does the JEPA architecture work?")
    assert about_the_people_asked("How does the JEPA architecture work?", hits, library) == hits


def test_nothing_retrieved_is_never_covered(library: Library):
    assert not covered(WHY_LEFT, [], library)


@pytest.mark.parametrize(
    "question",
    [
        f"{WHY_LEFT} (session 0)", f"{WHY_LEFT} (asked twice)", f"{WHY_LEFT} please", f"Please: {WHY_LEFT} Thanks!",
        f"In short, {WHY_LEFT[0].lower()}{WHY_LEFT[1:]}", f"Briefly: {WHY_LEFT} [again]",
        "杨立昆为什么离开Meta？（第0场）", "请问杨立昆为什么离开Meta？谢谢", "简单说说杨立昆为什么离开Meta？", "杨立昆为什么离开Meta？（再问一次）",
    ],
)
def test_a_harmless_extra_word_does_not_flip_the_decision(library: Library, question: str):
    assert covered(question, library.search(question), library)


@pytest.mark.parametrize("aside", ["(session 0)", "please", "（第0场）"])
def test_a_harmless_extra_word_does_not_make_an_uncovered_topic_covered(library: Library, aside: str):
    question = f"What did Demis Hassabis say about quantum? {aside}"
    assert not covered(question, library.search(question), library)


def test_a_question_without_topic_words_is_covered_only_when_it_names_someone(library: Library):
    assert covered("Who is Reid Hoffman?", library.search("Who is Reid Hoffman?"), library)
    for question in ["🤖🔥💥🧠", "???", "💡 ✨"]:
        assert not covered(question, library.search(question), library), question


def test_a_follow_up_carrying_its_earlier_question_is_judged_by_it(library: Library):
    question = "And why? (How does Yann LeCun define a world model?)"
    assert covered(question, library.search(question), library)


# -- follow-up rewriting -------------------------------------------------------------------

HISTORY = [Turn("How does Yann LeCun define a world model?", "A model that predicts the consequences of actions [1].")]


def test_a_first_question_or_a_self_contained_one_is_not_rewritten():
    llm, prompts = ScriptedLLM("should not be used"), Prompts(REPO / "prompts")
    assert standalone(llm, prompts, [], "And why?") == "And why?"
    assert standalone(llm, prompts, HISTORY, "Where did Demis Hassabis found DeepMind, and when?") == (
        "Where did Demis Hassabis found DeepMind, and when?")
    assert llm.prompts == []


def test_a_follow_up_is_rewritten_from_the_last_turns():
    llm = ScriptedLLM("How does Oriol Vinyals define a world model?")
    rewritten = standalone(llm, Prompts(REPO / "prompts"), HISTORY, "And what does Oriol think?")
    assert rewritten == "How does Oriol Vinyals define a world model?"
    assert HISTORY[0].question in llm.prompts[0] and "And what does Oriol think?" in llm.prompts[0]


def test_a_rambling_rewrite_falls_back_to_the_users_words_with_context():
    llm = ScriptedLLM("word " * 200)
    rewritten = standalone(llm, Prompts(REPO / "prompts"), HISTORY, "他为什么这么想？")
    assert rewritten == f"他为什么这么想？ ({HISTORY[0].question})"
