"""``attack_soak``: the combined attack mix of issue 13 against a flight process while a good client watches.

Flight is a child process (:mod:`bench.metrics._link_peer` ``soak``: a LinkServer over flight's real parts,
50 channels at 10 Hz, heartbeat 1 s, CURVE). For 5 minutes (``--quick``: 30 s) this process, at once:

* re-sends hello every 0.2 s asking for the whole backlog and the dictionary, never reading (observer key);
* asks for the dictionary 100 times a second (observer key);
* opens 50 observer sessions that ask for the backlog with the largest window and never read;
* sends a 1 MiB garbage frame every 0.5 s and a 60 KiB malformed command every 50 ms (observer key);
* holds 200 half-open TCP connections (no key), reopening each one flight drops;
* replays the good client's latest commands with their ids and counters already accepted, and once more under
  a new id (the good client's own key, as a thief of it would).

The good client (the ``archive`` key, ``ground.client.LinkClient``) sends ``bench.count`` with a fresh tag every
0.5 s and records when each telemetry packet arrives. Reported: ``value`` = the largest gap between two
telemetry packets at the good client (s, goal <= 0.5), ``rss_growth_mb`` = flight's resident memory at the end
less after the warm-up (goal <= 20), ``executed_twice`` = tags flight ran more than once (must be 0), and
what each attack sent.
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

from base.clock import RealClock
from bench.errors import MeasurementError
from bench.registry import Result, RunOptions, metric
from ground.client import LinkClient
from link import wire
from link.keys import init_keys
from link.security import secure_client

#: Seconds of warm-up (sessions set up, memory settled) before flight's RSS is read the first time.
WARMUP_S = 3.0


def _rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` (MiB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise MeasurementError(f"no VmRSS for process {pid}")


class _Attackers:
    """Every attacker's sockets, driven by :meth:`step` from the one measuring thread."""

    def __init__(self, endpoint: str, keys: Path) -> None:
        self.endpoint = endpoint
        self.ctx = zmq.Context()
        self.keys = keys
        self.sent = {"hellos": 0, "dictionary_asks": 0, "garbage_1mib": 0, "malformed": 0, "replays": 0}
        self.half_open: list[socket.socket] = []
        self.half_open_opened = 0
        self.hello = self._dealer("observer")
        self.dictionary = self._dealer("observer")
        self.garbage = self._dealer("observer")
        self.replayer = self._dealer("archive")
        self.replayer.send(wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 10**9, 10**9, 1, False, False))[0])
        self.backlog = [self._dealer("observer") for _ in range(50)]
        backlog_hello = wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 100_000, False, False))[0]
        for dealer in self.backlog:
            dealer.send(backlog_hello, zmq.NOBLOCK)
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        self._address = (host, int(port))
        self._due: dict[str, float] = {}

    def _dealer(self, name: str) -> zmq.Socket:
        dealer = self.ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.sndhwm = 100  # an attacker's own queue: past it its sends are skipped, never blocking
        secure_client(dealer, self.keys, name)
        dealer.connect(self.endpoint)
        return dealer

    def _every(self, name: str, period_s: float, now: float) -> bool:
        if now < self._due.get(name, 0.0):
            return False
        self._due[name] = now + period_s
        return True

    @staticmethod
    def _send(dealer: zmq.Socket, frame: bytes) -> bool:
        try:
            dealer.send(frame, zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    def step(self, now: float, replays: list[wire.Command]) -> None:
        """Whatever is due at wall time ``now`` (perf_counter s); ``replays``: the good client's commands so far."""
        if self._every("hello", 0.2, now):
            frame = wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 100_000, True, True))[0]
            self.sent["hellos"] += self._send(self.hello, frame)
        if self._every("dictionary", 0.01, now):
            frame = wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 10**9, 10**9, 1, True, False))[0]
            self.sent["dictionary_asks"] += self._send(self.dictionary, frame)
        if self._every("garbage", 0.5, now):
            self.sent["garbage_1mib"] += self._send(self.garbage, b"\xc1" * (1024 * 1024))
        if self._every("malformed", 0.05, now):
            frame = msgpack.packb([int(wire.Kind.COMMAND), "x", 1, "bench.count", {"n": "y" * 60_000}])
            self.sent["malformed"] += self._send(self.garbage, frame)
        if replays and self._every("replay", 0.1, now):
            for command in replays[-5:]:
                self.sent["replays"] += self._send(self.replayer, wire.encode(command)[0])
            last = replays[-1]
            again = wire.Command(f"{last.id}-again", last.counter, last.name, last.args)
            self.sent["replays"] += self._send(self.replayer, wire.encode(again)[0])
        if self._every("half_open", 0.5, now):
            self._half_open()

    def _half_open(self) -> None:
        """Keep 200 TCP connections open that never start a handshake (flight drops them after 2 s)."""
        alive = []
        for sock in self.half_open:
            try:
                data = sock.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                alive.append(sock)
                continue
            except OSError:
                data = b""
            if data:
                alive.append(sock)
            else:
                sock.close()
        while len(alive) < 200:
            try:
                alive.append(socket.create_connection(self._address, timeout=1.0))
                self.half_open_opened += 1
            except OSError:
                break
        self.half_open = alive

    def run(self, stop: threading.Event, replays: list[wire.Command]) -> None:
        """Attack until ``stop`` is set (its own thread: the good client's loop is never held up by it)."""
        while not stop.is_set():
            self.step(time.perf_counter(), replays)
            stop.wait(0.002)

    def close(self) -> None:
        for sock in self.half_open:
            sock.close()
        for dealer in (self.hello, self.dictionary, self.garbage, self.replayer, *self.backlog):
            dealer.close(0)
        self.ctx.term()


@metric("attack_soak", unit="s", target="<= 0.5")
def attack_soak(options: RunOptions) -> Result:
    """The largest telemetry gap at a good client under the combined attack mix (see the module docstring)."""
    duration_s = options.pick(300.0, 30.0)
    with tempfile.TemporaryDirectory(prefix="isru-bench-attack-") as tmp:
        keys = init_keys(Path(tmp) / "keys")
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.metrics._link_peer", "soak", "--keys", str(keys)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdin is not None
        try:
            endpoint = proc.stdout.readline().strip()
            if not endpoint.startswith("tcp://"):
                raise MeasurementError(f"the soak's flight did not start (printed {endpoint!r})")
            figures = _soak(endpoint, keys, proc.pid, duration_s)
            proc.stdin.close()
            summary: dict[str, Any] = json.loads(proc.stdout.readline() or "{}")
        finally:
            if proc.poll() is None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    if not summary:
        raise MeasurementError("the soak's flight printed no summary")
    stats = summary.get("stats", {})
    extra = {
        **figures["extra"],
        "executed": int(summary["executed"]),
        "executed_twice": int(summary["executed_twice"]),
        "flight_malformed": int(stats.get("malformed", 0)),
        "flight_replays_refused": int(stats.get("replays", 0)),
        "flight_throttled": int(stats.get("throttled", 0)),
        "flight_over_cap": int(stats.get("over_cap", 0)),
        "flight_budget_spent": int(stats.get("budget_spent", 0)),
    }
    return Result(value=figures["gap_s"], extra=extra)


def _soak(endpoint: str, keys: Path, pid: int, duration_s: float) -> dict[str, Any]:
    """Run the good client and the attackers for ``duration_s``; the gap, RSS figures and what was sent."""
    arrivals: list[float] = []
    client = LinkClient(endpoint, RealClock(), keys_dir=keys, identity="archive", heartbeat_s=1.0)
    client.on_telemetry(lambda _seq, _samples: arrivals.append(time.perf_counter()))
    sent: list[wire.Command] = []  # the good client's commands as the replayer re-sends them
    attackers: _Attackers | None = None
    try:
        start = time.perf_counter()
        while not arrivals:
            if time.perf_counter() - start > 30.0:
                raise MeasurementError("the good client got no telemetry before the attack")
            client.poll(0.01)
        attackers = _Attackers(endpoint, keys)
        stop = threading.Event()
        thread = threading.Thread(target=attackers.run, args=(stop, sent), name="attackers", daemon=True)
        thread.start()
        rss_start = None
        begin = time.perf_counter()
        watched_from = len(arrivals)
        tag = 0
        next_command = begin
        try:
            while (now := time.perf_counter()) - begin < duration_s:
                if now >= next_command:
                    tag += 1
                    command_id = client.send_command("bench.count", {"n": tag})
                    # replayed with its id and a counter flight already accepted (the client's counters start at 1)
                    sent.append(wire.Command(command_id, tag, "bench.count", {"n": tag}))
                    next_command = now + 0.5
                if rss_start is None and now - begin >= WARMUP_S:
                    rss_start = _rss_mb(pid)
                client.poll(0.005)
        finally:
            stop.set()
            thread.join(timeout=10)
        rss_end = _rss_mb(pid)
        watched = arrivals[watched_from:]
        if len(watched) < 2:
            raise MeasurementError(f"the good client got {len(watched)} telemetry packets during the attack")
        gap = max(b - a for a, b in itertools.pairwise(watched))
        return {
            "gap_s": round(gap, 4),
            "extra": {
                "duration_s": duration_s,
                "rss_start_mb": round(rss_start or rss_end, 1),
                "rss_end_mb": round(rss_end, 1),
                "rss_growth_mb": round(rss_end - (rss_start or rss_end), 1),
                "telemetry_packets": len(watched),
                "commands_sent": tag,
                "half_open_opened": attackers.half_open_opened,
                **{f"sent_{k}": v for k, v in attackers.sent.items()},
            },
        }
    finally:
        if attackers is not None:
            attackers.close()
        client.close()
