"""The base layer's exception tree: every error the clock or the config loader raises derives from
:class:`BaseLayerError`."""

from __future__ import annotations


class BaseLayerError(Exception):
    """Base class of every error raised by the base layer (clock, config loader)."""


class ConfigError(BaseLayerError, ValueError):
    """A configuration file is wrong; the message says where, what was expected and what was found."""

    def __init__(self, source: str, key: str, expected: str, found: str) -> None:
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: expected {expected}, found {found}")
        self.source = source
        self.key = key
        self.expected = expected
        self.found = found
