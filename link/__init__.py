"""The flight ↔ ground link: the one package both sides share (schema, wire format, keys, security, light-time).

:mod:`link.schema` is the contract (dictionary entries, value types, severities, stages, argument validation);
flight imports the package for its link server and its dictionary, ground for its client and its view of the
dictionary; neither imports the other's internals.
"""
