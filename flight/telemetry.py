"""The flight telemetry table: latest value and time of every channel, plus the channel dictionary.

Channels are named ``<source>.<field>`` (``drill.rpm``, ``extractor.chamber_temp_K``,
``exec.control.slips``). Each has a :class:`link.schema.ChannelSpec` (unit, description, limits) that ground uses
to build plots and alarms. Writers call :meth:`TelemetryTable.update`; readers (fault protection,
interlocks, the link) read the latest value and its age.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from link.schema import ChannelSpec, type_of

__all__ = ["BatchListener", "ChannelSpec", "Listener", "Sample", "TelemetryTable"]


@dataclass(slots=True)
class Sample:
    """A channel's latest value and the clock time (epoch seconds) it was taken."""

    value: Any
    t: float


Listener = Callable[[str, Any, float], None]
#: Hears a whole update at once: (channel → value, the clock time they were taken, epoch s).
BatchListener = Callable[[dict[str, Any], float], None]


class TelemetryTable:
    """Latest value of every channel.

    Values and their times are kept in two dicts, so that an update of many channels (a publication of
    a few hundred at the telemetry rate) is two C-level ``dict.update`` calls when no per-sample listener
    listens; a batch listener (:meth:`subscribe_batch`, the link's packet collector) takes the update whole.
    """

    def __init__(self) -> None:
        self.specs: dict[str, ChannelSpec] = {}
        #: Entries for channels that appear while flight runs (``interlocks.trips.<rule>``), by name prefix.
        self.families: dict[str, ChannelSpec] = {}
        self._values: dict[str, Any] = {}
        self._times: dict[str, float] = {}
        self._listeners: list[Listener] = []
        self._batch_listeners: list[BatchListener] = []
        # The same lookup as :meth:`get`, without a Python frame: interlocks and fault protection read
        # channels a thousand times per simulated second.
        self.get = self._values.get  # type: ignore[method-assign, assignment]

    @property
    def samples(self) -> dict[str, Sample]:
        """Every channel's latest :class:`Sample` (a copy)."""
        times = self._times
        return {name: Sample(value, times[name]) for name, value in self._values.items()}

    def define(self, spec: ChannelSpec) -> None:
        """Add (or replace) a channel's dictionary entry."""
        self.specs[spec.name] = spec

    def define_family(self, prefix: str, spec: ChannelSpec) -> None:
        """Describe channels named ``prefix<anything>`` that are first seen later with ``spec`` (its name is
        replaced by the channel's; ``{suffix}`` in its description by what follows ``prefix``)."""
        self.families[prefix] = spec

    def define_many(self, specs: Iterable[ChannelSpec]) -> None:
        """Add several channel entries."""
        for spec in specs:
            self.define(spec)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(channel, value, t)`` for every update."""
        self._listeners.append(listener)

    def subscribe_batch(self, listener: BatchListener) -> None:
        """Call ``listener(values, t)`` with every update whole (``values``: channel → value, in update order;
        the listener must not keep the dict, the caller may reuse it)."""
        self._batch_listeners.append(listener)

    def update(self, values: dict[str, Any], t: float) -> None:
        """Record ``values`` (channel → value) taken at ``t``."""
        known = self._values
        count = len(known)
        if not self._listeners:
            known.update(values)
            self._times.update(dict.fromkeys(values, t))
            if len(known) != count:
                self._describe_new(values)
            for batch in self._batch_listeners:
                batch(values, t)
            return
        for batch in self._batch_listeners:
            batch(values, t)
        times = self._times
        for name, value in values.items():
            known[name] = value
            times[name] = t
            if len(known) != count:
                count = len(known)
                self._describe_new({name: value})
            for listener in self._listeners:
                listener(name, value, t)

    def _describe_new(self, values: dict[str, Any]) -> None:
        """Give channels seen for the first time without a dictionary entry one from their value's type."""
        specs = self.specs
        for name, value in values.items():
            if name not in specs:
                specs[name] = self._family_spec(name) or ChannelSpec(name, type=type_of(value))

    def _family_spec(self, name: str) -> ChannelSpec | None:
        for prefix, spec in self.families.items():
            if name.startswith(prefix):
                description = spec.description.replace("{suffix}", name[len(prefix) :])
                return dataclasses.replace(spec, name=name, description=description)
        return None

    def get(self, name: str, default: Any = None) -> Any:
        """The latest value of ``name`` (``default`` if never seen)."""
        return self._values.get(name, default)

    def age(self, name: str, now: float) -> float:
        """Seconds since ``name`` was last updated (``inf`` if never)."""
        t = self._times.get(name)
        return math.inf if t is None else now - t

    def snapshot(self) -> dict[str, Any]:
        """Every channel's latest value."""
        return dict(self._values)

    def dictionary(self) -> list[dict[str, Any]]:
        """The channel dictionary, sorted by name."""
        return [self.specs[name].as_dict() for name in sorted(self.specs)]
