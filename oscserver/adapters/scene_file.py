"""The scenes' file (``--scenes FILE``): kept across restarts, and written so a person can edit it.

JSON or TOML, by the name's ending (:mod:`oscserver.adapters.data_file`). One table of scenes by
number, each with its prompts by slot (text and weight) and its config (the settings by their
protocol names, ``auto`` where the model decides), as
:meth:`oscserver.core.scenes.Scene.to_data` gives them:

.. code-block:: toml

    [scenes.1.prompts.1]
    text = "deep house"
    weight = 1.0

    [scenes.1.config]
    bpm = 124
    density = "auto"

A file that does not exist yet is no scenes (it is made at the first store).
"""

from __future__ import annotations

from pathlib import Path

from oscserver.adapters.data_file import DataFile, DataFileError
from oscserver.core.addresses import SCENES
from oscserver.core.errors import OscInputError
from oscserver.core.scenes import Scene

__all__ = ["SceneFile", "SceneFileError"]

#: The scenes' file cannot be read (the message names the file, the scene and the value).
SceneFileError = DataFileError


class SceneFile:
    """Reads and writes the scenes at ``path``.

    Args:
        path: The file (``.toml`` for TOML, else JSON).
    """

    def __init__(self, path: str | Path) -> None:
        self._file = DataFile(path)
        self.path = self._file.path

    def load(self) -> dict[int, Scene]:
        """The scenes in the file (none when it does not exist yet).

        Raises:
            SceneFileError: The file cannot be read, is not JSON or TOML, or holds a value the
                address table refuses (the message says which scene and why).
        """
        data = self._file.read()
        if data is None:
            return {}
        scenes = data.get("scenes", {})
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
        self._file.write({"scenes": {str(n): scenes[n].to_data() for n in sorted(scenes)}})
