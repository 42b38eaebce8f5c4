"""The flight ↔ ground link: the one module both sides share (wire format, keys, security, light-time).

Flight imports it for its link server, ground for its client; neither imports the other's internals.
"""
