"""The link's exception tree: every error the flight ↔ ground link raises derives from :class:`LinkError`.

Third-party errors (``zmq.ZMQError``, ``sqlite3.Error``, ``OSError``, msgpack's) are translated at the
boundary with ``raise ... from``.
"""

from __future__ import annotations


class LinkError(Exception):
    """Base class of every flight ↔ ground link error."""


class MalformedMessage(LinkError):
    """A received message is not one the wire schema defines (bad frames, msgpack, kind, field or size)."""


class EncodeError(LinkError):
    """A message to send cannot be encoded (a value msgpack cannot carry, or over the size limit)."""


class KeyFileError(LinkError):
    """A key directory or certificate is missing, unreadable, malformed or has unsafe permissions."""


class InsecureSetup(LinkError):
    """A socket was asked to run without the protection the link requires (CURVE without a ZAP
    authenticator in the same context, or plaintext without ``insecure=True``)."""


class SpoolError(LinkError):
    """The flight spool's SQLite file could not be opened, read or written."""
