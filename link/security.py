"""Securing the link's sockets: CURVE plus a ZAP authenticator in the same ``zmq.Context``.

A CURVE server socket with no ZAP handler in its context accepts *any* client that knows the server's
public key (libzmq lets the handshake through when nobody answers ZAP); an authenticator started in
another context is not consulted either. So :class:`ServerSecurity` starts its own
:class:`LinkAuthenticator` in the socket's context, and :meth:`ServerSecurity.bind` refuses to bind a
CURVE server socket that lacks one or whose authenticator lives in another context.

The authenticator lets in only the public keys under ``allowed/<role>/`` of the key directory and gives
each connection a ZAP User-Id equal to the client's Z85 public key; :meth:`ServerSecurity.identify` turns that
User-Id (read per message with ``frame.get("User-Id")``) into the :class:`ClientIdentity` that key has *now*:
:meth:`LinkAuthenticator.refresh` re-reads the folder when it changed, so a removed key identifies nothing
(its messages are dropped as unauthenticated) and a moved key has its new role, within seconds, for live
connections too. A bad key file is skipped with an error naming it; the others still load.

Plaintext only with ``insecure=True``, which logs a WARNING: every peer is then the archiving station
``insecure`` (it may command, and its acknowledgements prune the spool).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import zmq
import zmq.auth.thread
from zmq.utils import z85

from link.errors import InsecureSetup, KeyFileError
from link.keys import (
    ROLES,
    ClientIdentity,
    allowed_signature,
    load_allowed,
    load_client_keys,
    load_server_keys,
)

_LOGGER = logging.getLogger(__name__)

__all__ = ["INSECURE_IDENTITY", "LinkAuthenticator", "ServerSecurity", "secure_client"]

#: The identity of every peer on a plaintext (``insecure``) link.
INSECURE_IDENTITY = ClientIdentity("insecure", "archive")
#: ZAP domain of the link's server socket.
ZAP_DOMAIN = "isru"


class LinkAuthenticator(zmq.auth.thread.ThreadAuthenticator):
    """ZAP handler allowing only the keys under ``DIR/allowed``; User-Id = the client's name.

    The allowed folder is re-read when an unknown key knocks, so ``isru keys add-client`` takes effect
    without a restart. Counts ``accepted`` and ``denied`` handshakes.
    """

    def __init__(self, context: zmq.Context, keys_dir: str | Path, *, roles: tuple[str, ...] = ROLES) -> None:
        super().__init__(context=context, log=logging.getLogger(f"{__name__}.zap"))
        self.keys_dir = Path(keys_dir)
        self.roles = roles
        self._lock = threading.Lock()
        self._client_keys: dict[bytes, ClientIdentity] = {}
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        #: The bad key files of the last reading, each named with what is wrong (logged as errors).
        self.errors: list[str] = []
        self.accepted = 0
        self.denied = 0
        self.refresh()

    def start(self) -> None:
        """Start the ZAP thread and install the key check."""
        super().start()
        self.configure_curve_callback(ZAP_DOMAIN, self)

    def callback(self, _domain: str, key: bytes) -> bool:
        """ZAP credentials check: True if the Z85 public ``key`` is allowed."""
        if key not in self._client_keys:
            self.refresh()
        with self._lock:
            allowed = key in self._client_keys
            if allowed:
                self.accepted += 1
            else:
                self.denied += 1
        if not allowed:
            _LOGGER.warning(
                "link: refused a client key not in %s/allowed/{%s} (flight admits only these roles; people and "
                "partners log in to the ground hub)",
                self.keys_dir,
                ",".join(self.roles),
            )
        return allowed

    def refresh(self) -> bool:
        """Read the allowed keys again if the folder changed; returns whether it did. Bad files are skipped,
        each logged as an error naming it. Raises KeyFileError only if the folder itself is missing at start."""
        signature = allowed_signature(self.keys_dir)
        if signature == self._signature:
            return False
        errors: list[str] = []
        try:
            allowed = load_allowed(self.keys_dir, errors, roles=self.roles)
        except KeyFileError:
            if self._signature is None:
                raise
            _LOGGER.error("link: cannot re-read the allowed keys in %s/allowed", self.keys_dir)
            return False
        for error in errors:
            _LOGGER.error("link: allowed key skipped: %s", error)
        with self._lock:
            self._client_keys = allowed
            self._signature = signature
            self.errors = errors
        return True

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The ZAP User-Id of an accepted key: the key itself (Z85), so a message is identified by the key's
        role now, not at its handshake."""
        return z85.encode(client_public_key).decode("ascii")

    def identity(self, user_id: str) -> ClientIdentity | None:
        """The identity behind a User-Id (None if that key is not allowed, or no longer)."""
        with self._lock:
            return self._client_keys.get(user_id.encode("ascii", "replace"))

    def identity_of_key(self, key: bytes) -> ClientIdentity | None:
        """The identity Z85 ``key`` has now (None if it is not allowed)."""
        with self._lock:
            return self._client_keys.get(key)


class ServerSecurity:
    """How flight's server socket is secured: CURVE with its authenticator, or plaintext if ``insecure``."""

    def __init__(
        self,
        context: zmq.Context,
        keys_dir: str | Path | None,
        *,
        insecure: bool = False,
        roles: tuple[str, ...] = ROLES,
    ) -> None:
        self.context = context
        self.insecure = insecure
        self.authenticator: LinkAuthenticator | None = None
        self._keys: tuple[bytes, bytes] | None = None
        if insecure:
            _LOGGER.warning("link: INSECURE plaintext link (no CURVE, no authentication): for bench tests only")
            return
        if not keys_dir:
            raise InsecureSetup("a secured link needs a key directory (isru keys init DIR); or pass insecure=True")
        self._keys = load_server_keys(keys_dir)
        self.authenticator = LinkAuthenticator(context, keys_dir, roles=roles)
        self.authenticator.start()

    def bind(self, socket: zmq.Socket, endpoint: str) -> str:
        """Secure ``socket`` as the CURVE server (unless insecure), check it, bind it; returns the endpoint bound."""
        if self._keys is not None:
            public, secret = self._keys
            socket.curve_secretkey = secret
            socket.curve_publickey = public
            socket.curve_server = True
            socket.zap_domain = ZAP_DOMAIN.encode()
        check_server_socket(socket, self.authenticator, insecure=self.insecure)
        try:
            socket.bind(endpoint)
        except zmq.ZMQError as exc:
            raise InsecureSetup(f"cannot bind the link on {endpoint!r}: {exc}") from exc
        return socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def identify(self, frame: Any) -> ClientIdentity | None:
        """The identity of the peer that sent ``frame`` (a ``zmq.Frame``); None if unknown."""
        if self.authenticator is None:
            return INSECURE_IDENTITY
        try:
            user_id = frame.get("User-Id")
        except (zmq.ZMQError, AttributeError):
            return None
        return self.authenticator.identity(user_id) if user_id else None

    def refresh(self) -> bool:
        """Re-read the allowed keys if they changed (plaintext: never); returns whether they did."""
        return self.authenticator.refresh() if self.authenticator is not None else False

    def current(self, identity: ClientIdentity) -> ClientIdentity | None:
        """What ``identity``'s key is allowed as now (None: removed); plaintext: unchanged."""
        if self.authenticator is None or not identity.key:
            return identity
        return self.authenticator.identity_of_key(identity.key)

    def close(self) -> None:
        """Stop the authenticator."""
        if self.authenticator is not None:
            self.authenticator.stop()
            self.authenticator = None


def check_server_socket(socket: zmq.Socket, authenticator: Any, *, insecure: bool = False) -> None:
    """Raise :class:`InsecureSetup` unless ``socket`` is a CURVE server whose ZAP authenticator runs in its
    own context (or ``insecure`` and plaintext)."""
    curve = bool(socket.getsockopt(zmq.CURVE_SERVER))
    if not curve:
        if insecure:
            return
        raise InsecureSetup("refusing to bind a plaintext link socket; expected CURVE (or insecure=True)")
    if authenticator is None or not authenticator.is_alive():
        raise InsecureSetup(
            "refusing to bind a CURVE server without a running ZAP authenticator: it would accept any client"
        )
    if authenticator.context.underlying != socket.context.underlying:
        raise InsecureSetup(
            "refusing to bind a CURVE server whose ZAP authenticator runs in another zmq.Context: "
            "it would accept any client; expected the authenticator in the socket's context"
        )


def secure_client(socket: zmq.Socket, keys_dir: str | Path | None, identity: str, *, insecure: bool = False) -> None:
    """Make ``socket`` a CURVE client with certificate ``identity`` from ``keys_dir`` (plaintext if insecure)."""
    if insecure:
        _LOGGER.warning("link: INSECURE plaintext connection (no CURVE): for bench tests only")
        return
    if not keys_dir:
        raise InsecureSetup("a secured link needs a key directory (isru keys init DIR); or pass insecure=True")
    public, secret, server_public = load_client_keys(keys_dir, identity)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = server_public
