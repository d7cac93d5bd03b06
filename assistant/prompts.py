"""Prompts live as files in prompts/; this fills their {placeholders}. No prompt text in code."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path


class Prompts:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def fill(self, name: str, **values) -> str:
        """`name`.md with placeholders filled; values may contain braces (str.format only parses the template)."""
        return _read(self.directory / f"{name}.md").format(**values).strip()

    def message(self, language: str, key: str, **values) -> str:
        table = _messages(self.directory / "messages.toml")
        return table.get(language, table["en"])[key].format(**values)


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _messages(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))
