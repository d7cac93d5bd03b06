"""The episodes' audio: only the library's media dir is served, seeking works (Range), and the CLI prints where to hear a citation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_app_render import evil_citation, evil_settings  # noqa: F401 - the fixture

from assistant import render
from assistant.config import Settings
from assistant.results import Answer
from assistant.web import html as ui
from assistant.web.app import create_server, media_folder
from assistant.web.media import Media
from store.episode import Chapter, Episode, TranscriptSegment


@pytest.fixture
def media(tmp_path: Path) -> Media:
    folder = tmp_path / "media"
    folder.mkdir()
    (folder / "talk.wav").write_bytes(b"RIFF" + bytes(range(256)) * 4)
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    (folder / "link.wav").symlink_to(tmp_path / "secret.txt")
    return Media(folder)


def test_only_files_inside_the_media_dir_are_playable(media: Media, tmp_path: Path):
    assert media.src((media.folder / "talk.wav").as_uri() + "#t=30") == "/media/talk.wav"
    assert media.src("https://cdn.example.org/ep1.mp3#t=30") == "https://cdn.example.org/ep1.mp3"
    for uri in [(tmp_path / "secret.txt").as_uri(), (media.folder / "link.wav").as_uri(),
                (media.folder / ".." / "secret.txt").as_uri(), (media.folder / "missing.wav").as_uri(),
                "file://evil.example.org/etc/passwd", "javascript:alert(1)", "data:audio/wav;base64,AAAA", ""]:
        assert media.src(uri) == "", uri


def test_the_media_route_serves_the_dir_with_ranges_and_refuses_anything_else(evil_settings: Settings):  # noqa: F811
    folder = media_folder(evil_settings)
    folder.mkdir(exist_ok=True)
    (folder / "talk.wav").write_bytes(bytes(range(256)) * 4)
    outside = evil_settings.data_dir / "outside.wav"
    outside.write_bytes(b"not yours")
    (folder / "out.wav").unlink(missing_ok=True)
    (folder / "out.wav").symlink_to(outside)
    with TestClient(create_server(evil_settings)) as client:
        whole = client.get("/media/talk.wav")
        part = client.get("/media/talk.wav", headers={"Range": "bytes=256-511"})
        refused = [client.get(path).status_code for path in (
            "/media/out.wav", "/media/..%2Foutside.wav", "/media/%2E%2E/outside.wav", "/media//etc/passwd",
            "/media/missing.wav", "/media/", "/media/%2Fetc%2Fpasswd")]  # fmt: skip
        with_login = dataclasses.replace(evil_settings, auth="ann:secret")
    assert whole.status_code == 200 and whole.content == bytes(range(256)) * 4
    assert part.status_code == 206 and part.content == bytes(range(256))
    assert set(refused) == {404}, refused
    with TestClient(create_server(with_login)) as client:
        assert client.get("/media/talk.wav").status_code == 401
        assert client.get("/media/talk.wav", auth=("ann", "secret")).status_code == 200


def test_a_chip_for_an_episode_with_audio_carries_what_to_play(media: Media):
    citation = evil_citation()
    plain = ui.chip_html(citation, media=media)
    citation.media = (media.folder / "talk.wav").as_uri() + "#t=0"
    playable = ui.chip_html(citation, media=media)
    assert "data-media" not in plain
    assert 'data-media="/media/talk.wav" data-t="0"' in playable and "&lt;script&gt;" in playable
    citation.media = (media.folder / "link.wav").as_uri()  # points out of the dir: not played
    assert "data-media" not in ui.chip_html(citation, media=media)


def test_the_episode_page_has_audio_a_timeline_with_cited_moments_and_the_transcript(media: Media):
    episode = Episode(id="talk", title="Talk", duration=120, media_url=(media.folder / "talk.wav").as_uri(),
                      chapters=[Chapter(0, 60, "Hello <b>", "", generated=True), Chapter(60, 120, "Bye", "")],
                      transcript=[TranscriptSegment(0, 5, "Hi <script>x</script>", "Ann"),
                                  TranscriptSegment(5, 9, "Still Ann.", "Ann"), TranscriptSegment(65, 70, "Bye.", "Bo")])
    page, policy = ui.episode_page(episode, "talk", ui.Labels(ui.Prompts(Settings.from_env().prompts_dir), "en"),
                                   media, [65, 9999])  # fmt: skip
    assert '<audio id="player" controls preload="metadata" src="/media/talk.wav">' in page
    assert '<a class="tl-mark" href="#t=65" data-start="65"' in page and 'data-start="9999"' not in page
    assert 'class="tl-chapter auto" href="#t=0"' in page and page.count('class="ld-auto"') == 1
    assert page.count('<span class="speaker">Ann</span>') == 1 and '<span class="speaker">Bo</span>' in page
    assert '<li data-start="65"><a class="line-time" href="#t=65"' in page
    assert "&lt;script&gt;x" in page and "Hello &lt;b&gt;" in page
    assert "media-src 'self' http: https:" in policy


def test_the_cli_prints_where_to_hear_a_citation_and_marks_generated_chapters():
    citation = evil_citation()
    citation.media, citation.generated = "file:///data/media/talk.wav#t=30", True
    answer = Answer("q", "en", "It is so [1].", refused=False, citations=[citation])
    lines = render.answer_text(answer).splitlines()
    assert lines[-2].startswith("[1] ") and lines[-2].endswith("(generated)")
    assert lines[-1] == "    ▶ file:///data/media/talk.wav#t=30"
    assert render.chapter_text(Chapter(75, 90, "Topic", generated=True)) == "01:15  Topic (generated)"


def test_the_library_shows_a_feed_episodes_show_date_people_transcript_and_auto_chapters():
    labels = ui.Labels(ui.Prompts(Settings.from_env().prompts_dir), "en")
    feed = Episode(id="f", title="Feed item", show="The Show", published="2026-11-02T08:00:00Z", duration=600,
                   host="Ann <i>", guests=["Bo"], media_url="https://cdn.example.org/f.mp3",
                   chapters=[Chapter(0, 600, "Made", "", generated=True)],
                   transcript=[TranscriptSegment(0, 5, "Hi.")])  # fmt: skip
    bare = Episode(id="b", title="Bare", chapters=[Chapter(0, 60, "Given", "")])
    html = ui.library_html([feed, bare], labels)
    assert "The Show · 2026-11-02 · 10:00" in html
    assert '<span class="ld-pill">Ann &lt;i&gt;</span><span class="ld-pill">Bo</span>' in html
    assert "Transcript: 1 lines" in html and "No transcript" in html and ">Audio<" in html
    assert html.count('class="ld-auto"') == 1
