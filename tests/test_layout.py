"""The shape of the code, checked: no import circle, no import back up a layer, backends loaded only when chosen,
and the README's configuration table made from the settings themselves."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from assistant.config import REPO, settings_table

PACKAGES = ("store", "assistant")
SURFACES = ("assistant.cli", "assistant.render", "assistant.web")  # what users touch; nothing below imports them


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every project module and the project modules it imports anywhere (inside functions too)."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            found = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names += [f"{node.module}.{a.name}" for a in node.names]  # `from assistant.llm import gguf`
                found |= {n for n in names if n.split(".")[0] in PACKAGES}
            graph[module_name(path)] = found
    return {m: {i for i in found if i in graph} for m, found in graph.items()}


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_no_import_circle():
    graph = imports()
    # A submodule importing its own package (assistant.llm.local -> assistant.llm) is how packages work.
    edges = {m: {i for i in found if not within(m, i)} for m, found in graph.items()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(module):] + [module]))
        if module not in done:
            for target in sorted(edges[module]):
                visit(target, [*path, module])
            done.add(module)

    for module in sorted(edges):
        visit(module, [])


def test_no_import_runs_back_up_a_layer():
    graph = imports()
    upward = [(m, i) for m, found in graph.items() for i in found if within(m, "store") and within(i, "assistant")]
    # Nothing below the surfaces (the answer pipeline, llm/, measure/) imports one; the web app never runs the CLI.
    surface = lambda module: any(within(module, s) for s in SURFACES)  # noqa: E731
    upward += [(m, i) for m, found in graph.items() for i in found if surface(i) and not surface(m)]
    upward += [(m, i) for m, found in graph.items() for i in found
               if within(m, "assistant.web") and within(i, "assistant.cli")]  # fmt: skip
    assert upward == []


def test_the_light_types_do_not_load_a_backend():
    code = ("import sys, assistant.llm, assistant.results, assistant.cli; "
            "print(sorted(m for m in ('llama_cpp', 'openai', 'gradio') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_the_readme_configuration_table_is_the_settings_table():
    assert settings_table() in (REPO / "README.md").read_text(encoding="utf-8")
