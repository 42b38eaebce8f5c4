"""The base layer's exception tree: every error the clock or the config loader raises derives from
:class:`BaseLayerError`."""

from __future__ import annotations


class BaseLayerError(Exception):
    """Base class of every error raised by the base layer (clock, config loader)."""


class ConfigError(BaseLayerError, ValueError):
    """A configuration file is wrong; the message says where, what was expected and what was found."""

    def __init__(
        self, source: str, key: str, expected: str, found: str, line: int | None = None, column: int | None = None
    ) -> None:
        place = source if line is None else f"{source}:{line}" + ("" if column is None else f":{column}")
        where = f"{place}: {key}" if key else place
        super().__init__(f"{where}: expected {expected}, found {found}")
        self.line = line  # 1-based line (and column) of the problem in the file, when known
        self.column = column
        self.source = source
        self.key = key
        self.expected = expected
        self.found = found
