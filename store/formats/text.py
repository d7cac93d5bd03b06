"""Reading a file as text, with a decode failure turned into a ParseError a user can act on."""

from pathlib import Path

from store.errors import ParseError


def read_text(path) -> str:
    """Read a file as UTF-8, turning a decode failure into a ParseError a user can act on."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ParseError(
            str(path),
            f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "re-save the file as UTF-8",
        ) from None
