"""Stored sequences: real files, a real Dispatcher and Executive on a VirtualClock, and a small component
whose commands record what they did and when."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from base.clock import VIRTUAL_EPOCH_S, VirtualClock
from base.config_loader import ConfigError, load_text
from flight.commands import ArgSpec, CommandRegistry, Job, command
from flight.config_fdir import SequencesConfig, load_fdir_text
from flight.dispatcher import Dispatcher, MemoryIdStore, Stage
from flight.errors import CommandRejected
from flight.events import EventLog
from flight.executive import Executive
from flight.fdir import FaultProtection
from flight.sequence_file import load_directory, parse_utc
from flight.sequences import SeqState, SequenceRunner
from flight.telemetry import TelemetryTable
from hal.icd import DEVICES

REPO_ROOT = Path(__file__).resolve().parents[2]
PERIOD_S = 0.25  # control period: a binary fraction, so tick times are exact


class Bench:
    """Test component: immediate and long-running commands that log what they did at which clock time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.done: list[tuple[str, float]] = []
        self.interrupted: list[str] = []

    @command("test.mark", "Record a tag now.", ArgSpec("tag", "str"))
    def mark(self, tag: str) -> None:
        self.done.append((tag, self.clock.monotonic()))

    @command("test.work", "Work for a number of ticks, then record.", ArgSpec("tag", "str"), ArgSpec("ticks", "int"))
    def work(self, tag: str, ticks: int) -> Job:
        def job() -> Job:
            finished = False
            try:
                for i in range(ticks):
                    yield i / ticks
                self.done.append((tag, self.clock.monotonic()))
                finished = True
            finally:
                if not finished:
                    self.interrupted.append(tag)

        return job()

    @command("test.refuse", "Always refused.", ArgSpec("why", "str"))
    def refuse(self, why: str) -> None:
        raise CommandRejected("refused", why)

    @command("test.break", "Fails after a number of ticks.", ArgSpec("ticks", "int"))
    def break_after(self, ticks: int) -> Job:
        def job() -> Job:
            for _ in range(ticks):
                yield None
            raise CommandRejected("stalled", "motor stalled")

        return job()


class Rig:
    """Clock, events, dispatcher, runner and an executive ticking dispatcher then runner every PERIOD_S."""

    def __init__(self, directory: Path, id_store: MemoryIdStore | None = None) -> None:
        self.clock = VirtualClock()
        self.events = EventLog(self.clock)
        self.registry = CommandRegistry()
        self.bench = Bench(self.clock)
        self.registry.register(self.bench)
        self.dispatcher = Dispatcher(self.registry, self.clock, self.events, id_store)
        self.runner = SequenceRunner(self.dispatcher, self.clock, self.events, directory)
        self.registry.register(self.runner)
        self.executive = Executive(self.clock, self.events, {"control": PERIOD_S})
        self.executive.add_task("control", "dispatcher", self.dispatcher.tick)
        self.executive.add_task("control", "sequences", self.runner.tick)
        self.statuses = []
        self.dispatcher.on_status(self.statuses.append)

    def command(self, command_name: str, **args):
        return self.dispatcher.submit(command_name, args, source="operator")

    def run_until(self, t: float) -> None:
        """Run every control tick scheduled up to and including monotonic time ``t``."""
        while min(group.next_due for group in self.executive.groups) <= t + 1e-9:
            self.executive.run_once()

    def named(self, name: str) -> list:
        return [e for e in self.events.recent if e.name == name]


def write(directory: Path, name: str, steps: str, filename: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (filename or f"{name}.toml")
    path.write_text(f'name = "{name}"\ndescription = "test sequence {name}"\n{steps}')
    return path


def utc(offset_s: float) -> str:
    """The RFC 3339 text of the virtual clock's epoch plus ``offset_s``."""
    moment = dt.datetime.fromtimestamp(VIRTUAL_EPOCH_S + offset_s, dt.UTC)
    return moment.isoformat().replace("+00:00", "Z")


def step(cmd: str, args: str = "", tag: str = "") -> str:
    return f'\n[[steps]]\ncommand = "{cmd}"\nargs = {{ {args} }}\n{tag}\n'


@pytest.fixture
def seqdir(tmp_path: Path) -> Path:
    return tmp_path / "sequences"


# ------------------------------------------------------------------------------------------ timing
def test_relative_tags_time_exactly_on_the_virtual_clock(seqdir) -> None:
    write(
        seqdir,
        "rel",
        step("test.mark", 'tag = "a"')
        + step("test.mark", 'tag = "b"', "after_s = 1.5")
        + step("test.work", 'tag = "c", ticks = 3', "after_s = 0.75")
        + step("test.mark", 'tag = "d"', "after_s = 1.0"),
    )
    rig = Rig(seqdir)
    assert rig.command("seq.run", name="rel").stage is Stage.COMPLETED
    rig.run_until(6.0)
    # c starts at 2.25 and completes three dispatcher ticks later (3.0); d comes 1.0 s after that
    assert rig.bench.done == [("a", 0.0), ("b", 1.5), ("c", 3.0), ("d", 4.0)]
    assert rig.runner.state is SeqState.COMPLETED
    ids = [s.id for s in rig.statuses if s.source == "sequence" and s.stage is Stage.COMPLETED]
    assert ids == ["seq:rel:1:0", "seq:rel:1:1", "seq:rel:1:2", "seq:rel:1:3"]
    assert len(rig.named("sequence_completed")) == 1


def test_absolute_tags_compare_with_clock_now(seqdir) -> None:
    write(
        seqdir,
        "abs",
        step("test.mark", 'tag = "x"', f'at = "{utc(10)}"')
        + step("test.mark", 'tag = "y"', "after_s = 1.0")
        + step("test.mark", 'tag = "z"', f'at = "{utc(12.5)}"'),
    )
    rig = Rig(seqdir)
    rig.command("seq.run", name="abs")
    rig.run_until(9.75)
    assert rig.bench.done == []
    assert rig.runner.state is SeqState.WAITING
    rig.run_until(14.0)
    assert rig.bench.done == [("x", 10.0), ("y", 11.0), ("z", 12.5)]
    assert not rig.named("step_late")


def test_absolute_time_in_the_past_runs_at_once_with_an_event(seqdir) -> None:
    write(seqdir, "late", step("test.mark", 'tag = "x"', f'at = "{utc(10)}"') + step("test.mark", 'tag = "y"'))
    rig = Rig(seqdir)
    rig.clock.advance(20.0)
    rig.command("seq.run", name="late")
    rig.run_until(21.0)
    assert rig.bench.done == [("x", 20.0), ("y", 20.0)]
    late = rig.named("step_late")
    assert len(late) == 1
    assert "step 0 (test.mark)" in late[0].message and "10.000 s past; running now" in late[0].message


# ----------------------------------------------------------------------------------------- failure
def test_failed_step_stops_the_sequence(seqdir) -> None:
    write(
        seqdir,
        "fails",
        step("test.mark", 'tag = "a"') + step("test.refuse", 'why = "no power"') + step("test.mark", 'tag = "b"'),
    )
    rig = Rig(seqdir)
    rig.command("seq.run", name="fails")
    rig.run_until(3.0)
    assert rig.bench.done == [("a", 0.0)]
    assert rig.runner.state is SeqState.FAILED
    failed = rig.named("sequence_failed")
    assert len(failed) == 1
    assert "step 1 (test.refuse) failed: refused (no power)" in failed[0].message
    telemetry = rig.runner.telemetry()
    assert telemetry["seq.state"] == "failed"
    assert telemetry["seq.step"] == 1
    assert "refused" in telemetry["seq.failure"]
    assert telemetry["seq.failed"] == 1


def test_long_step_failing_midway_stops_the_sequence(seqdir) -> None:
    write(seqdir, "stall", step("test.break", "ticks = 2") + step("test.mark", 'tag = "never"'))
    rig = Rig(seqdir)
    rig.command("seq.run", name="stall")
    rig.run_until(0.25)
    assert rig.runner.state is SeqState.RUNNING
    rig.run_until(2.0)
    assert rig.bench.done == []
    assert rig.runner.state is SeqState.FAILED
    assert "step 0 (test.break) failed: stalled (motor stalled)" in rig.named("sequence_failed")[0].message


def test_invalid_step_arguments_are_rejected_before_anything_runs(seqdir) -> None:
    write(seqdir, "bad_args", step("test.mark", 'tag = "a"') + step("test.mark", "tag = 5"))
    write(seqdir, "bad_cmd", step("test.mark", 'tag = "a"') + step("test.nothing"))
    rig = Rig(seqdir)
    status = rig.command("seq.run", name="bad_args")
    assert status.stage is Stage.FAILED and status.reason == "invalid_argument"
    assert "sequence bad_args step 1 (test.mark): tag: expected str" in status.message
    status = rig.command("seq.run", name="bad_cmd")
    assert status.reason == "unknown_command" and "step 1 (test.nothing)" in status.message
    rig.run_until(1.0)
    assert rig.bench.done == []
    assert rig.runner.state is SeqState.IDLE
    unknown = rig.command("seq.run", name="nope")
    assert unknown.reason == "invalid_argument" and "bad_args" in unknown.message


# ------------------------------------------------------------------------------ pause resume abort
def test_pause_holds_the_remaining_wait_and_resume_continues_it(seqdir) -> None:
    write(
        seqdir,
        "waits",
        step("test.mark", 'tag = "a"')
        + step("test.mark", 'tag = "b"', "after_s = 2.0")
        + step("test.mark", 'tag = "c"', "after_s = 1.0"),
    )
    rig = Rig(seqdir)
    rig.command("seq.run", name="waits")
    rig.run_until(1.0)
    assert rig.command("seq.pause").stage is Stage.COMPLETED
    assert rig.runner.state is SeqState.PAUSED
    rig.run_until(6.0)
    assert rig.bench.done == [("a", 0.0)]
    assert rig.command("seq.resume").stage is Stage.COMPLETED
    rig.run_until(9.0)
    # 1.0 s of the 2.0 s wait was left at the pause
    assert rig.bench.done == [("a", 0.0), ("b", 7.0), ("c", 8.0)]
    assert len(rig.named("sequence_paused")) == 1 and len(rig.named("sequence_resumed")) == 1


def test_pause_does_not_interrupt_a_running_step(seqdir) -> None:
    write(seqdir, "hold", step("test.work", 'tag = "w", ticks = 4') + step("test.mark", 'tag = "e"'))
    rig = Rig(seqdir)
    rig.command("seq.run", name="hold")
    rig.run_until(0.5)
    rig.command("seq.pause")
    rig.run_until(3.0)
    assert rig.bench.done == [("w", 1.0)]
    assert rig.bench.interrupted == []
    assert rig.runner.state is SeqState.PAUSED
    assert rig.runner.telemetry()["seq.step"] == 1
    rig.command("seq.resume")
    rig.run_until(4.0)
    assert rig.bench.done == [("w", 1.0), ("e", 3.25)]


def test_a_sequence_may_pause_itself(seqdir) -> None:
    write(seqdir, "selfpause", step("test.mark", 'tag = "a"') + step("seq.pause") + step("test.mark", 'tag = "b"'))
    rig = Rig(seqdir)
    rig.command("seq.run", name="selfpause")
    rig.run_until(2.0)
    assert rig.bench.done == [("a", 0.0)]
    assert rig.runner.state is SeqState.PAUSED
    rig.command("seq.resume")
    rig.run_until(3.0)
    assert rig.bench.done == [("a", 0.0), ("b", 2.25)]


def test_abort_cancels_the_running_step(seqdir) -> None:
    write(seqdir, "long", step("test.work", 'tag = "w", ticks = 8') + step("test.mark", 'tag = "never"'))
    rig = Rig(seqdir)
    rig.command("seq.run", name="long")
    rig.run_until(0.5)
    assert rig.command("seq.abort").stage is Stage.COMPLETED
    rig.run_until(4.0)
    assert rig.bench.done == []
    assert rig.bench.interrupted == ["w"]
    cancelled = rig.dispatcher.last_status["seq:long:1:0"]
    assert cancelled.stage is Stage.FAILED and cancelled.reason == "sequence_aborted"
    assert rig.runner.state is SeqState.ABORTED
    assert "aborted at step 0 of 2" in rig.named("sequence_aborted")[0].message
    assert rig.dispatcher.active == []


def test_control_commands_when_nothing_runs(seqdir) -> None:
    write(seqdir, "one", step("test.mark", 'tag = "a"'))
    rig = Rig(seqdir)
    assert rig.command("seq.pause").reason == "not_running"
    assert rig.command("seq.resume").reason == "not_paused"
    assert rig.command("seq.abort").reason == "not_running"


def test_only_one_sequence_runs_at_a_time(seqdir) -> None:
    write(seqdir, "first", step("test.work", 'tag = "w", ticks = 4'))
    write(seqdir, "second", step("test.mark", 'tag = "s"'))
    rig = Rig(seqdir)
    rig.command("seq.run", name="first")
    busy = rig.command("seq.run", name="second")
    assert busy.stage is Stage.FAILED and busy.reason == "busy"
    assert "first is waiting" in busy.message
    rig.run_until(2.0)
    assert rig.command("seq.run", name="second").stage is Stage.COMPLETED
    rig.run_until(3.0)
    assert [tag for tag, _ in rig.bench.done] == ["w", "s"]


# ------------------------------------------------------------------------------ ids and run numbers
def test_rerun_gets_new_run_numbers_and_ids_never_execute_twice(seqdir) -> None:
    write(seqdir, "twice", step("test.mark", 'tag = "a"') + step("test.mark", 'tag = "b"'))
    rig = Rig(seqdir)
    rig.command("seq.run", name="twice")
    rig.run_until(1.0)
    rig.command("seq.run", name="twice")
    rig.run_until(2.0)
    assert [tag for tag, _ in rig.bench.done] == ["a", "b", "a", "b"]
    completed = [s.id for s in rig.statuses if s.source == "sequence" and s.stage is Stage.COMPLETED]
    assert completed == ["seq:twice:1:0", "seq:twice:1:1", "seq:twice:2:0", "seq:twice:2:1"]
    replay = rig.dispatcher.submit("test.mark", {"tag": "a"}, command_id="seq:twice:1:0", source="sequence")
    assert replay.stage is Stage.FAILED and replay.reason == "duplicate_id"
    assert len(rig.bench.done) == 4


def test_run_numbers_skip_ids_remembered_from_before_a_restart(seqdir) -> None:
    write(seqdir, "again", step("test.mark", 'tag = "a"') + step("test.mark", 'tag = "b"'))
    remembered = MemoryIdStore()
    for command_id in ("seq:again:1:0", "seq:again:1:1", "seq:again:2:0"):
        remembered.add(command_id)  # executed before the restart (run 2 died after its first step)
    rig = Rig(seqdir, remembered)
    rig.command("seq.run", name="again")
    rig.run_until(1.0)
    assert [tag for tag, _ in rig.bench.done] == ["a", "b"]
    assert rig.runner.telemetry()["seq.run"] == 3
    assert rig.runner.state is SeqState.COMPLETED


# ------------------------------------------------------------------------------------------ progress
def test_progress_telemetry(seqdir) -> None:
    write(
        seqdir,
        "prog",
        step("test.mark", 'tag = "a"')
        + step("test.work", 'tag = "w", ticks = 4', "after_s = 1.0")
        + step("test.mark", 'tag = "c"'),
    )
    rig = Rig(seqdir)
    idle = rig.runner.telemetry()
    assert idle["seq.state"] == "idle" and idle["seq.steps"] == 0 and idle["seq.loaded"] == 1
    rig.command("seq.run", name="prog")
    rig.run_until(0.5)
    waiting = rig.runner.telemetry()
    assert (waiting["seq.state"], waiting["seq.name"], waiting["seq.step"], waiting["seq.steps"]) == (
        "waiting",
        "prog",
        1,
        3,
    )
    assert waiting["seq.progress"] == pytest.approx(1 / 3)
    rig.run_until(1.25)
    assert rig.runner.telemetry()["seq.state"] == "running"
    rig.run_until(3.0)
    done = rig.runner.telemetry()
    assert (done["seq.state"], done["seq.step"], done["seq.progress"], done["seq.completed"]) == (
        "completed",
        3,
        1.0,
        1,
    )
    assert {c.name for c in rig.runner.channels()} == set(done)


# ------------------------------------------------------------------------------------- file checks
def _load_error(seqdir: Path, text: str) -> ConfigError:
    seqdir.mkdir(parents=True, exist_ok=True)
    path = seqdir / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_directory(seqdir)
    assert str(path) in str(info.value)
    return info.value


HEAD = 'name = "s"\n'


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (HEAD + step("test.mark", "", f'after_s = 1.0\nat = "{utc(5)}"'), "steps[0]", "one time tag"),
        (HEAD + step("test.mark", "", 'at = "tomorrow"'), "steps[0].at", "RFC 3339"),
        (HEAD + step("test.mark", "", 'at = "2030-01-01T02:00:00+02:00"'), "steps[0].at", "offset Z or +00:00"),
        (HEAD + step("test.mark", "", "at = 2030-01-01T00:00:10Z"), "steps[0].at", "a string"),
        (HEAD + step("test.mark", "", "after_s = -1.0"), "steps[0].after_s", "0.0..604800.0 s"),
        (HEAD + step("test.mark", "", 'after_s = "soon"'), "steps[0].after_s", "a number"),
        (HEAD + '[[steps]]\nargs = { tag = "a" }\n', "steps[0].command", "required"),
        (HEAD + step("test.mark", "", "wait_s = 2"), "steps[0].wait_s", "unknown key"),
        (HEAD + step("test.mark", "x = [1, 2]"), "steps[0].args.x", "bool or int or float or str"),
        (HEAD, "steps", "at least one"),
        ('name = "a:b"\n' + step("test.mark"), "name", "letters, digits"),
        (step("test.mark"), "name", "required"),
        (HEAD + "[[steps]\n", "", "valid TOML"),
    ],
)
def test_bad_sequence_files_name_file_key_expected_found(seqdir, text, key, fragment) -> None:
    error = _load_error(seqdir, text)
    assert error.key == key
    assert fragment in str(error)


def test_duplicate_names_and_missing_directory(tmp_path) -> None:
    first = write(tmp_path / "d", "same", step("test.mark"), filename="a.toml")
    second = write(tmp_path / "d", "same", step("test.mark"), filename="b.toml")
    with pytest.raises(ConfigError) as info:
        load_directory(tmp_path / "d")
    assert info.value.source == str(second) and str(first) in info.value.expected
    with pytest.raises(ConfigError, match="expected a directory of sequence TOML files"):
        load_directory(tmp_path / "missing")


def test_parse_utc() -> None:
    assert parse_utc("2030-01-01T00:00:10Z") == VIRTUAL_EPOCH_S + 10
    assert parse_utc("2030-01-01t00:00:10.25z") == VIRTUAL_EPOCH_S + 10.25
    assert parse_utc("2030-01-01T00:00:00+00:00") == VIRTUAL_EPOCH_S
    for text in ("2030-01-01", "2030-01-01T00:00:00", "20300101T000000Z", "2030-01-01T00:00:00-05:00"):
        with pytest.raises(ValueError):
            parse_utc(text)


def test_reload(seqdir) -> None:
    write(seqdir, "one", step("test.mark", 'tag = "a"'))
    rig = Rig(seqdir)
    write(seqdir, "two", step("test.mark", 'tag = "b"'))
    assert rig.command("seq.reload").stage is Stage.COMPLETED
    assert sorted(rig.runner.sequences) == ["one", "two"]
    (seqdir / "broken.toml").write_text('name = "three"\n')
    failed = rig.command("seq.reload")
    assert failed.reason == "invalid_config" and "broken.toml" in failed.message
    assert sorted(rig.runner.sequences) == ["one", "two"]
    assert [s["name"] for s in rig.runner.catalog()] == ["one", "two"]


def test_example_sequences_use_icd_commands_with_valid_arguments() -> None:
    directory = SequencesConfig().resolved()
    assert directory == REPO_ROOT / "configs" / "sequences"
    assert load_text('directory = "elsewhere"', SequencesConfig).resolved() == Path("elsewhere")
    sequences = load_directory(directory)
    assert len(sequences) >= 3
    assert any(st.at is not None for s in sequences.values() for st in s.steps)
    assert any(st.after_s > 0 for s in sequences.values() for st in s.steps)
    for sequence in sequences.values():
        for st in sequence.steps:
            device, _, name = st.command.partition(".")
            spec = DEVICES[device].command(name)
            assert set(st.args) == {a.name for a in spec.args}, (sequence.name, st.describe())
            assert spec.check(st.args) is None, (sequence.name, st.describe())
            for field in spec.args:  # flight takes f32 fields as float, the integer ones as int
                value = st.args[field.name]
                kinds = (int, float) if field.fmt == "f" else (int,)
                assert isinstance(value, kinds) and not isinstance(value, bool), (sequence.name, field.name)


def test_fault_protection_starts_a_sequence_through_its_responder(seqdir) -> None:
    """An actionpoint with response sequence:<name>, its responder starting the runner (as the app does)."""
    write(
        seqdir,
        "cool_down",
        step("test.mark", 'tag = "heater off"') + step("test.mark", 'tag = "vent"', "after_s = 0.5"),
    )
    rig = Rig(seqdir)
    table = TelemetryTable()
    table_text = """
[watchpoints.hot]
channel = "extractor.chamber_temp_K"
op = ">"
threshold = 720.0
persistence = 2
[actionpoints.overtemp]
expression = "hot"
response = "sequence:cool_down"
"""

    def responder(response: str, reason: str) -> None:
        kind, _, name = response.partition(":")
        assert kind == "sequence"
        rig.runner.start(name)

    config = load_fdir_text(table_text, sequence_names=rig.runner.sequences)
    fp = FaultProtection.from_config(config, table, rig.events, rig.clock, responder)
    rig.executive.add_task(
        "control",
        "chamber",
        lambda now: table.update({"extractor.chamber_temp_K": 700.0 + 40.0 * now}, rig.clock.now()),
    )
    rig.executive.add_task("control", "fdir", fp.tick)
    rig.run_until(2.0)
    # above 720 K from t = 0.75 (730 K); the second sample (1.0) fires; the runner starts at its next tick
    assert rig.bench.done == [("heater off", 1.25), ("vent", 1.75)]
    assert len(rig.named("actionpoint_fired")) == 1
