"""Reading a file as text, with a size or decoding problem turned into a ParseError a user can act on."""

from pathlib import Path

from store.errors import ParseError
from store.formats.checks import MAX_FILE_BYTES


def read_text(path) -> str:
    """Read a file of at most MAX_FILE_BYTES as UTF-8."""
    with Path(path).open("rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)  # never more, whatever the file (or /dev/zero) holds
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(str(path), f"larger than the limit of {MAX_FILE_BYTES // 2**20} MiB per file")
    # A NUL byte is valid UTF-8 but in no text file: UTF-16 without a byte order mark holds one in every
    # other byte ("T\0i\0t\0..."), and without this check a transcript said its timing lines were wrong.
    nul = data.find(b"\0")
    if nul >= 0:
        problem = f"not UTF-8 text (a NUL byte at offset {nul}: UTF-16 or binary?); re-save the file as UTF-8"
        raise ParseError(str(path), problem)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ParseError(
            str(path),
            f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "re-save the file as UTF-8",
        ) from None
