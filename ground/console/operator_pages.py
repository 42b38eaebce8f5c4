"""The operator views added to the console's core set: parameters, the command stack, the mission map,
the campaign timeline, the full state diagram and (simulation only) rehearsal. :func:`register` adds their
pages and the stack's console-wide timer; :data:`VIEWS` are their menu entries."""

from __future__ import annotations

from nicegui import ui

from ground.console import campaign, diagram_view, mission_map, parameters, rehearsal, stack_view
from ground.console.context import ConsoleContext
from ground.console.layout import add_views

#: Menu entries of these views: (path, title).
VIEWS = (
    ("/map", "Map"),
    ("/campaign", "Campaign"),
    ("/parameters", "Parameters"),
    ("/stack", "Stack"),
    ("/diagram", "Diagram"),
    ("/rehearsal", "Rehearsal"),
)
#: Views shown in the menu only when flight's dictionary offers them: path → test of the dictionary.
CONDITIONAL = {"/rehearsal": rehearsal.available}


def register(ctx: ConsoleContext) -> None:
    """Add the pages of these views, their menu entries, and the stack's timer."""
    add_views((path, name, CONDITIONAL.get(path)) for path, name in VIEWS)
    stack_view.register(ctx)
    pages = {
        "/map": mission_map.view,
        "/campaign": campaign.view,
        "/parameters": parameters.view,
        "/stack": stack_view.view,
        "/diagram": diagram_view.view,
        "/rehearsal": rehearsal.view,
    }
    for path, draw in pages.items():
        ui.page(path)(lambda draw=draw: draw(ctx))
