"""The mission state diagram as Mermaid text, for the ground dictionary and the console."""

from __future__ import annotations

from typing import Any

from flight.mission.states import STATES, transition_table


def export_diagram(title: str = "isru mission") -> str:
    """The mission state diagram as Mermaid text, generated from :data:`STATES` and the transition table."""
    from transitions.extensions.diagrams import HierarchicalGraphMachine

    class _Model:
        def will_prospect(self, *_: Any) -> bool:
            return True

        more_sites = more_cycles = will_prospect

        def remember_held(self, *_: Any) -> None:
            return None

    machine = HierarchicalGraphMachine(
        model=_Model(),
        states=STATES,
        transitions=transition_table(),
        initial="idle",
        auto_transitions=False,
        graph_engine="mermaid",
        title=title,
        show_conditions=True,
    )
    return machine.get_graph().draw(None)
