"""The web app's HTTP API as an attacker drives it: raw requests to a real `laidub serve`, no browser.

No model is needed (the LLM URL is a closed port, so the assistant fails to start while the library
opens): what is tested is what the server reads, copies, ingests and says back. An event is called
the way any client can: POST /gradio_api/call/NAME, then GET its event stream.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from test_app_api import LECUN, START_SECONDS, running_app

CLOSED_PORT_URL = "http://127.0.0.1:9"
SECRET_KEY, SECRET_VALUE = "db_password_field", "hunter2-hunter2"


@dataclass
class Served:
    url: str
    data_dir: Path

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"


@pytest.fixture(scope="module")
def served(make_env: Callable, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("attack")
    env = make_env(home / "data", LAIDUB_LLM_URL=CLOSED_PORT_URL)
    with running_app(env, home / "serve.log") as (url, _):
        # The page is served at once; an episode page waits for the library (and the first run's seeds).
        assert httpx.get(f"{url}/episode/{LECUN}", timeout=START_SECONDS).status_code == 200
        yield Served(url, home / "data")


def call(url: str, api_name: str, data: list) -> tuple[str, str]:
    """Run an event through the public API: its last event's name (complete or error) and data."""
    posted = httpx.post(f"{url}/gradio_api/call/{api_name}", json={"data": data}, timeout=30)
    posted.raise_for_status()
    stream = httpx.get(f"{url}/gradio_api/call/{api_name}/{posted.json()['event_id']}", timeout=120)
    return re.findall(r"^event: (\w+)\ndata: (.*)$", stream.text, re.MULTILINE)[-1]


def file_data(path: Path | str) -> dict:
    return {"path": str(path), "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}


def episode(episode_id: str) -> dict:
    chapter = {"start": 0, "end": 60, "title": "Intro", "body": "A chapter about world models."}
    return {"id": episode_id, "title": f"Episode {episode_id}", "duration": 60, "chapters": [chapter]}


def files_named(folder: Path, names: set[str]) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name in names] if folder.is_dir() else []


def test_an_event_naming_a_server_file_is_refused_and_nothing_is_read_or_copied(served: Served, tmp_path: Path):
    tag = uuid.uuid4().hex[:8]
    outside = tmp_path / f"outside-{tag}.json"  # a valid episode the server can read
    outside.write_text(json.dumps(episode(f"outside-{tag}")), encoding="utf-8")
    secret = tmp_path / f"secret-{tag}.json"  # not an episode: the parser's error would quote its keys
    secret.write_text(json.dumps({SECRET_KEY: SECRET_VALUE}), encoding="utf-8")
    missing = tmp_path / f"missing-{tag}.json"
    chroma = served.data_dir / "chroma" / "chroma.sqlite3"
    assert chroma.is_file()
    errors = {}
    for path in (outside, secret, missing, chroma, Path("/etc/hostname")):
        event, payload = call(served.url, "add_episodes", [[file_data(path)], "", "en"])
        assert event == "error", payload[:300]
        errors[path] = payload.replace(str(path), "PATH")
    # One message for every path: nothing of a file's content, nor even whether it exists.
    assert len(set(errors.values())) == 1, errors
    message = next(iter(errors.values()))
    assert "not uploaded" in message
    for leak in (SECRET_KEY, SECRET_VALUE, "SQLite", "No such file", "no such file", "Invalid file type"):
        assert leak not in message
    assert httpx.get(f"{served.url}/episode/outside-{tag}").status_code == 404, "the outside episode was ingested"
    names = {outside.name, secret.name, missing.name}
    assert not files_named(Path(tempfile.gettempdir()) / "gradio", names), "copied to Gradio's default cache"
    assert not [p for p in served.uploads.rglob("*") if p.is_file()], "copied to the upload folder"


def test_a_chat_message_naming_a_server_file_is_refused(served: Served, tmp_path: Path):
    target = tmp_path / f"private-{uuid.uuid4().hex[:8]}.txt"
    target.write_text("private notes", encoding="utf-8")
    chatbot = [{"role": "user", "content": [{"type": "file", "file": file_data(target)}]}]
    event, payload = call(served.url, "answer", [chatbot, [], [], "auto", False, "en"])
    assert event == "error" and "not uploaded" in payload, payload[:300]
    assert "private notes" not in payload and "/gradio_api/file=" not in payload
    assert not files_named(Path(tempfile.gettempdir()) / "gradio", {target.name})
    assert not files_named(served.uploads, {target.name})


def test_an_upload_lands_in_a_private_folder_and_is_deleted_once_ingested(served: Served, tmp_path: Path):
    tag = uuid.uuid4().hex[:8]
    mine = tmp_path / f"mine-{tag}.json"
    mine.write_text(json.dumps(episode(f"mine-{tag}")), encoding="utf-8")
    with mine.open("rb") as handle:
        uploaded = httpx.post(f"{served.url}/gradio_api/upload", files={"files": (mine.name, handle)}, timeout=30)
    (stored,) = map(Path, uploaded.json())
    assert stored.is_relative_to(served.uploads) and stored.is_file()
    assert served.uploads.stat().st_mode & 0o777 == 0o700
    event, payload = call(served.url, "add_episodes", [[file_data(stored)], "", "en"])
    assert event == "complete" and "Added to the library" in payload, payload[:300]
    assert httpx.get(f"{served.url}/episode/mine-{tag}").status_code == 200
    assert not stored.exists() and not stored.parent.exists(), "the upload was kept after ingest"


@pytest.mark.parametrize("route", ["/monitoring/summary", "/openapi.json"])
def test_monitoring_and_the_route_schema_are_not_served(served: Served, route: str):
    assert httpx.get(f"{served.url}{route}").status_code in (403, 404)
