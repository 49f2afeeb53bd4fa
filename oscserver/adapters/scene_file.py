"""The scenes' file (``--scenes FILE``): kept across restarts, and written so a person can edit it.

JSON or TOML, by the name's ending (``.toml``: TOML, read with the standard library's tomllib
and written with tomli-w; anything else: JSON). One table of scenes by number, each with its
prompts by slot (text and weight) and its config (the settings by their protocol names, ``auto``
where the model decides), as :meth:`oscserver.core.scenes.Scene.to_data` gives them:

.. code-block:: toml

    [scenes.1.prompts.1]
    text = "deep house"
    weight = 1.0

    [scenes.1.config]
    bpm = 124
    density = "auto"

A file that does not exist yet is no scenes (it is made at the first store). Each write goes to
a temporary file first, then replaces the old one: a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from oscserver.core.addresses import SCENES
from oscserver.core.errors import OscInputError
from oscserver.core.scenes import Scene

__all__ = ["SceneFile", "SceneFileError"]


class SceneFileError(RuntimeError):
    """The scenes' file cannot be read: the message names the file and what is wrong."""


class SceneFile:
    """Reads and writes the scenes at ``path``.

    Args:
        path: The file (``.toml`` for TOML, else JSON).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.toml = self.path.suffix.lower() == ".toml"

    def load(self) -> dict[int, Scene]:
        """The scenes in the file (none when it does not exist yet).

        Raises:
            SceneFileError: The file cannot be read, is not JSON or TOML, or holds a value the
                address table refuses (the message says which scene and why).
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SceneFileError(f"{self.path}: cannot be read ({exc.strerror})") from None
        try:
            data: Any = tomllib.loads(text) if self.toml else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            kind = "TOML" if self.toml else "JSON"
            raise SceneFileError(f"{self.path}: not {kind} ({exc})") from None
        scenes = data.get("scenes", {}) if isinstance(data, dict) else None
        if not isinstance(scenes, dict):
            raise SceneFileError(f"{self.path}: a table of scenes by number is expected")
        out: dict[int, Scene] = {}
        for number, scene in scenes.items():
            if not (str(number).isdigit() and 1 <= int(number) <= SCENES):
                raise SceneFileError(f"{self.path}: scene {number!r}: scenes are 1 to {SCENES}")
            if not isinstance(scene, dict):
                raise SceneFileError(f"{self.path}: scene {number}: a table is expected")
            try:
                out[int(number)] = Scene.from_data(scene)
            except (OscInputError, ValueError) as exc:
                raise SceneFileError(f"{self.path}: scene {number}: {exc}") from None
        return out

    def save(self, scenes: dict[int, Scene]) -> None:
        """Write every scene, replacing the file whole.

        Raises:
            OSError: The file or its folder cannot be written.
        """
        data = {"scenes": {str(n): scenes[n].to_data() for n in sorted(scenes)}}
        text = tomli_w.dumps(data) if self.toml else json.dumps(data, indent=2) + "\n"
        folder = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
