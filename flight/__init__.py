"""The flight segment on the rover: executive, mission, interlocks, fault protection, parameters, sequences,
persistence and the link server. It drives devices through hal and talks to ground through link."""
