"""A settings file a person can read and edit: JSON, or TOML when its name ends in ``.toml``.

Read with the standard library (json, tomllib) and written with json or tomli-w (the standard
library cannot write TOML). A write goes to a temporary file in the same folder first and then
replaces the old one, so a crash never leaves half a file. The scenes' file and the MIDI
mapping are kept this way.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

__all__ = ["DataFile", "DataFileError"]


class DataFileError(RuntimeError):
    """The file cannot be read: the message names it and says what is wrong."""


class DataFile:
    """Reads and writes one table of data at ``path``.

    Args:
        path: The file (``.toml`` for TOML, else JSON).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.toml = self.path.suffix.lower() == ".toml"

    def read(self) -> dict[str, Any] | None:
        """The file's table; None when the file does not exist yet.

        Raises:
            DataFileError: It cannot be read, or is not a table in JSON or TOML.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise DataFileError(f"{self.path}: cannot be read ({exc.strerror})") from None
        try:
            data: Any = tomllib.loads(text) if self.toml else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise DataFileError(
                f"{self.path}: not {'TOML' if self.toml else 'JSON'} ({exc})"
            ) from None
        if not isinstance(data, dict):
            raise DataFileError(f"{self.path}: a table is expected")
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file whole with ``data``.

        Raises:
            OSError: The file or its folder cannot be written.
        """
        text = tomli_w.dumps(data) if self.toml else json.dumps(data, indent=2) + "\n"
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
