"""The benchmark harness: ``python -m bench`` as a subprocess (JSON shape, table, usage errors), the
metric registry and harness with real metric functions, and the pty far ends over real ptys.

Speed targets are not asserted here: the figures are measured by ``python -m bench``, and a shared test
machine would make such assertions flaky. The tests check that every figure is a positive finite number
and that the figures agree with each other.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from bench.errors import MeasurementError, MetricDefinitionError, UnknownMetricError
from bench.harness import check_result, run_metrics
from bench.metrics.serial import DECODE_FRAME_BYTES, LINE_BYTES_PER_S, RAW_PORT_SETTINGS, decode_stream
from bench.peers import answer
from bench.ptys import PtyPeer
from bench.registry import Registry, Result, RunOptions, Target, load_metrics
from bench.report import format_json, format_table
from bench.stats import median, percentile
from bench.timing import interleaved_samples, repeat_seconds
from hal.icd import ACK_LAYOUT, DRILL, NACK_LAYOUT
from hal.protocol import AckResult, Flags, Frame, FrameDecoder, MsgType, NackCode, encode_frame

REPO = Path(__file__).resolve().parents[2]
COMMON_FIELDS = {"value", "unit", "raw", "raw_unit", "ratio", "target", "ok", "elapsed_s"}
SUBPROCESS_TIMEOUT_S = 60


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )


def read_exactly(port: serial.SerialBase, size: int, attempts: int = 200) -> bytes:
    """Up to ``size`` bytes, trying at most ``attempts`` reads of the port's timeout each."""
    data = b""
    for _ in range(attempts):
        data += port.read(size - len(data))
        if len(data) >= size:
            break
    return data


def positive_finite(value: object) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return is_number and math.isfinite(value) and value > 0


# ------------------------------------------------------------------------------- python -m bench
def test_quick_json_decode_metric_has_the_documented_shape() -> None:
    done = run_bench("--quick", "--json", "--only", "serial_decode_x_line")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # the whole of stdout is one JSON object
    assert list(document) == ["serial_decode_x_line"]
    entry = document["serial_decode_x_line"]
    assert set(entry) >= COMMON_FIELDS
    assert entry["unit"] == "x"
    assert entry["raw_unit"] == "B/s"
    assert entry["raw"] == LINE_BYTES_PER_S == 92_160
    assert entry["target"] == ">= 50"
    assert isinstance(entry["ok"], bool)
    for name in ("value", "ratio", "frames_per_s", "bytes_per_s"):
        assert positive_finite(entry[name]), (name, entry[name])
    assert entry["ratio"] == entry["value"]
    assert entry["frame_bytes"] == DECODE_FRAME_BYTES
    assert math.isclose(entry["bytes_per_s"], entry["frames_per_s"] * DECODE_FRAME_BYTES, rel_tol=1e-9)
    assert math.isclose(entry["value"], entry["bytes_per_s"] / entry["raw"], rel_tol=1e-9)
    assert entry["slowest_x"] <= entry["value"] <= entry["fastest_x"]  # the median lies within the repeats


def test_quick_json_round_trip_metric_relates_project_to_raw() -> None:
    done = run_bench("--quick", "--json", "--only", "serial_rtt_x_raw")
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["serial_rtt_x_raw"]
    assert set(entry) >= COMMON_FIELDS
    assert (entry["unit"], entry["raw_unit"], entry["target"]) == ("x", "us", "<= 2.0")
    for name in ("value", "raw", "ratio", "project_us", "raw_us", "project_p90_us", "raw_p90_us"):
        assert positive_finite(entry[name]), (name, entry[name])
    assert entry["raw"] == entry["raw_us"]
    assert math.isclose(entry["value"], entry["project_us"] / entry["raw_us"], rel_tol=1e-9)
    assert entry["ratio"] == entry["value"]
    assert math.isclose(entry["overhead_us"], entry["project_us"] - entry["raw_us"], rel_tol=1e-9, abs_tol=1e-9)
    assert entry["project_p90_us"] >= entry["project_us"]
    assert entry["raw_p90_us"] >= entry["raw_us"]
    payload = DRILL.command("spin").pack({"rpm": 120.0})
    assert entry["request_bytes"] == len(encode_frame(Frame(DRILL.address, MsgType.COMMAND, 1, payload)))
    ack = ACK_LAYOUT.pack(DRILL.command("spin").id, AckResult.DONE)
    assert entry["ack_bytes"] == len(encode_frame(Frame(DRILL.address, MsgType.ACK, 1, ack, Flags.RESPONSE)))
    assert entry["round_trips"] == 500


def test_table_has_a_row_per_selected_metric_with_a_mark() -> None:
    done = run_bench("--quick", "--only", "serial_decode_x_line")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["metric", "value", "unit", "raw", "limit", "ratio", "target", "ok"]
    row = next(line for line in lines if line.startswith("serial_decode_x_line "))
    assert "92,160 B/s" in row
    assert row.split()[-1] in {"pass", "FAIL"}
    assert "running serial_decode_x_line" in done.stderr


def test_unknown_key_is_a_usage_error_naming_the_known_keys() -> None:
    done = run_bench("--json", "--only", "serial_decode_x_line,no_such_metric")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "no_such_metric" in done.stderr
    assert "serial_decode_x_line" in done.stderr and "serial_rtt_x_raw" in done.stderr


def test_help_and_list_name_every_registered_metric_with_its_target() -> None:
    keys = load_metrics().keys()
    assert {"serial_rtt_x_raw", "serial_decode_x_line"} <= set(keys)
    for args in (("--help",), ("--list",)):
        done = run_bench(*args)
        assert done.returncode == 0, done.stderr
        for key in keys:
            assert key in done.stdout
        assert "target <= 2.0" in done.stdout and "target >= 50" in done.stdout


# ------------------------------------------------------------------------------ registry, harness
def test_target_parses_and_judges() -> None:
    at_most = Target.parse("<= 2.0")
    assert (at_most.op, at_most.threshold, str(at_most)) == ("<=", 2.0, "<= 2.0")
    assert at_most.met_by(2.0) and not at_most.met_by(2.01)
    above = Target.parse(">50")
    assert above.met_by(50.5) and not above.met_by(50)
    assert Target.parse(" >= 1e3 ").met_by(1000)


@pytest.mark.parametrize("text", ["", "2.0", "== 2", "<= two", "<= 1e999", "<= 2 x"])
def test_bad_target_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(MetricDefinitionError, match="expected"):
        Target.parse(text)


def test_registry_refuses_bad_keys_units_and_duplicates() -> None:
    registry = Registry()
    with pytest.raises(MetricDefinitionError, match="snake_case"):
        registry.metric("Bad-Key", unit="x")
    with pytest.raises(MetricDefinitionError, match="unit"):
        registry.metric("good_key", unit=" ")

    @registry.metric("twice", unit="x")
    def first(options: RunOptions) -> Result:
        return Result(1.0)

    with pytest.raises(MetricDefinitionError, match="registered twice"):

        @registry.metric("twice", unit="x")
        def second(options: RunOptions) -> Result:
            return Result(2.0)

    with pytest.raises(UnknownMetricError, match="expected one of: twice"):
        registry.select(["twice", "absent"])


def build_registry() -> Registry:
    """Three real metrics: one without a raw limit, one that fails, one that returns a bad number."""
    registry = Registry()

    @registry.metric("count_items", unit="items/s", target=">= 10")
    def count_items(options: RunOptions) -> Result:
        """Items per second, no raw limit."""
        items = options.pick(full=1000, quick=100)
        return Result(value=float(sum(1 for _ in range(items))), extra={"items": items})

    @registry.metric("broken_metric", unit="x", target="<= 1")
    def broken_metric(options: RunOptions) -> Result:
        raise MeasurementError("far end never answered")

    @registry.metric("nan_metric", unit="x")
    def nan_metric(options: RunOptions) -> Result:
        return Result(value=float("nan"))

    return registry


def test_harness_reports_missing_raw_as_null_and_keeps_going_after_errors() -> None:
    registry = build_registry()
    started: list[str] = []
    outcomes = run_metrics(
        registry.select(["broken_metric", "count_items", "nan_metric"]),
        RunOptions(quick=True),
        on_start=lambda metric: started.append(metric.key),
    )
    assert started == ["broken_metric", "count_items", "nan_metric"]
    document = json.loads(format_json(outcomes))
    assert list(document) == started
    counted = document["count_items"]
    assert (counted["value"], counted["raw"], counted["ratio"], counted["ok"]) == (100.0, None, None, True)
    assert counted["items"] == 100 and "error" not in counted
    broken = document["broken_metric"]
    assert broken["value"] is None and broken["ok"] is False
    assert broken["error"] == "MeasurementError: far end never answered"
    assert "expected a finite number" in document["nan_metric"]["error"]
    table = format_table(outcomes)
    count_row = next(line for line in table.splitlines() if line.startswith("count_items"))
    assert count_row.split()[1:] == ["100.00", "items/s", "-", "-", ">=", "10", "pass"]
    assert any(line.startswith("broken_metric") and line.endswith("ERROR") for line in table.splitlines())
    assert "broken_metric: error: MeasurementError: far end never answered" in table


def test_result_check_refuses_wrong_types_and_reserved_extra_names() -> None:
    metric = build_registry().select(["count_items"])[0]
    with pytest.raises(MeasurementError, match="expected a bench Result"):
        check_result(metric, 3.0)
    with pytest.raises(MeasurementError, match="reserved"):
        check_result(metric, Result(1.0, extra={"ok": 1}))
    with pytest.raises(MeasurementError, match="raw is inf"):
        check_result(metric, Result(1.0, raw=float("inf")))
    assert check_result(metric, Result(1.0, raw=2.0, ratio=0.5, extra={"note": "text"})).ratio == 0.5


# ---------------------------------------------------------------------------------- stats, timing
def test_median_and_nearest_rank_percentile() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert median(samples) == 3.0
    assert median([1.0, 2.0]) == 1.5
    assert percentile(samples, 0.9) == 5.0
    assert percentile(samples, 0.2) == 1.0
    assert percentile(samples, 1.0) == 5.0
    with pytest.raises(ValueError, match="no samples"):
        median([])
    with pytest.raises(ValueError, match="fraction"):
        percentile(samples, 0.0)


def test_interleaved_samples_alternate_blocks_and_reverse_the_order() -> None:
    calls: list[str] = []
    samples = interleaved_samples((lambda: calls.append("a"), lambda: calls.append("b")), rounds=5, warmup=1, block=2)
    assert "".join(calls) == "ab" + "aabb" + "bbaa" + "ab"
    assert [len(case) for case in samples] == [5, 5]
    assert all(positive_finite(us) or us == 0 for case in samples for us in case)
    with pytest.raises(ValueError, match="must be > 0"):
        interleaved_samples((lambda: None,), rounds=0, warmup=0, block=1)


def test_repeat_seconds_warms_up_then_times_each_repeat() -> None:
    calls: list[int] = []
    durations = repeat_seconds(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and len(durations) == 3
    assert all(seconds >= 0 for seconds in durations)


# -------------------------------------------------------------------------- decode stream, peers
def test_decode_stream_frames_are_32_bytes_and_decode_back() -> None:
    stream = decode_stream(300)
    assert stream[0] == 0 and len(stream) == 1 + 300 * DECODE_FRAME_BYTES
    assert all(segment for segment in stream[1:-1].split(b"\x00"))  # no empty segment: 32 bytes each
    decoder = FrameDecoder()
    frames = []
    for start in range(0, len(stream), 4096):
        frames += decoder.feed(stream[start : start + 4096])
    assert len(frames) == 300
    assert [frame.seq for frame in frames] == list(range(300))
    assert {frame.msg_type for frame in frames} == {MsgType.TELEMETRY}
    assert decoder.stats.frames_ok == 300 and decoder.stats.crc_errors == 0


def test_device_answer_acks_commands_nacks_empty_ones_and_ignores_the_rest() -> None:
    spin = DRILL.command("spin")
    ack = answer(Frame(DRILL.address, MsgType.COMMAND, 41, spin.pack({"rpm": 10.0})))
    assert ack is not None
    (reply,) = FrameDecoder().feed(ack)
    assert (reply.msg_type, reply.seq, reply.address) == (MsgType.ACK, 41, DRILL.address)
    assert reply.flags == Flags.RESPONSE
    assert ACK_LAYOUT.unpack(reply.payload) == {"command": spin.id, "result": AckResult.DONE}
    nack = answer(Frame(DRILL.address, MsgType.COMMAND, 42, b""))
    assert nack is not None
    (refused,) = FrameDecoder().feed(nack)
    assert refused.msg_type == MsgType.NACK and refused.seq == 42
    assert NACK_LAYOUT.unpack(refused.payload)["code"] == NackCode.BAD_LENGTH
    assert answer(Frame(DRILL.address, MsgType.HEARTBEAT, 43, bytes(4))) is None


def test_device_far_end_answers_over_a_real_pty_and_exits_on_hang_up() -> None:
    spin = DRILL.command("spin")
    peer = PtyPeer("device")
    with peer, serial.serial_for_url(peer.path, **RAW_PORT_SETTINGS) as port:
        decoder = FrameDecoder()
        for seq in (1, 2, 3):
            port.write(encode_frame(Frame(DRILL.address, MsgType.COMMAND, seq, spin.pack({"rpm": 50.0}))))
            frames: list[Frame] = []
            for _ in range(200):  # at most 200 reads of READ_SLICE_S each
                frames += decoder.feed(port.read(64))
                if frames:
                    break
            assert [(frame.msg_type, frame.seq) for frame in frames] == [(MsgType.ACK, seq)]
    assert peer.returncode == 0


def test_echo_far_end_returns_the_reply_byte_count_per_request() -> None:
    peer = PtyPeer("echo", "--request-bytes", "7", "--reply-bytes", "3")
    with peer, serial.serial_for_url(peer.path, **RAW_PORT_SETTINGS) as port:
        port.write(b"\x01" * 10)  # one full request and the start of the next
        first = read_exactly(port, 3)
        port.write(b"\x02" * 4)  # completes the second request
        second = read_exactly(port, 3)
        assert len(first) == 3 and len(second) == 3
        assert port.read(1) == b""  # nothing more: no request pending
    assert peer.returncode == 0


def test_far_end_that_cannot_start_is_a_measurement_error() -> None:
    peer = PtyPeer("echo", "--request-bytes", "0", "--reply-bytes", "1")
    with pytest.raises(MeasurementError, match="did not report ready"):
        peer.__enter__()
    assert peer.returncode == 2  # argparse refused the byte count; the process was reaped


def test_the_demo_s_memory_is_its_own_peak_not_the_bench_s() -> None:
    """flight_rss_mb reads the demo's own high-water mark: ``wait4``'s ru_maxrss carries the parent's peak into
    the child (a bench that had grown to 190 MB reported 190 MB for a 55 MB flight process)."""
    ballast = bytearray(400 * 2**20)
    ballast[:: 2**12] = b"\1" * len(range(0, len(ballast), 2**12))  # touch every page: resident
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.metrics._own_peak", "demo", "--headless", "--max-sim-hours", "0.01", "--json"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    del ballast
    assert process.stdout is not None
    out = process.stdout.read()
    _, _status, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    *printed, last = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert printed and "sim_seconds" in printed[-1]  # the demo's own summary comes first
    own_kb = last["own_peak_rss_kb"]
    assert isinstance(own_kb, int) and 10 * 1024 < own_kb < 300 * 1024
    assert usage.ru_maxrss > 400 * 1024 > own_kb  # what the old measurement reported: this process's ballast
