"""Settings that cannot work are one-line SettingsErrors naming the variable, before anything starts; so is a
chat template file that cannot render a prompt."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from llama_cpp.llama_chat_format import CHATML_CHAT_TEMPLATE

from assistant.config import Settings
from assistant.llm.local import _chat_template
from store.errors import SettingsError

MODEL = Path("model.gguf")


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("LAIDUB_N_CTX", "abc", "must be a whole number"),
        ("LAIDUB_N_CTX", "64", "must be 512 or more"),
        ("LAIDUB_CONTEXT_TOKENS", "-5", "must be 50 or more"),
        ("LAIDUB_MAX_ANSWER_TOKENS", "0", "must be 16 or more"),
        ("LAIDUB_MAX_QUESTION_CHARS", "1e3", "must be a whole number"),
        ("LAIDUB_PORT", "99999", "must be between 1 and 65535"),
    ],
)
def test_a_setting_that_cannot_work_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                                        reason: str):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env()
    assert str(caught.value) == f"{variable}={value!r}: {reason}"


def test_the_cli_reports_a_bad_setting_as_one_json_error(make_env: Callable, data_dir: Path, cli: Callable):
    result = cli(make_env(data_dir, LAIDUB_N_CTX="abc"), "search", "world models", "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {"error": "LAIDUB_N_CTX='abc': must be a whole number"}


def template_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "template.jinja"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_template_file_that_renders_the_messages_is_used(tmp_path: Path):
    template, origin = _chat_template({}, template_file(tmp_path, CHATML_CHAT_TEMPLATE), MODEL)
    assert template == CHATML_CHAT_TEMPLATE and origin.startswith("the template file")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "never uses `messages`"),
        ("{% for m in messages %}{{ m.content }}", "not a Jinja template (line 1: "),
    ],
)
def test_a_template_file_that_cannot_render_the_messages_is_refused(tmp_path: Path, text: str, problem: str):
    path = template_file(tmp_path, text)
    with pytest.raises(SettingsError, match=rf"^LAIDUB_CHAT_FORMAT='{path}': .*{re.escape(problem)}"):
        _chat_template({}, path, MODEL)
