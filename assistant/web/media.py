"""The episodes' audio in the browser: what an <audio> element may play, and the route that serves local files.

An episode's `media_url` is an enclosure's http(s) URL, played from where it is, or a `file://` URI
of audio the library copied into its own media dir (<data_dir>/media). Only files inside that dir are
ever served, at /media/NAME: a URI pointing elsewhere (an uploaded episode JSON can name any path)
plays nothing, and a request for a name that resolves outside it, by `..` or a link, is a 404, as is
a file that is not there. Starlette's FileResponse answers Range requests, which seeking needs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

ROUTE = "/media"


class Media:
    def __init__(self, folder: Path):
        self.folder = folder

    def src(self, media_url: str) -> str:
        """What the browser plays for an episode's media_url (its #t= fragment dropped); "" if nothing may be."""
        parts = urlsplit(media_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            return parts._replace(fragment="").geturl()
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            path = self.file(Path(unquote(parts.path)))
            if path:
                return f"{ROUTE}/{quote(path.relative_to(self.folder.resolve()).as_posix())}"
        return ""

    def file(self, path: Path) -> Path | None:
        """The file at `path` (relative to the media dir, or absolute), if it is a file inside the media dir."""
        try:
            resolved = (self.folder / path).resolve()
        except (OSError, ValueError):  # a loop of links, a NUL in the name
            return None
        return resolved if resolved.is_relative_to(self.folder.resolve()) and resolved.is_file() else None


def add_media_route(server: FastAPI, media: Media, dependencies: list) -> None:
    @server.get(ROUTE + "/{name:path}", dependencies=dependencies)
    def media_file(name: str) -> FileResponse:
        path = media.file(Path(name)) if name and not Path(name).is_absolute() else None
        if path is None:  # says nothing of what is there: outside the dir, missing, or a directory alike
            raise HTTPException(404)
        return FileResponse(path)
