"""`laidub bench --answers`: how fast answering is with the real model.

- Per question, the Assistant's own timings (retrieve, first token, total) with the system
  prompt's KV cache reused, as users get it; then first-token time with reuse switched off.
- Our pipeline against raw llama-cpp-python on the same prompt tokens (a second Llama on the
  same GGUF, same sampling): first token, tokens/s, and our overhead on the whole call.
"""

from __future__ import annotations

import time
from pathlib import Path

from llama_cpp import Llama

from assistant.answer import Assistant
from assistant.llm.local import N_BATCH, REPEAT_PENALTY, LocalLLM
from assistant.measure.evaluate import percentiles, read_questions

RAW_QUESTIONS = 3  # raw-vs-ours runs: enough for a stable ratio, each costs two generations


def load_questions(path: Path | None, fallback: tuple[str, ...]) -> list[str]:
    if path is None:
        return list(fallback)
    return [row["question"] for _, row in read_questions(path)]


def bench_answers(assistant: Assistant, questions: list[str], progress) -> dict:
    llm = assistant.llm
    reused = _timings(assistant, questions, progress, "prefix reuse on")
    report = {"model": llm.name, "questions": len(questions), "with_prefix_reuse": reused}
    if isinstance(llm, LocalLLM):
        llm.reuse_prefix = False
        report["without_prefix_reuse"] = _timings(assistant, questions, progress, "prefix reuse off")
        llm.reuse_prefix = True
        report["raw_llama_cpp"] = _raw_comparison(assistant, llm, questions[:RAW_QUESTIONS], progress)
    return report


def _timings(assistant: Assistant, questions: list[str], progress, label: str) -> dict:
    collected: dict[str, list[float]] = {"retrieve": [], "first_token": [], "total": []}
    refused = 0
    for n, question in enumerate(questions, 1):
        progress(f"answers ({label}) {n}/{len(questions)}")
        answer = assistant.ask(question)
        refused += answer.refused
        for key, values in collected.items():
            if key in answer.timings_ms:
                values.append(answer.timings_ms[key])
    return {key: percentiles(values) for key, values in collected.items()} | {"refused": refused}


def _raw_comparison(assistant: Assistant, llm: LocalLLM, questions: list[str], progress) -> dict:
    raw = Llama(model_path=str(llm.model_path), n_ctx=llm.n_ctx, n_batch=N_BATCH, n_threads=assistant.settings.threads,
                n_threads_batch=assistant.settings.threads, verbose=False)
    max_tokens = assistant.settings.max_answer_tokens
    ours, theirs = [], []
    llm.reuse_prefix = False  # both sides evaluate the whole prompt
    for n, question in enumerate(questions, 1):
        progress(f"raw llama-cpp-python comparison {n}/{len(questions)}")
        _, messages = assistant.prompt(question, assistant.library.search(question), "en")
        ours.append(_measure(lambda: llm.stream(messages, max_tokens)))
        tokens = llm.prompt_tokens(messages)
        raw.reset()
        theirs.append(_measure(lambda: (c["choices"][0]["text"] for c in raw.create_completion(
            tokens, max_tokens=max_tokens, temperature=0.0, repeat_penalty=REPEAT_PENALTY, stream=True))))
    llm.reuse_prefix = True
    ours_s, theirs_s = sum(m["seconds"] for m in ours), sum(m["seconds"] for m in theirs)
    return {
        "ours": _summary(ours), "raw": _summary(theirs),
        "overhead_pct": round((ours_s / theirs_s - 1) * 100, 1) if theirs_s else None,
    }  # fmt: skip


def _measure(start_stream) -> dict:
    started = time.perf_counter()
    first, pieces = None, 0
    for piece in start_stream():
        if piece:
            first = first or time.perf_counter()
            pieces += 1
    done = time.perf_counter()
    generating = done - (first or done)
    return {"seconds": done - started, "first_token_ms": ((first or done) - started) * 1000,
            "pieces_per_s": pieces / generating if generating > 0 else 0.0}


def _summary(runs: list[dict]) -> dict:
    return {
        "first_token_ms": percentiles([r["first_token_ms"] for r in runs]),
        "tokens_per_s": round(sum(r["pieces_per_s"] for r in runs) / len(runs), 1) if runs else None,
    }
