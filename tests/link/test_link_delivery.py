"""Nothing lost, nothing twice: flight → ground over real CURVE sockets on 127.0.0.1 through outages of
2, 10 and 60 s (a scaled clock makes a minute pass in three wall seconds), a ground restart, ``kill -9`` of a
flight process mid-stream, loss of signal with the failsafe, and light-time delay."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from base.clock import Clock, RealClock, ScaledClock
from ground.client import LinkClient
from link.keys import init_keys
from tests.support.link_harness import MiniFlight

WARP = 20.0


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("link") / "keys")


class Archive:
    """What ground holds: deliveries counted per seq (telemetry and events share the sequence)."""

    def __init__(self) -> None:
        self.count: Counter[int] = Counter()
        self.statuses: list[dict] = []

    def attach(self, client: LinkClient) -> LinkClient:
        client.on_telemetry(lambda seq, _samples: self.count.update((seq,)))
        client.on_event(lambda seq, _event: self.count.update((seq,)))
        client.on_command_status(self.statuses.append)
        return client

    @property
    def high(self) -> int:
        return max(self.count, default=0)

    def check_exactly_once(self, last: int) -> None:
        missing = sorted(set(range(1, last + 1)) - set(self.count))
        twice = sorted(seq for seq, n in self.count.items() if n > 1)
        assert missing == [] and twice == [], f"missing {missing[:10]}, duplicated {twice[:10]}"
        assert self.high == last


class FlightThread:
    """A MiniFlight producing a packet every ``period_s`` clock seconds on its own thread."""

    def __init__(self, clock: Clock, spool: Path, period_s: float = 0.1, **kwargs: object) -> None:
        self.flight = MiniFlight(clock, spool, **kwargs)
        self.clock = clock
        self.period_s = period_s
        self.producing = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        flight = self.flight
        while not self._stop.is_set():
            if self.producing:
                flight.produce()
            flight.server.wait_until(self.clock.monotonic() + self.period_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flight.close()


def pump(client: LinkClient, until: Callable[[], bool], wall_s: float = 20.0) -> None:
    deadline = time.perf_counter() + wall_s
    while not until():
        assert time.perf_counter() < deadline, f"timed out; link status {client.status}"
        client.poll(0.01)


def connect(server: MiniFlight, clock: Clock, keys: Path, archive: Archive, **kwargs: object) -> LinkClient:
    kwargs.setdefault("identity", "archive")  # the archiving station: its acks prune the spool
    client = LinkClient(server.server.endpoint, clock, keys_dir=keys, heartbeat_s=1.0, **kwargs)
    return archive.attach(client)


@pytest.mark.parametrize("outage_s", [0.0, 2.0, 10.0, 90.0], ids=["ground-restart", "2s", "10s", "90s"])
def test_outage_then_resume_holds_every_packet_exactly_once(keys: Path, tmp_path: Path, outage_s: float) -> None:
    clock = ScaledClock(WARP)
    flight = FlightThread(clock, tmp_path / "spool.db", keys_dir=keys)
    archive = Archive()
    try:
        client = connect(flight.flight, clock, keys, archive)
        pump(client, lambda: archive.high >= 30)
        client.close()  # the outage: ground gone, flight keeps producing
        lost_before = flight.flight.failsafe.losses
        clock.sleep(outage_s)
        if outage_s > flight.flight.server.los_timeout_s + 1.0:
            assert flight.flight.failsafe.losses == lost_before + 1, "flight did not declare loss of signal"
        client = connect(flight.flight, clock, keys, archive, resume_after=archive.high)
        pump(client, lambda: archive.high >= flight.flight.server.spool.next_seq - 3)
        flight.producing = False
        clock.sleep(0.5)
        last = flight.flight.server.spool.next_seq - 1
        pump(client, lambda: archive.high >= last and flight.flight.server.spool.depth == 0)
        archive.check_exactly_once(archive.high)  # late event packets (link state) may follow ``last``
        assert last >= 30 + outage_s / flight.period_s * 0.5  # the outage's packets were produced and delivered
        assert client.status.gaps == 0 and client.status.lost == 0
        client.close()
    finally:
        flight.close()


@pytest.fixture
def flight_process(keys: Path, tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    harness = Path(__file__).resolve().parents[1] / "support" / "link_harness.py"

    def start(endpoint: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(harness),
                "--spool",
                str(tmp_path / "spool.db"),
                "--keys",
                str(keys),
                "--endpoint",
                endpoint,
                "--period",
                "0.005",
                "--duration",
                "30",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_kill_9_of_flight_mid_stream_then_restart_delivers_the_rest(
    keys: Path, tmp_path: Path, flight_process: Callable[[str], subprocess.Popen]
) -> None:
    clock = RealClock()
    first = flight_process("tcp://127.0.0.1:0")
    endpoint = first.stdout.readline().strip()
    assert endpoint.startswith("tcp://127.0.0.1:")
    archive = Archive()
    client = archive.attach(LinkClient(endpoint, clock, keys_dir=keys, heartbeat_s=0.2, identity="archive"))
    try:
        pump(client, lambda: archive.high >= 200)
        first.kill()  # SIGKILL mid-stream: no flush, no close
        first.wait(timeout=10)
        held_at_kill = archive.high
        second = flight_process(endpoint)
        assert second.stdout.readline().strip() == endpoint
        pump(client, lambda: archive.high >= held_at_kill + 300, wall_s=30)
        second.terminate()  # SIGTERM: the harness stops producing and closes
        second.wait(timeout=10)
        from flight.spool import Spool

        spool = Spool(tmp_path / "spool.db")
        last = spool.next_seq - 1
        spool.close()
        archive.count = Counter({s: n for s, n in archive.count.items() if s <= last})
        archive.check_exactly_once(archive.high)
        assert archive.high >= held_at_kill + 300
    finally:
        client.close()


def test_loss_of_signal_applies_the_failsafe_within_500_ms_and_clears_on_return(keys: Path, tmp_path: Path) -> None:
    clock = RealClock()
    heartbeat_s = 0.2
    flight = FlightThread(clock, tmp_path / "spool.db", period_s=0.02, keys_dir=keys, heartbeat_s=heartbeat_s)
    archive = Archive()
    try:
        client = connect(flight.flight, clock, keys, archive)
        client.heartbeat_s = heartbeat_s
        pump(client, lambda: client.status.state == "acquired" and archive.high > 5)
        pump(client, lambda: flight.flight.server.state == "up")
        client.close()
        closed_at = clock.monotonic()
        while not flight.flight.responses and clock.monotonic() - closed_at < 5:
            time.sleep(0.005)
        lost_at = clock.monotonic()
        timeout = flight.flight.server.los_timeout_s
        assert flight.flight.responses == [("hold", f"link lost: no ground traffic for {timeout:.1f} s")]
        assert lost_at - closed_at <= timeout + 0.5
        assert lost_at - closed_at >= timeout - heartbeat_s - 0.05
        assert flight.flight.failsafe.active
        client = connect(flight.flight, clock, keys, archive, resume_after=archive.high)
        pump(client, lambda: not flight.flight.failsafe.active)
        names = [e.name for e in flight.flight.events.recent]
        assert names.count("link_lost") == 1 and names.count("failsafe_cleared") == 1
        client.close()
    finally:
        flight.close()


def test_light_time_delays_each_direction(keys: Path, tmp_path: Path) -> None:
    clock = RealClock()
    light_s = 0.25
    flight = FlightThread(clock, tmp_path / "spool.db", period_s=0.02, keys_dir=keys, light_time_s=light_s)
    archive = Archive()
    ages: list[float] = []
    try:
        client = connect(flight.flight, clock, keys, archive)
        client.on_telemetry(lambda _seq, samples: ages.append(clock.now() - samples[0][1]))
        pump(client, lambda: client.status.rtt_s is not None and len(ages) > 10)
        assert client.status.light_time_s == light_s
        assert client.status.rtt_s >= 2 * light_s
        assert min(ages) >= light_s
        sent = clock.monotonic()
        command_id = client.send_command("test.count", {"n": 1})
        pump(client, lambda: any(s["id"] == command_id and s["stage"] == "completed" for s in archive.statuses))
        assert clock.monotonic() - sent >= 2 * light_s
        assert flight.flight.counter.executed == [1]
        assert client.status.state == "acquired"  # the round trip light time does not look like a loss
        client.close()
    finally:
        flight.close()


def test_pub_sub_high_water_marks_drop_silently() -> None:
    """Why must-deliver data does not ride PUB/SUB: at HWM 100 a fast publisher loses most of 100k messages
    and neither side is told."""
    import zmq

    ctx = zmq.Context()
    pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    try:
        for s in (pub, sub):
            s.linger = 0
        pub.sndhwm = sub.rcvhwm = 100
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{port}")
        while not sub.poll(10):  # wait for the subscription to reach the publisher
            pub.send(b"warmup")
        while sub.poll(50):
            sub.recv()
        total = 100_000
        for i in range(total):
            pub.send(i.to_bytes(4, "little"))  # never blocks, never fails: drops at the HWM
        received = 0
        while sub.poll(200):
            sub.recv()
            received += 1
        lost = 1 - received / total
        assert lost > 0.5, f"lost {lost:.0%}"
    finally:
        pub.close(0)
        sub.close(0)
        ctx.term()


def test_a_scaled_flight_clock_does_not_flap_a_wall_clock_ground(keys: Path, tmp_path: Path) -> None:
    """Ground heartbeats every wall second; flight's clock runs 20 times faster. Loss of signal is judged on one
    time base (wall seconds of silence, converted to flight's clock), so a ground whose traffic (heartbeats each
    second, acknowledgements each half second) is sparse on flight's clock never trips the failsafe, and a ground
    that really goes silent still does."""
    flight_clock, ground_clock = ScaledClock(WARP), RealClock()
    flight = FlightThread(flight_clock, tmp_path / "spool.db", keys_dir=keys)
    archive = Archive()
    try:
        client = connect(flight.flight, ground_clock, keys, archive)
        pump(client, lambda: flight.flight.server.state == "up")
        losses = flight.flight.failsafe.losses
        quiet_until = time.perf_counter() + 4.5  # 4.5 wall s = 90 flight s: many times the heartbeat period
        pump(client, lambda: time.perf_counter() > quiet_until)
        assert flight.flight.failsafe.losses == losses, "a heartbeating ground was declared lost"
        client.close()
        pump_until = time.perf_counter() + 10.0
        while flight.flight.failsafe.losses == losses:
            assert time.perf_counter() < pump_until, "a silent ground was never declared lost"
            time.sleep(0.01)
    finally:
        flight.close()
