"""The autonomous mining mission: a state machine (:mod:`.machine`) over a state table (:mod:`.states`),
whose phases (prospect, anchor, extract, process, stow) are built from skills (navigation, anchoring,
drilling, heating, safing). Its set points are run-time parameters (:mod:`.params`)."""

from flight.mission.context import MissionFailure
from flight.mission.diagram import export_diagram
from flight.mission.machine import Mission
from flight.mission.progress import MissionProgress
from flight.mission.states import OPERATIONAL, STATES, TOP_LEVEL, transition_table

__all__ = [
    "OPERATIONAL",
    "STATES",
    "TOP_LEVEL",
    "Mission",
    "MissionFailure",
    "MissionProgress",
    "export_diagram",
    "transition_table",
]
