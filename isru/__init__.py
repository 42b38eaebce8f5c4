"""The composition root: the command line, config assembly, the simulated stack and the pytest plugin. It may
import every other package; nothing imports it."""
