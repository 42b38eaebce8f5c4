"""The mission state diagram (Mermaid ``stateDiagram-v2`` from the flight machine) with the current
state highlighted.

Flight exports the diagram with a ``classDef s_active`` and one ``Class <state> <class>`` line per top
state. Highlighting rewrites those lines: every state back to ``s_default``, then the current leaf state
(``mission.state``, e.g. ``extract_drill``) and, if it is nested, its parent marked ``s_active``.
"""

from __future__ import annotations

import re

_CLASS_LINE = re.compile(r"^(\s*)[Cc]lass\s+(\S+)\s+(\S+)\s*$")
_STATE_DECL = re.compile(r'^\s*state\s+"[^"]*"\s+as\s+(\S+)\s*$')
_ACTIVE = "s_active"
_DEFAULT = "s_default"


def diagram_states(diagram: str) -> set[str]:
    """Ids of every state declared in ``diagram`` (``state "drill" as extract_drill`` gives ``extract_drill``)."""
    states = set()
    for line in diagram.splitlines():
        match = _STATE_DECL.match(line)
        if match:
            states.add(match.group(1))
    return states


def highlight(diagram: str, state: str | None) -> str:
    """``diagram`` with ``state`` (a state id of the diagram, or None for none) marked active.

    A state the diagram does not declare highlights nothing (the diagram is returned with no state
    active) rather than producing Mermaid that fails to render.
    """
    if not diagram:
        return diagram
    lines = []
    for line in diagram.splitlines():
        match = _CLASS_LINE.match(line)
        if match and match.group(3) == _ACTIVE:
            line = f"{match.group(1)}class {match.group(2)} {_DEFAULT}"
        elif match:
            line = f"{match.group(1)}class {match.group(2)} {match.group(3)}"
        lines.append(line)
    states = diagram_states(diagram)
    if state and state in states:
        marked = [state]
        parent = state.split("_", 1)[0]
        if parent != state and parent in states:
            marked.insert(0, parent)
        lines.extend(f"  class {name} {_ACTIVE}" for name in marked)
    return "\n".join(lines) + "\n"
