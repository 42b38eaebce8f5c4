"""The operator console: a NiceGUI web application over :class:`ground.core.GroundCore`.

One module per view (overview, plots, telemetry table, commands, command history, events, alarms,
sequences, archive history); :mod:`ground.console.app` registers them as pages and serves them.
Every rule (roles, hazardous confirmation, validation) is enforced by the ground core; the views only
present them.
"""
