"""Flight's ROUTER socket: opened (secured, bound) by :func:`open_router`, with every zmq error translated into
the link's exception tree where it enters (``docs/link.md``).

Sends use ``ROUTER_MANDATORY`` and ``NOBLOCK``: a vanished or full peer raises :class:`PeerUnreachable`
instead of dropping the message silently. The high-water marks are far above any client window, so flow
control, not the HWM, bounds the queues.
"""

from __future__ import annotations

from pathlib import Path

import zmq

from link import wire
from link.errors import LinkError
from link.keys import ROLES, ClientIdentity
from link.security import ServerSecurity

__all__ = ["PeerUnreachable", "RouterSocket", "open_router"]

#: Send high-water mark per peer (batch frames waiting for the peer's TCP connection): flow control (windows
#: and each key's byte cap) bounds what a reading client is sent; this bounds what piles up for one that does
#: not read. A send past it fails (``ROUTER_MANDATORY``) and the session stops until it says hello again.
SOCKET_HWM = 1_000
#: Receive high-water mark per peer (messages): past it libzmq stops reading that peer's connection, so a
#: flooding client is slowed at its own TCP connection instead of filling flight's memory.
SOCKET_RCVHWM = 256
#: A connection that has not completed its ZMTP/CURVE handshake within this is dropped by libzmq (ms), so
#: half-open TCP connections (no key needed to open one) hold a file descriptor for 2 s, not libzmq's 30 s.
HANDSHAKE_MS = 2_000
#: ZMTP heartbeats: libzmq pings every peer and drops one silent this long (ms), freeing the descriptors of
#: connections whose peer vanished without closing them.
ZMTP_HEARTBEAT_MS = 5_000
ZMTP_TIMEOUT_MS = 20_000
#: Pending TCP connections the kernel queues for accept (the listen backlog).
BACKLOG = 1_024
#: Messages larger than this make libzmq drop the connection before they are buffered (bytes): ground sends
#: nothing over :data:`link.wire.MAX_UPLINK_BYTES`, so a bigger frame never reaches the control loop.
SOCKET_MAX_MSG_BYTES = 2 * wire.MAX_UPLINK_BYTES


class PeerUnreachable(LinkError):
    """A frame could not be sent: the peer is gone (``EHOSTUNREACH``) or its queue is full (``EAGAIN``)."""


class RouterSocket:
    """A bound ROUTER socket with its security and poller; made by :func:`open_router`."""

    def __init__(self, socket: zmq.Socket, security: ServerSecurity, endpoint: str) -> None:
        self.socket = socket
        self.security = security
        self.endpoint = endpoint
        self._poller = zmq.Poller()
        self._poller.register(socket, zmq.POLLIN)

    def receive(self) -> list[zmq.Frame] | None:
        """The next multipart message waiting (routing id first), or None if nothing is."""
        try:
            return self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        except zmq.ZMQError as exc:
            raise LinkError(f"link socket receive failed: {exc}") from exc

    def identify(self, frame: zmq.Frame) -> ClientIdentity | None:
        """The identity of the peer that sent ``frame``; None if its key is not allowed."""
        return self.security.identify(frame)

    def send(self, routing_id: bytes, frame: bytes) -> None:
        """Send ``frame`` to ``routing_id`` now; raises :class:`PeerUnreachable` if it cannot be queued."""
        try:
            self.socket.send_multipart((routing_id, frame), zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            raise PeerUnreachable(str(exc)) from exc

    def wait(self, timeout_ms: int) -> None:
        """Block until a message arrives or ``timeout_ms`` wall milliseconds pass."""
        try:
            self._poller.poll(timeout_ms)
        except zmq.ZMQError as exc:
            raise LinkError(f"link socket poll failed: {exc}") from exc

    def close(self) -> None:
        """Close the socket (dropping what is queued) and stop the authenticator."""
        self.socket.close(0)
        self.security.close()


def open_router(
    context: zmq.Context,
    endpoint: str,
    keys_dir: str | Path | None,
    *,
    insecure: bool = False,
    reserved_endpoint: str = "",
    roles: tuple[str, ...] = ROLES,
) -> RouterSocket:
    """A ROUTER socket on ``context`` secured with the keys in ``keys_dir`` (plaintext only if ``insecure``) and
    bound to ``endpoint`` — and to ``reserved_endpoint`` too if given (same socket and keys: a second door for
    the ground station, e.g. on its private network, whose listen queue a flood of the first cannot fill);
    raises a :class:`~link.errors.LinkError` (nothing left open) if that fails. Only client keys of ``roles`` are
    admitted."""
    security = ServerSecurity(context, keys_dir, insecure=insecure, roles=roles)
    try:
        socket = context.socket(zmq.ROUTER)
    except zmq.ZMQError as exc:
        security.close()
        raise LinkError(f"cannot create the link socket: {exc}") from exc
    try:
        socket.linger = 0
        socket.sndhwm = SOCKET_HWM
        socket.rcvhwm = SOCKET_RCVHWM
        socket.maxmsgsize = SOCKET_MAX_MSG_BYTES
        socket.handshake_ivl = HANDSHAKE_MS
        socket.heartbeat_ivl = ZMTP_HEARTBEAT_MS
        socket.heartbeat_timeout = ZMTP_TIMEOUT_MS
        socket.setsockopt(zmq.BACKLOG, BACKLOG)
        socket.setsockopt(zmq.TCP_KEEPALIVE, 1)
        socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        bound = security.bind(socket, endpoint)
        if reserved_endpoint:
            socket.bind(reserved_endpoint)
    except (LinkError, zmq.ZMQError) as exc:
        socket.close(0)
        security.close()
        if isinstance(exc, LinkError):
            raise
        raise LinkError(f"cannot configure the link socket: {exc}") from exc
    return RouterSocket(socket, security, bound)
