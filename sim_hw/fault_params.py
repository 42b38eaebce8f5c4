"""The parameters a fault takes, declared once: each emulator's ``inject_<kind>`` hook names its parameters'
ranges and choices with :func:`declares`, and both the hook (when called) and the parse-time check
(:mod:`sim_hw.fault_specs`, behind ``isru demo --inject``) test values against that one declaration, so the
two cannot disagree. The line faults and sensor symptoms every device has are declared here too
(:data:`LINE_FAULTS`, :data:`SENSOR_PARAMS`).

Numbers must be finite (NaN never passes) unless the parameter says ``forever``: then ``inf`` means "until
cleared" (a duration). Flags are ``true``/``false`` (or 1/0).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

from sim_hw.errors import FaultParameterError

P = ParamSpec("P")
R = TypeVar("R")

#: The attribute :func:`declares` sets on a hook: its parameters' declaration.
PARAMS_ATTR = "fault_params"


@dataclass(frozen=True)
class FaultParam:
    """One parameter of a fault: a number (``lo``..``hi`` in ``unit``; ``lo`` excluded when ``above``), a flag,
    or one of ``choices``. ``forever``: ``inf`` is meaningful (a duration without end); ``none_ok``: a caller in
    Python may pass None for "the default" (the command line cannot)."""

    type: str  # "number", "flag" or "choice"
    lo: float = -math.inf
    hi: float = math.inf
    above: bool = False
    forever: bool = False
    none_ok: bool = False
    choices: tuple[str, ...] = ()
    unit: str = ""

    def accepts(self, value: Any) -> bool:
        """True if ``value`` is one this parameter takes."""
        if value is None:
            return self.none_ok
        if self.type == "flag":
            return isinstance(value, bool | int | float) and value in (0, 1)
        if self.type == "choice":
            return isinstance(value, str) and value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if math.isnan(value) or (math.isinf(value) and not (self.forever and value > 0)):
            return False
        above_lo = value > self.lo if self.above else value >= self.lo
        return above_lo and value <= self.hi

    def expected(self) -> str:
        """What this parameter takes, in words (for error messages and the docs)."""
        if self.type == "flag":
            return "true, false, 1 or 0"
        if self.type == "choice":
            return f"one of {list(self.choices)}"
        unit = f" {self.unit}" if self.unit else ""
        lowest = f"> {self.lo:g}" if self.above else f">= {self.lo:g}"
        if math.isinf(self.hi):
            bounds = lowest
        elif self.above:
            bounds = f"{lowest} and <= {self.hi:g}"
        else:
            bounds = f"in {self.lo:g}..{self.hi:g}"
        tail = ", or inf (forever)" if self.forever else ""
        return f"a finite number {bounds}{unit}{tail}"


def number(
    lo: float,
    hi: float = math.inf,
    *,
    unit: str = "",
    above: bool = False,
    forever: bool = False,
    none_ok: bool = False,
) -> FaultParam:
    """A numeric parameter: finite, ``lo`` <= value <= ``hi`` (``lo`` < value when ``above``)."""
    return FaultParam("number", lo, hi, above=above, forever=forever, none_ok=none_ok, unit=unit)


def flag() -> FaultParam:
    """A boolean parameter (``true``/``false``, 1/0)."""
    return FaultParam("flag")


def choice(options: tuple[str, ...] | list[str]) -> FaultParam:
    """A parameter that is one of ``options``."""
    return FaultParam("choice", choices=tuple(options))


#: Line faults (any device, :mod:`sim_hw.port_faults`): kind → its parameters.
LINE_FAULTS: dict[str, dict[str, FaultParam]] = {
    "corrupt": {"rate": number(0.0, 1.0, unit="per byte")},
    "drop": {"rate": number(0.0, 1.0, unit="per byte")},
    "latency": {"seconds": number(0.0, 60.0, unit="s")},
    "disconnect": {},
    "reconnect": {},
    "clear_line": {},
}
#: Sensor symptoms (any device): the numeric parameters (``field``, one of the device's telemetry fields, is
#: checked against the device's table).
SENSOR_PARAMS: dict[str, FaultParam] = {
    "duration_s": number(0.0, unit="s", above=True, forever=True),
    "sigma": number(0.0, unit="(the field's unit)"),
}


def check_params(where: str, declared: Mapping[str, FaultParam], given: Mapping[str, Any]) -> None:
    """Raise :class:`FaultParameterError` naming ``where`` (``device.kind``), the parameter, the value given and
    what was expected, if ``given`` holds a name ``declared`` lacks or a value it refuses."""
    for name, value in given.items():
        param = declared.get(name)
        if param is None:
            raise FaultParameterError(f"{where}: no parameter {name!r}; expected one of {sorted(declared) or 'none'}")
        if not param.accepts(value):
            raise FaultParameterError(f"{where}: {name}={value!r}; expected {param.expected()}")


def declares(**declared: FaultParam) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate an emulator's ``inject_<kind>`` hook with its parameters' declaration: every parameter the hook
    takes must be declared (checked at import), and every call is checked against the declaration before the
    hook runs; :func:`declared_params` reads it back for checking without a world."""

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(method)
        takes = [name for name in signature.parameters if name != "self"]
        if set(takes) != set(declared):
            raise TypeError(f"{method.__qualname__} takes {takes} but declares {sorted(declared)}")
        kind = method.__name__.removeprefix("inject_")

        @functools.wraps(method)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            given = dict(signature.bind(*args, **kwargs).arguments)
            owner = given.pop("self", None)
            spec = getattr(owner, "spec", None)
            check_params(f"{getattr(spec, 'name', type(owner).__name__)}.{kind}", declared, given)
            return method(*args, **kwargs)

        setattr(checked, PARAMS_ATTR, MappingProxyType(dict(declared)))
        return checked

    return wrap


def declared_params(hook: Any) -> Mapping[str, FaultParam] | None:
    """The declaration :func:`declares` attached to ``hook``, or None for an undeclared hook."""
    params: Mapping[str, FaultParam] | None = getattr(hook, PARAMS_ATTR, None)
    return params
