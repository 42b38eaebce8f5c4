"""Fault protection by limit checking, in the manner of NASA cFS's Limit Checker.

A :class:`Watchpoint` compares one telemetry channel with a threshold every tick. It is *true* only after
``persistence`` consecutive true comparisons, *stale* when the channel has not been updated for
``stale_s`` seconds, and in *error* when the channel's value is not a number; stale and error are
neither true nor false.

An :class:`Actionpoint` combines watchpoints in a boolean expression (``and``, ``or``, ``not``,
parentheses; see :mod:`flight.fdir_expression`) and fires once when the expression becomes true:

* ``active`` — raises its event and hands its response (``hold``, ``safe``, ``retract``,
  ``sequence:<name>``) to the ``responder(response, reason)`` callback; ``event`` means the event alone;
* ``passive`` — raises an event saying what it *would have* done, and does nothing else;
* ``disabled`` — is not evaluated.

It re-arms when the expression becomes false, when an operator resets it (``fdir.reset``) or when its
mode is changed (``fdir.set_mode``); an unknown result (a stale watchpoint) neither fires nor re-arms.
:class:`FaultProtection` runs the table: the executive calls :meth:`FaultProtection.tick` each cycle.
"""

from __future__ import annotations

import enum
import logging
import math
import numbers
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from base.clock import Clock
from flight import fdir_expression
from flight.commands import ArgSpec, command
from flight.config_fdir import MODES, OPS, RESPONSES, SEQUENCE_NAME, SEVERITIES, FdirConfig
from flight.errors import CommandRejected
from flight.events import EventLog, Severity
from flight.telemetry import ChannelSpec, TelemetryTable

_LOGGER = logging.getLogger(__name__)

#: ``responder(response, reason)``: carries out ``hold``, ``safe``, ``retract`` or ``sequence:<name>``.
Responder = Callable[[str, str], None]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_SEVERITY = {name: Severity[name.upper()] for name in SEVERITIES}
SOURCE = "fdir"


class WatchState(enum.StrEnum):
    """A watchpoint's result."""

    UNKNOWN = "unknown"  # not evaluated yet, or waiting for a channel's first sample
    FALSE = "false"
    TRUE = "true"
    STALE = "stale"  # no update for longer than stale_s
    ERROR = "error"  # the value is not a number


#: Per-watchpoint and per-actionpoint fields of :meth:`FaultProtection.telemetry` (``fdir.<name>.<field>``).
_WATCH_FIELDS = ("state", "consecutive", "evaluations", "true_count", "stale_count")
_ACTION_FIELDS = ("state", "mode", "result", "fires", "passive_fires")
_RESULT_TEXT = {True: "true", False: "false", None: "unknown"}


@dataclass
class Watchpoint:
    """``channel <op> threshold``, true after ``persistence`` consecutive true comparisons.

    ``stale_s`` is in seconds; ``threshold`` is in the channel's unit. Counters: ``evaluations``
    (comparisons made), ``true_count`` (transitions to true), ``stale_count`` (stale episodes).
    """

    name: str
    channel: str
    op: str
    threshold: float
    persistence: int = 1
    stale_s: float = 5.0
    description: str = ""
    state: WatchState = WatchState.UNKNOWN
    consecutive: int = 0
    evaluations: int = 0
    true_count: int = 0
    stale_count: int = 0
    error_count: int = 0
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"watchpoint {self.name}: op must be one of {list(OPS)}, found {self.op!r}")
        if self.persistence < 1:
            raise ValueError(f"watchpoint {self.name}: persistence must be >= 1, found {self.persistence}")
        if not self.stale_s > 0:
            raise ValueError(f"watchpoint {self.name}: stale_s must be > 0 s, found {self.stale_s}")

    @property
    def truth(self) -> bool | None:
        """True, False, or None when stale, in error or not yet known."""
        if self.state is WatchState.TRUE:
            return True
        if self.state is WatchState.FALSE:
            return False
        return None

    def evaluate(self, telemetry: TelemetryTable, now: float, since: float, floor_s: float = 0.0) -> WatchState:
        """Compare the channel's latest value; ``now`` and ``since`` (when checking began) are epoch s.

        The channel is stale when older than ``max(stale_s, floor_s)``: ``floor_s`` (s) is what the
        channel's device stream allows at its present period (see :meth:`FaultProtection.stream_period`).
        A channel never seen is stale once that limit has passed since checking began. A stale or
        erroneous sample breaks the run of consecutive true comparisons.
        """
        limit = max(self.stale_s, floor_s)
        age = telemetry.age(self.channel, now)
        if math.isinf(age):
            age = now - since
            if age <= limit:
                return self._set(WatchState.UNKNOWN)
        if age > limit:
            self.consecutive = 0
            return self._set(WatchState.STALE)
        value = telemetry.get(self.channel)
        self.value = value
        if not isinstance(value, numbers.Real) or (isinstance(value, float) and math.isnan(value)):
            self.consecutive = 0
            return self._set(WatchState.ERROR)
        self.evaluations += 1
        if _COMPARE[self.op](value, self.threshold):
            self.consecutive += 1
            return self._set(WatchState.TRUE if self.consecutive >= self.persistence else WatchState.FALSE)
        self.consecutive = 0
        return self._set(WatchState.FALSE)

    def _set(self, state: WatchState) -> WatchState:
        if state is not self.state:
            if state is WatchState.TRUE:
                self.true_count += 1
            elif state is WatchState.STALE:
                self.stale_count += 1
            elif state is WatchState.ERROR:
                self.error_count += 1
        self.state = state
        return state

    def describe(self) -> str:
        """``channel op threshold [for n]``, for messages."""
        text = f"{self.channel} {self.op} {self.threshold:g}"
        return text if self.persistence == 1 else f"{text} for {self.persistence}"


@dataclass
class Actionpoint:
    """A boolean expression of watchpoints and the response it fires once when the expression becomes true."""

    name: str
    expression: str
    response: str
    mode: str = "active"
    severity: str = "warning"
    message: str = ""
    armed: bool = True
    result: bool | None = None
    fires: int = 0
    passive_fires: int = 0
    tree: fdir_expression.Node = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self.tree = fdir_expression.parse(self.expression)
        except fdir_expression.ExpressionError as exc:
            raise ValueError(f"actionpoint {self.name}: expression {self.expression!r}: {exc}") from exc
        if self.mode not in MODES:
            raise ValueError(f"actionpoint {self.name}: mode must be one of {list(MODES)}, found {self.mode!r}")
        if self.severity not in _SEVERITY:
            raise ValueError(
                f"actionpoint {self.name}: severity must be one of {list(SEVERITIES)}, found {self.severity!r}"
            )
        prefix, _, sequence = self.response.partition(":")
        if self.response not in RESPONSES and not (prefix == "sequence" and SEQUENCE_NAME.fullmatch(sequence)):
            raise ValueError(
                f"actionpoint {self.name}: response must be one of {list(RESPONSES)} or sequence:<name>, "
                f"found {self.response!r}"
            )

    @property
    def state(self) -> str:
        """``disabled``, ``armed`` or ``fired``."""
        if self.mode == "disabled":
            return "disabled"
        return "armed" if self.armed else "fired"

    def evaluate(self, truth: Callable[[str], bool | None]) -> bool:
        """Evaluate the expression; True when the actionpoint fires now (it disarms itself)."""
        if self.mode == "disabled":
            self.result = None
            return False
        self.result = fdir_expression.evaluate(self.tree, truth)
        if self.result is True and self.armed:
            self.armed = False
            return True
        if self.result is False:
            self.armed = True
        return False


class FaultProtection:
    """Evaluates the watchpoint and actionpoint table against the telemetry table each tick."""

    def __init__(
        self,
        watchpoints: Iterable[Watchpoint],
        actionpoints: Iterable[Actionpoint],
        telemetry: TelemetryTable,
        events: EventLog,
        clock: Clock,
        responder: Responder,
    ) -> None:
        self.watchpoints: dict[str, Watchpoint] = {}
        self.actionpoints: dict[str, Actionpoint] = {}
        for wp in watchpoints:
            if wp.name in self.watchpoints:
                raise ValueError(f"watchpoint {wp.name!r} is defined twice")
            self.watchpoints[wp.name] = wp
        for ap in actionpoints:
            if ap.name in self.actionpoints or ap.name in self.watchpoints:
                raise ValueError(f"actionpoint {ap.name!r}: the name is already used")
            unknown = sorted(fdir_expression.names(ap.tree) - set(self.watchpoints))
            if unknown:
                raise ValueError(
                    f"actionpoint {ap.name!r} refers to unknown watchpoint {unknown[0]!r}; "
                    f"expected one of {sorted(self.watchpoints)}"
                )
            self.actionpoints[ap.name] = ap
        self.telemetry_table = telemetry
        self.events = events
        self.clock = clock
        self.responder = responder
        self.ticks = 0
        self._since: float | None = None
        #: Per device (channel prefix), the least staleness limit its present streaming period allows (s).
        self._floors: dict[str, float] = {}
        #: Watchpoints on channels of devices this rover does not have (see :meth:`absent_devices`).
        self.not_applicable: set[str] = set()
        # Channel names of telemetry(), built once (the tables do not change after construction).
        self._watch_channels = [
            (wp, tuple(f"fdir.{name}.{field}" for field in _WATCH_FIELDS)) for name, wp in self.watchpoints.items()
        ]
        self._action_channels = [
            (ap, tuple(f"fdir.{name}.{field}" for field in _ACTION_FIELDS)) for name, ap in self.actionpoints.items()
        ]

    @classmethod
    def from_config(
        cls, config: FdirConfig, telemetry: TelemetryTable, events: EventLog, clock: Clock, responder: Responder
    ) -> FaultProtection:
        """Build from a table loaded with :func:`flight.config_fdir.load_fdir`."""
        watchpoints = [
            Watchpoint(name, c.channel, c.op, c.threshold, c.persistence, c.stale_s, c.description)
            for name, c in config.watchpoints.items()
        ]
        actionpoints = [
            Actionpoint(name, c.expression, c.response, c.mode, c.severity, c.message)
            for name, c in config.actionpoints.items()
        ]
        return cls(watchpoints, actionpoints, telemetry, events, clock, responder)

    def absent_devices(self, devices: Iterable[str]) -> list[str]:
        """This rover has none of ``devices`` (an asteroid hopper has no wheels): the watchpoints on their channels
        are not evaluated — they stay ``unknown``, never stale — and one info event names them. Returns them."""
        absent = set(devices)
        names = sorted(n for n, wp in self.watchpoints.items() if wp.channel.split(".", 1)[0] in absent)
        self.not_applicable = set(names)
        if names:
            self.events.info(
                SOURCE,
                "watchpoints_not_applicable",
                f"{len(names)} watchpoints watch devices this rover does not have ({', '.join(sorted(absent))}), "
                f"not evaluated: {', '.join(names)}",
                watchpoints=names,
            )
        return names

    def stream_period(self, device: str, period_s: float) -> None:
        """``device`` now streams every ``period_s`` seconds (0: on request only).

        A watchpoint on its channels is then stale only when older than two such periods (its own
        ``stale_s`` if that is longer): a stream slowed on purpose (the quiet rates) is not a stale line,
        while two missed samples in a row still are. At the device's own fast period the configured
        ``stale_s`` governs, as before.
        """
        self._floors[device] = 2.0 * period_s if period_s > 0 else 0.0

    def stale_limit(self, wp: Watchpoint) -> float:
        """The staleness limit (s) in force for ``wp`` now."""
        return max(wp.stale_s, self._floors.get(wp.channel.split(".", 1)[0], 0.0))

    # ------------------------------------------------------------------------------------- tick
    def tick(self, _now: float = 0.0) -> None:
        """Evaluate every watchpoint, then every actionpoint (the executive calls this each cycle).

        Channel ages are measured against ``clock.now()``, the time base of the telemetry table.
        """
        now = self.clock.now()
        if self._since is None:
            self._since = now
        self.ticks += 1
        skip = self.not_applicable
        for wp in self.watchpoints.values():
            if skip and wp.name in skip:
                continue
            before = wp.state
            after = wp.evaluate(self.telemetry_table, now, self._since, self.stale_limit(wp))
            if after is not before:
                self._report_watch(wp, before, after, now)
        for ap in self.actionpoints.values():
            if ap.evaluate(self._truth):
                self._fire(ap)

    def _truth(self, name: str) -> bool | None:
        return self.watchpoints[name].truth

    def _report_watch(self, wp: Watchpoint, before: WatchState, after: WatchState, now: float) -> None:
        if after is WatchState.STALE:
            age = self.telemetry_table.age(wp.channel, now)
            found = "never updated" if math.isinf(age) else f"last updated {age:.1f} s ago"
            self.events.warning(
                SOURCE,
                "watchpoint_stale",
                f"watchpoint {wp.name}: {wp.channel} is stale ({found}; limit {self.stale_limit(wp):g} s)",
                watchpoint=wp.name,
                channel=wp.channel,
            )
        elif after is WatchState.ERROR:
            self.events.warning(
                SOURCE,
                "watchpoint_error",
                f"watchpoint {wp.name}: {wp.channel} = {wp.value!r} is not a number",
                watchpoint=wp.name,
                channel=wp.channel,
            )
        elif before in (WatchState.STALE, WatchState.ERROR):
            self.events.info(
                SOURCE,
                "watchpoint_recovered",
                f"watchpoint {wp.name}: {wp.channel} has valid data again",
                watchpoint=wp.name,
                channel=wp.channel,
            )

    def _fire(self, ap: Actionpoint) -> None:
        reason = f"fdir:{ap.name}: {ap.message or ap.expression}"
        detail = {"actionpoint": ap.name, "response": ap.response, "expression": ap.expression}
        if ap.mode == "passive":
            ap.passive_fires += 1
            self.events.info(
                SOURCE,
                "actionpoint_passive",
                f"actionpoint {ap.name} would have {ap.response} ({ap.expression}): {ap.message}",
                **detail,
            )
            return
        ap.fires += 1
        self.events.emit(
            _SEVERITY[ap.severity],
            SOURCE,
            "actionpoint_fired",
            f"actionpoint {ap.name} fired ({ap.expression}): {ap.message} -> {ap.response}",
            **detail,
        )
        if ap.response == "event":
            return
        try:
            self.responder(ap.response, reason)
        except Exception as exc:  # fault protection keeps running whatever the response does
            _LOGGER.exception("response %s of actionpoint %s failed", ap.response, ap.name)
            self.events.error(
                SOURCE, "response_failed", f"actionpoint {ap.name}: response {ap.response} failed: {exc!r}", **detail
            )

    # ------------------------------------------------------------------------------- operations
    def actionpoint(self, name: str) -> Actionpoint:
        """The actionpoint called ``name``; ``CommandRejected('invalid_argument')`` naming the known ones."""
        try:
            return self.actionpoints[name]
        except KeyError:
            raise CommandRejected(
                "invalid_argument", f"no actionpoint {name!r}; expected one of {sorted(self.actionpoints)}"
            ) from None

    def set_mode(self, name: str, mode: str) -> None:
        """Set actionpoint ``name`` to ``mode`` and re-arm it."""
        if mode not in MODES:
            raise CommandRejected("out_of_range", f"mode: expected one of {list(MODES)}, found {mode!r}")
        ap = self.actionpoint(name)
        previous, ap.mode, ap.armed = ap.mode, mode, True
        if mode == "disabled":
            ap.result = None
        self.events.info(
            SOURCE, "actionpoint_mode", f"actionpoint {name}: mode {previous} -> {mode}", actionpoint=name, mode=mode
        )

    def reset(self, name: str) -> None:
        """Re-arm actionpoint ``name``: it fires again if its expression is still true at the next tick."""
        ap = self.actionpoint(name)
        ap.armed = True
        self.events.info(SOURCE, "actionpoint_reset", f"actionpoint {name} re-armed", actionpoint=name)

    @command(
        "fdir.set_mode",
        "Set a fault protection actionpoint to active, passive or disabled (it is re-armed).",
        ArgSpec("actionpoint", "str", description="actionpoint name"),
        ArgSpec("mode", "str", choices=MODES, description="active acts, passive only reports, disabled ignores"),
    )
    def cmd_set_mode(self, actionpoint: str, mode: str) -> None:
        """Handler of ``fdir.set_mode``."""
        self.set_mode(actionpoint, mode)

    @command(
        "fdir.reset",
        "Re-arm a fault protection actionpoint that has fired.",
        ArgSpec("actionpoint", "str", description="actionpoint name"),
    )
    def cmd_reset(self, actionpoint: str) -> None:
        """Handler of ``fdir.reset``."""
        self.reset(actionpoint)

    # -------------------------------------------------------------------------------- telemetry
    def telemetry(self) -> dict[str, Any]:
        """State and counters of every watchpoint and actionpoint, as ``fdir.<name>.<field>``."""
        values: dict[str, Any] = {"fdir.ticks": self.ticks}
        for wp, (state, consecutive, evaluations, true_count, stale_count) in self._watch_channels:
            values[state] = wp.state.value
            values[consecutive] = wp.consecutive
            values[evaluations] = wp.evaluations
            values[true_count] = wp.true_count
            values[stale_count] = wp.stale_count
        for ap, (state, mode, result, fires, passive_fires) in self._action_channels:
            values[state] = ap.state
            values[mode] = ap.mode
            values[result] = _RESULT_TEXT[ap.result]
            values[fires] = ap.fires
            values[passive_fires] = ap.passive_fires
        return values

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of the channels :meth:`telemetry` reports."""
        specs = [ChannelSpec("fdir.ticks", unit="count", description="fault protection evaluation cycles", type="int")]
        for name, wp in self.watchpoints.items():
            what = f"watchpoint {name} ({wp.describe()})"
            specs += [
                ChannelSpec(
                    f"fdir.{name}.state", unit="enum", description=f"{what}: unknown/false/true/stale/error", type="str"
                ),
                ChannelSpec(
                    f"fdir.{name}.consecutive",
                    unit="count",
                    description=f"{what}: true comparisons in a row",
                    type="int",
                ),
                ChannelSpec(
                    f"fdir.{name}.evaluations", unit="count", description=f"{what}: comparisons made", type="int"
                ),
                ChannelSpec(
                    f"fdir.{name}.true_count", unit="count", description=f"{what}: transitions to true", type="int"
                ),
                ChannelSpec(
                    f"fdir.{name}.stale_count", unit="count", description=f"{what}: stale episodes", type="int"
                ),
            ]
        for name, ap in self.actionpoints.items():
            what = f"actionpoint {name} ({ap.expression} -> {ap.response})"
            specs += [
                ChannelSpec(f"fdir.{name}.state", unit="enum", description=f"{what}: armed/fired/disabled", type="str"),
                ChannelSpec(
                    f"fdir.{name}.mode", unit="enum", description=f"{what}: active/passive/disabled", type="str"
                ),
                ChannelSpec(f"fdir.{name}.result", unit="enum", description=f"{what}: true/false/unknown", type="str"),
                ChannelSpec(f"fdir.{name}.fires", unit="count", description=f"{what}: responses fired", type="int"),
                ChannelSpec(
                    f"fdir.{name}.passive_fires", unit="count", description=f"{what}: would-have events", type="int"
                ),
            ]
        return specs
