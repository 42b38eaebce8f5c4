"""Commands and their dictionary: one definition, generated from the code that handles them.

A handler is a method decorated with :func:`command`; the decorator's arguments (typed arguments with
units and ranges, the hazardous flag, the description) *are* the dictionary entry. The
:class:`CommandRegistry` collects decorated methods from the components that own them, so there is no
second list to keep in step.

A handler returns ``None`` when it is done at once, or a generator for a long-running command: the
dispatcher advances it once per control tick; each ``yield`` reports progress (a fraction 0..1 or None),
``return`` completes it, and raising :class:`~flight.errors.CommandRejected` fails it with a reason.

Arguments are :class:`link.schema.ArgSpec` and are checked by the schema's rules (ground checks the same);
flight words a refusal as a ``CommandRejected`` with reason ``invalid_argument`` or ``out_of_range``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from flight.errors import CommandRejected
from link.errors import ArgumentProblem, InvalidArgument
from link.schema import ArgSpec
from link.schema import CommandSpec as CommandEntry

__all__ = ["ArgSpec", "CommandRegistry", "CommandSpec", "Job", "command"]

Job = Generator[float | None, None, None]
#: How flight words a type an argument expected, where it is not the type's own name.
_TYPE_WORDS = {"scalar": "a string, number or boolean"}


@dataclass(frozen=True)
class CommandSpec(CommandEntry):
    """A command's dictionary entry (:class:`link.schema.CommandSpec`), the resource it holds while it runs
    and its bound handler."""

    resource: str = ""
    handler: Callable[..., Job | None] | None = field(default=None, compare=False, repr=False)

    def validate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Checked and converted arguments (defaults filled in), or ``CommandRejected`` with reason
        ``invalid_argument`` or ``out_of_range``."""
        try:
            return self.check(args)
        except InvalidArgument as exc:
            raise CommandRejected(exc.reason, self._rejection(exc)) from exc

    def _rejection(self, error: InvalidArgument) -> str:
        """Flight's wording of ``error`` (a command status message)."""
        problem, name, value = error.problem, error.argument, error.value
        arg = next((a for a in self.args if a.name == name), None)
        if problem is ArgumentProblem.UNKNOWN:
            return f"{self.name} has no argument {name!r}; expected among {sorted(a.name for a in self.args)}"
        if problem is ArgumentProblem.MISSING:
            return f"{self.name}: missing argument {name!r}"
        if arg is None:  # not about one declared argument (args not a map): the schema's own words
            return str(error)
        if problem is ArgumentProblem.WRONG_TYPE:
            expected = _TYPE_WORDS.get(arg.type, arg.type)
            return f"{name}: expected {expected}, found {type(value).__name__} {value!r}"
        if problem is ArgumentProblem.NOT_FINITE:
            return f"{name}: expected a finite number, found {value}"
        if problem is ArgumentProblem.BAD_CHOICE:
            return f"{name}: expected one of {list(arg.choices or ())}, found {value!r}"
        if problem is ArgumentProblem.OUT_OF_RANGE:
            unit = f" {arg.unit}" if arg.unit else ""
            return f"{name}: expected {arg.lo}..{arg.hi}{unit}, found {value}"
        return str(error)


_MARK = "__isru_command__"


def command(
    name: str, description: str, *args: ArgSpec, hazardous: bool = False, hazard: str = "", resource: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a method as the handler of command ``name``.

    ``hazard`` describes what can go wrong (shown before a hazardous command is confirmed). Commands that
    share a ``resource`` (e.g. ``drill``) do not run at the same time: the second fails ``busy``.
    """
    if hazardous and not hazard:
        raise ValueError(f"hazardous command {name!r} needs a hazard description")

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, _MARK, CommandSpec(name, description, args, hazardous, hazard, resource))
        return function

    return mark


class CommandRegistry:
    """Every command the flight segment accepts, collected from the components that handle them."""

    def __init__(self) -> None:
        self._specs: dict[str, CommandSpec] = {}

    def register(self, component: object) -> None:
        """Add every :func:`command`-decorated method of ``component``."""
        for attr in dir(type(component)):
            spec = getattr(getattr(type(component), attr), _MARK, None)
            if spec is None:
                continue
            if spec.name in self._specs:
                raise ValueError(f"command {spec.name!r} is defined twice")
            bound = CommandSpec(**{**spec.__dict__, "handler": getattr(component, attr)})
            self._specs[spec.name] = bound

    def add(self, spec: CommandSpec) -> None:
        """Add one command built at run time (e.g. from the device ICD); ``spec.handler`` must be set."""
        if spec.handler is None:
            raise ValueError(f"command {spec.name!r} has no handler")
        if spec.name in self._specs:
            raise ValueError(f"command {spec.name!r} is defined twice")
        self._specs[spec.name] = spec

    def spec(self, name: str) -> CommandSpec:
        """The command called ``name``, or ``CommandRejected('unknown_command')``."""
        try:
            return self._specs[name]
        except KeyError:
            raise CommandRejected("unknown_command", f"no command {name!r}") from None

    def names(self) -> list[str]:
        """Every command name, sorted."""
        return sorted(self._specs)

    def dictionary(self) -> list[dict[str, Any]]:
        """The command dictionary, sorted by name."""
        return [self._specs[n].as_dict() for n in self.names()]
