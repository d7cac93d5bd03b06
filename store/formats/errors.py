"""The one error every parser raises, so callers can show the file and the problem."""

from pathlib import Path


class ParseError(ValueError):
    def __init__(self, path: str, problem: str):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


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
