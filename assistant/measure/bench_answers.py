"""`laidub bench --answers`: how fast answering is with the real model.

- Per question, the Assistant's own timings (retrieve, first token, total) with the system
  prompt's KV cache reused, as users get it; then first-token time with reuse switched off.
- Our pipeline against raw llama-cpp-python on the same prompt tokens (a second Llama on the
  same GGUF, same sampling): first token, tokens/s, and our overhead on the whole call.
- Two-person comparisons through the Assistant: first row and total.
- A cold `laidub ask` process, as a user starts it: seconds from spawning it to the first answer
  byte on its stdout (imports, model load, the saved system-prompt state, retrieval included).
- `headline`: the issue's targets side by side. In `laidub serve` the model is loaded and warmed
  once, so its first token is the in-process one with prefix reuse.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from llama_cpp import Llama

from assistant.answer import Assistant
from assistant.config import Settings
from assistant.llm.local import FLASH_ATTN, N_BATCH, REPEAT_PENALTY, LocalLLM
from assistant.measure.evaluate import percentiles, read_questions

RAW_QUESTIONS = 3  # raw-vs-ours runs: enough for a stable ratio, each costs two generations
COLD_RUNS = 3  # each starts a process that loads the model
COMPARE_QUESTIONS = (
    "How do Yann LeCun and Oriol Vinyals differ on world models?",
    "在强化学习上，David Silver 和 Oriol Vinyals 的观点有什么不同？",
    "What do Yann LeCun and Demis Hassabis each think about AI safety?",
    "杨立昆和维尼亚尔斯各自怎么看机器人？",
)


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
    report["compare"] = _compare_timings(assistant, progress)
    report["cold_ask"] = _cold_ask(assistant.settings, questions[:COLD_RUNS], progress)
    report["headline"] = {
        "cold_ask_first_token_s_p50": report["cold_ask"]["first_token_s"]["p50"],
        "serve_first_token_ms_p50": reused["first_token"]["p50"],
        "answer_total_ms_p50": reused["total"]["p50"],
        "compare_total_ms_p50": report["compare"]["total"]["p50"],
    }
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


def _compare_timings(assistant: Assistant, progress) -> dict:
    collected: dict[str, list[float]] = {"first_token": [], "total": []}
    for n, question in enumerate(COMPARE_QUESTIONS, 1):
        progress(f"compare {n}/{len(COMPARE_QUESTIONS)}")
        timings = assistant.compare(question).timings_ms
        for key, values in collected.items():
            values.append(timings[key])
    return {key: percentiles(values) for key, values in collected.items()}


def _cold_ask(settings: Settings, questions: list[str], progress) -> dict:
    """`laidub ask` in new processes (this environment, so the same data and cache dirs): time to the first byte."""
    first, total = [], []
    for n, question in enumerate(questions, 1):
        progress(f"cold laidub ask {n}/{len(questions)}")
        command = [sys.executable, "-c", "from assistant.cli import main; main()", "ask", question]
        started = time.perf_counter()
        with subprocess.Popen(command + (["--fast"] if settings.fast else []), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as process:  # fmt: skip
            process.stdout.read(1)  # the CLI flushes each streamed piece
            first.append(time.perf_counter() - started)
            process.stdout.read()
        total.append(time.perf_counter() - started)
    return {"first_token_s": percentiles(first), "total_s": percentiles(total)}


def _raw_comparison(assistant: Assistant, llm: LocalLLM, questions: list[str], progress) -> dict:
    raw = Llama(model_path=str(llm.model_path), n_ctx=llm.n_ctx, n_batch=N_BATCH, flash_attn=FLASH_ATTN,
                n_threads=assistant.settings.threads,
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
