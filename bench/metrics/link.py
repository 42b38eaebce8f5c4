"""Flight ↔ ground link metrics, each against bare pyzmq between the same two processes' worth of sockets:

* ``link_x_raw`` — spooled packets delivered and acknowledged per second (flight process → LinkClient, CURVE)
  ÷ bare ROUTER → DEALER multipart messages per second of the same sizes;
* ``cmd_rtt_x_raw`` / ``cmd_rtt_p99_x_raw`` — command → "accepted" status through LinkClient and the flight
  process ÷ a bare DEALER → ROUTER → DEALER round trip (median and p99, interleaved blocks);
* ``link_samples_per_s`` / ``link_loss`` — the highest channel-sample rate a flight process publishes into the
  ground archive (``ground.archive.Archive``, committed before each ack) that holds for the run, and the samples
  lost in it.

The flight side always runs in a child process (:mod:`bench.metrics._link_peer`).
"""

from __future__ import annotations

import json
import logging
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import zmq

from base.clock import RealClock
from bench.errors import MeasurementError
from bench.registry import Result, RunOptions, metric
from bench.stats import median, percentile
from bench.timing import interleaved_samples
from ground.client import LinkClient
from link import wire
from link.keys import init_keys

_LOGGER = logging.getLogger(__name__)

#: Samples per streamed packet in link_x_raw (a 20-channel telemetry tick).
STREAM_SAMPLES = 20
#: Wall seconds any single wait may take before the measurement is abandoned.
TIMEOUT_S = 60.0


def _pipe(stream: IO[str] | None) -> IO[str]:
    """A child process's pipe, which Popen opened because it was asked to."""
    if stream is None:
        raise MeasurementError("the link peer's pipe was not opened")
    return stream


@contextmanager
def _peer(*args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """A flight-side child process; yields it and the endpoint it printed. Closing stdin ends it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.metrics._link_peer", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout, stdin = _pipe(proc.stdout), _pipe(proc.stdin)
    try:
        endpoint = stdout.readline().strip()
        if not endpoint.startswith("tcp://"):
            raise MeasurementError(f"link peer {args[0]} did not start (printed {endpoint!r})")
        yield proc, endpoint
    finally:
        stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _keys() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="isru-bench-keys-") as tmp:
        yield init_keys(Path(tmp) / "keys")


# ------------------------------------------------------------------------------------ streaming
def _frame_size(samples: int) -> int:
    names = [f"ch{k:03d}" for k in range(samples)]
    t = 1.9e9
    return len(wire.encode_telemetry(1, t, names, [t] * samples, [0.5 + k for k in range(samples)]))


def _raw_stream_rate(count: int, size: int) -> float:
    """Bare pyzmq: messages/s from a ROUTER process to this DEALER."""
    with _peer("raw-stream", "--count", str(count), "--size", str(size)) as (_proc, endpoint):
        ctx = zmq.Context()
        dealer = ctx.socket(zmq.DEALER)
        dealer.linger = 0
        dealer.connect(endpoint)
        try:
            dealer.send(b"go")
            if not dealer.poll(int(TIMEOUT_S * 1000)):
                raise MeasurementError("bare ROUTER sent nothing")
            dealer.recv()
            start = time.perf_counter()
            for _ in range(count - 1):
                dealer.recv()
            return (count - 1) / (time.perf_counter() - start)
        finally:
            dealer.close(0)
            ctx.term()


def _project_stream_rate(keys: Path, count: int) -> float:
    """The link: spooled packets/s delivered in order to LinkClient callbacks and acknowledged."""
    with _peer("flight", "--keys", str(keys), "--prefill", str(count), "--samples", str(STREAM_SAMPLES)) as (
        _proc,
        endpoint,
    ):
        clock = RealClock()
        got = [0, 0.0]

        def on_packet(seq: int, _samples: list) -> None:
            if seq == 1:
                got[1] = time.perf_counter()
            got[0] = seq

        client = LinkClient(endpoint, clock, keys_dir=keys, window=4000, heartbeat_s=60.0, identity="archive")
        client.on_telemetry(on_packet)
        try:
            deadline = time.perf_counter() + TIMEOUT_S
            while got[0] < count:
                if time.perf_counter() > deadline:
                    raise MeasurementError(f"link delivered {got[0]} of {count} packets in {TIMEOUT_S} s")
                client.poll(0.05)
            client.acknowledge()
            elapsed = time.perf_counter() - got[1]
            return (count - 1) / elapsed
        finally:
            client.close()


@metric("link_x_raw", unit="x", target=">= 0.3")
def link_x_raw(options: RunOptions) -> Result:
    """Spooled telemetry packets/s flight process → LinkClient (CURVE, in order, acknowledged) ÷ bare pyzmq
    ROUTER → DEALER multipart messages/s of the same size, between two processes; medians of alternating runs."""
    count = options.pick(full=40_000, quick=10_000)
    repeats = options.pick(full=3, quick=1)
    size = _frame_size(STREAM_SAMPLES)
    raw, project = [], []
    with _keys() as keys:
        for _ in range(repeats):
            raw.append(_raw_stream_rate(count, size))
            project.append(_project_stream_rate(keys, count))
    raw_rate, project_rate = median(raw), median(project)
    ratio = project_rate / raw_rate
    _LOGGER.info("stream: link %.0f msg/s, raw %.0f msg/s, ratio %.2f", project_rate, raw_rate, ratio)
    return Result(
        value=ratio,
        raw=raw_rate,
        raw_unit="msg/s",
        ratio=ratio,
        extra={"project_msg_per_s": project_rate, "raw_msg_per_s": raw_rate, "frame_bytes": size, "messages": count},
    )


# ------------------------------------------------------------------------------------ round trip
def _raw_round_trip(dealer: zmq.Socket, request: bytes) -> Callable[[], None]:
    def round_trip() -> None:
        dealer.send(request)
        if not dealer.poll(int(TIMEOUT_S * 1000)):
            raise MeasurementError("bare echo did not answer")
        dealer.recv()

    return round_trip


def _project_round_trip(client: LinkClient) -> Callable[[], None]:
    accepted: set[str] = set()
    client.on_command_status(lambda s: accepted.add(s["id"]) if s["stage"] == "accepted" else None)

    def round_trip() -> None:
        command_id = client.send_command("bench.noop")
        deadline = time.perf_counter() + TIMEOUT_S
        while command_id not in accepted:
            if time.perf_counter() > deadline:
                raise MeasurementError(f"no accepted status for {command_id}")
            client.poll(0.5)
        accepted.discard(command_id)

    return round_trip


_RTT_CACHE: dict[bool, tuple[float, float, dict]] = {}


def _round_trips(options: RunOptions) -> tuple[float, float, dict]:
    """Median and p99 ratios (project ÷ raw), measured once per run for both keys."""
    if options.quick in _RTT_CACHE:
        return _RTT_CACHE[options.quick]
    rounds = options.pick(full=3000, quick=600)
    warmup = options.pick(full=300, quick=100)
    with _keys() as keys, _peer("flight", "--keys", str(keys)) as (_p, flight_ep):
        clock = RealClock()
        client = LinkClient(flight_ep, clock, keys_dir=keys, heartbeat_s=60.0, identity="archive")
        try:
            deadline = time.perf_counter() + TIMEOUT_S
            while client.status.state != "acquired":
                if time.perf_counter() > deadline:
                    raise MeasurementError(f"link not acquired: {client.status}")
                client.poll(0.05)
            command = wire.encode(wire.Command("operator-0123456789abcdef", 10**6, "bench.noop", {}))[0]
            status = wire.encode(
                wire.StatusPacket(
                    10**6,
                    {
                        "id": "operator-0123456789abcdef",
                        "name": "bench.noop",
                        "stage": "accepted",
                        "source": "operator",
                        "t": 1.9e9,
                        "reason": "",
                        "message": "",
                        "progress": None,
                    },
                )
            )[0]
            with _peer("raw-echo", "--reply-bytes", str(len(status))) as (_r, raw_ep):
                ctx = zmq.Context()
                dealer = ctx.socket(zmq.DEALER)
                dealer.linger = 0
                dealer.connect(raw_ep)
                try:
                    raw_us, project_us = interleaved_samples(
                        (_raw_round_trip(dealer, command), _project_round_trip(client)),
                        rounds=rounds,
                        warmup=warmup,
                        block=100,
                    )
                finally:
                    dealer.close(0)
                    ctx.term()
        finally:
            client.close()
    med = median(project_us) / median(raw_us)
    p99 = percentile(project_us, 0.99) / percentile(raw_us, 0.99)
    extra = {
        "project_us": median(project_us),
        "raw_us": median(raw_us),
        "project_p99_us": percentile(project_us, 0.99),
        "raw_p99_us": percentile(raw_us, 0.99),
        "round_trips": rounds,
    }
    _LOGGER.info("command round trip: %s", extra)
    _RTT_CACHE[options.quick] = (med, p99, extra)
    return med, p99, extra


@metric("cmd_rtt_x_raw", unit="x", target="<= 2")
def cmd_rtt_x_raw(options: RunOptions) -> Result:
    """Median command → "accepted" round trip (LinkClient → flight process over CURVE, counter persisted,
    dispatcher, status spooled) ÷ median bare DEALER/ROUTER round trip of the same sizes."""
    med, _p99, extra = _round_trips(options)
    return Result(value=med, raw=extra["raw_us"], raw_unit="us", ratio=med, extra=extra)


@metric("cmd_rtt_p99_x_raw", unit="x", target="<= 3")
def cmd_rtt_p99_x_raw(options: RunOptions) -> Result:
    """p99 of the command → "accepted" round trip ÷ p99 of the bare DEALER/ROUTER round trip."""
    _med, p99, extra = _round_trips(options)
    return Result(value=p99, raw=extra["raw_p99_us"], raw_unit="us", ratio=p99, extra=extra)


# ------------------------------------------------------------------------------- into the archive
def _archive_run(keys: Path, channels: int, hz: float, seconds: float) -> dict:
    """One run: a flight process publishes ``channels`` at ``hz`` for ``seconds``; ground archives it.
    Returns produced/archived counts and how long ground needed after flight stopped."""
    from ground.archive import Archive

    with (
        tempfile.TemporaryDirectory(prefix="isru-bench-archive-") as tmp,
        _peer(
            "producer", "--keys", str(keys), "--channels", str(channels), "--hz", str(hz), "--seconds", str(seconds)
        ) as (proc, endpoint),
    ):
        archive = Archive(Path(tmp) / "archive.sqlite")
        clock = RealClock()
        client = LinkClient(endpoint, clock, keys_dir=keys, heartbeat_s=1.0, identity="archive")
        archived = [0]

        def on_telemetry(seq: int, samples: list) -> None:
            archive.ingest_telemetry(seq, samples)
            archived[0] += len(samples)

        client.on_telemetry(on_telemetry)
        client.on_event(archive.ingest_event)
        client.set_ack_gate(lambda _seq: archive.flush())
        summary: dict = {}
        try:
            selector = selectors.DefaultSelector()
            stdout = _pipe(proc.stdout)
            selector.register(stdout, selectors.EVENT_READ)
            deadline = time.perf_counter() + seconds + TIMEOUT_S
            while not summary:
                if time.perf_counter() > deadline:
                    raise MeasurementError("producer did not finish")
                client.poll(0.01)
                if selector.select(0):
                    summary = json.loads(stdout.readline())
            while client.status.last_seq < summary["last_seq"]:
                if time.perf_counter() > deadline:
                    break
                client.poll(0.01)
            archive.flush()
            # how long after flight's last packet the archive held it (both perf_counter: CLOCK_MONOTONIC)
            catch_up = max(0.0, time.perf_counter() - summary["end_perf"])
            held = archive.seq_count()
        finally:
            client.close()
            archive.close()
    return {
        "produced": summary["samples"],
        "archived": archived[0],
        "packets": summary["packets"],
        "held": held,
        "catch_up_s": catch_up,
        "late_s": summary["late_s"],
    }


_ARCHIVE_CACHE: dict[bool, dict] = {}


def _archive_rates(options: RunOptions) -> dict:
    if options.quick in _ARCHIVE_CACHE:
        return _ARCHIVE_CACHE[options.quick]
    seconds = options.pick(full=30, quick=3)
    ladder = (250, 500, 1000, 2000, 3000, 4000) if not options.quick else (250, 500, 1000, 2000)
    hz = 50.0
    best: dict = {"rate": 0.0, "lost": 0, "runs": []}
    with _keys() as keys:
        for channels in ladder:
            run = _archive_run(keys, channels, hz, seconds)
            lost = run["produced"] - run["archived"]
            rate = run["produced"] / seconds
            # holds: nothing lost, flight kept its schedule, the archive held the last packet within 1 s of it
            holds = lost == 0 and run["late_s"] < 1.0 and run["catch_up_s"] < 1.0
            best["runs"].append({"samples_per_s": rate, **run, "holds": holds})
            _LOGGER.info("archive run %d ch x %g Hz: %s", channels, hz, run)
            if not holds:
                if best["rate"] == 0.0:
                    best["lost"] = lost
                break
            best["rate"], best["lost"] = rate, lost
    _ARCHIVE_CACHE[options.quick] = best
    return best


@metric("link_samples_per_s", unit="samples/s", target=">= 100000")
def link_samples_per_s(options: RunOptions) -> Result:
    """Highest channel-sample rate from a flight process into the ground archive (CURVE link, archive
    committed before each ack) that holds for the run (30 s; quick 5 s): 0 lost, ground caught up within 1 s."""
    best = _archive_rates(options)
    extra = {f"run{i}_{k}": v for i, run in enumerate(best["runs"]) for k, v in run.items() if k != "holds"}
    return Result(value=best["rate"], extra=extra)


@metric("link_loss", unit="samples", target="<= 0")
def link_loss(options: RunOptions) -> Result:
    """Samples lost in the run that set link_samples_per_s."""
    best = _archive_rates(options)
    return Result(value=float(best["lost"]))
