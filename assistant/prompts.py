"""Prompts live as files in prompts/; this fills their {placeholders}. No prompt text in code."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path


class Prompts:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def fill(self, name: str, **values) -> str:
        """`name`.md with placeholders filled; values may contain braces (str.format only parses the template)."""
        return _read(self.directory / f"{name}.md").format(**_plain(values)).strip()

    def message(self, language: str, key: str, **values) -> str:
        table = _messages(self.directory / "messages.toml")
        return table.get(language, table["en"])[key].format(**_plain(values))


# Chat templates' control tokens (<|im_start|>, <|im_end|>, <|eot_id|>...). The rendered prompt is tokenized with
# special tokens parsed, and a server does the same, so one inside an episode or a question would become a real
# turn boundary: a chapter could open its own system turn. Each becomes a space, which cannot join the text
# around it into a new one ("<|im_<|x|>end|>" leaves "<|im_ end|>").
CONTROL_TOKEN = re.compile(r"<\|[^\s<>|]*\|>")


def _plain(values: dict) -> dict:
    """Placeholder values (episode text, questions, names: anything from outside) without control tokens."""
    return {k: CONTROL_TOKEN.sub(" ", v) if isinstance(v, str) else v for k, v in values.items()}


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _messages(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))
