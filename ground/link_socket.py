"""Ground's DEALER socket to flight, with the wake-up pipe that lets another thread interrupt a wait; every
zmq and OS error is translated into the link's exception tree where it enters (``docs/link.md``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import zmq

from link.errors import LinkError
from link.security import secure_client

__all__ = ["DealerSocket", "open_dealer"]

#: Socket high-water marks (messages): above any window, so flow control bounds the queues.
SOCKET_HWM = 1_000_000
#: Reconnection back-off after a lost connection: first and longest interval (ms).
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 1000


class DealerSocket:
    """A connected DEALER socket and a wake-up pipe, polled together; made by :func:`open_dealer`."""

    def __init__(self, socket: zmq.Socket, context: zmq.Context, *, own_context: bool) -> None:
        self.socket = socket
        self.context = context
        self._own_context = own_context
        try:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
        except OSError as exc:
            raise LinkError(f"cannot make the link's wake-up pipe: {exc}") from exc
        self._poller = zmq.Poller()
        self._poller.register(socket, zmq.POLLIN)
        self._poller.register(self._wake_r, zmq.POLLIN)

    def wait(self, timeout_ms: float) -> bool:
        """Block until a message or a wake-up arrives, or ``timeout_ms`` wall milliseconds pass; returns True
        unless the wait showed the wake-up pipe empty."""
        try:
            ready = dict(self._poller.poll(int(timeout_ms)))  # whole ms, as pyzmq would truncate them
        except zmq.ZMQError as exc:
            raise LinkError(f"link socket poll failed: {exc}") from exc
        return self._wake_r in ready

    def wake(self) -> None:
        """Interrupt a :meth:`wait` on another thread."""
        try:
            os.write(self._wake_w, b"!")
        except OSError as exc:
            raise LinkError(f"cannot wake the link thread: {exc}") from exc

    def clear_wake(self) -> None:
        """Empty the wake-up pipe (the wake-ups it held are being answered)."""
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)

    def receive(self) -> list[bytes] | None:
        """The frames of the next message waiting, or None if none is."""
        try:
            return self.socket.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        except zmq.ZMQError as exc:
            raise LinkError(f"link socket receive failed: {exc}") from exc

    def send(self, frame: bytes) -> bool:
        """Queue ``frame`` for flight; False if the send queue is full (the frame is dropped)."""
        try:
            self.socket.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            return False
        except zmq.ZMQError as exc:
            raise LinkError(f"link socket send failed: {exc}") from exc
        return True

    def close(self, linger_ms: int) -> None:
        """Close the socket (waiting up to ``linger_ms`` for queued frames), the pipe and an own context."""
        self.socket.close(linger=linger_ms)
        os.close(self._wake_r)
        os.close(self._wake_w)
        if self._own_context:
            self.context.term()


def open_dealer(
    context: zmq.Context | None,
    endpoint: str,
    keys_dir: str | Path | None,
    identity: str,
    *,
    insecure: bool = False,
) -> DealerSocket:
    """A DEALER socket (on ``context``, or a context of its own) secured as client ``identity`` with the keys in
    ``keys_dir`` (plaintext only if ``insecure``) and connecting to ``endpoint``; raises a
    :class:`~link.errors.LinkError` (nothing left open) if that fails."""
    own_context = context is None
    ctx = context if context is not None else zmq.Context()
    socket: zmq.Socket | None = None
    try:
        socket = ctx.socket(zmq.DEALER)
        socket.linger = 0
        socket.sndhwm = SOCKET_HWM
        socket.rcvhwm = SOCKET_HWM
        socket.reconnect_ivl = RECONNECT_IVL_MS
        socket.reconnect_ivl_max = RECONNECT_IVL_MAX_MS
        secure_client(socket, keys_dir, identity, insecure=insecure)
        socket.connect(endpoint)
        return DealerSocket(socket, ctx, own_context=own_context)
    except Exception as exc:
        if socket is not None:
            socket.close(0)
        if own_context:
            ctx.term()
        if isinstance(exc, zmq.ZMQError):
            raise LinkError(f"cannot connect the link to {endpoint!r}: {exc}") from exc
        raise
