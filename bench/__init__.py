"""``python -m bench``: the project and its raw limits, measured in the same run, ratios printed.

Each metric is one function in a module under :mod:`bench.metrics`, registered with
:func:`bench.registry.metric`. It measures a piece of the project and the raw limit that piece sits on
(the bare OS call, the line rate, ...) and returns a :class:`bench.registry.Result`; the harness runs the
selected metrics, checks each value against its declared target and prints a table or one JSON object.
Times are medians: the machines this runs on are shared and noisy.
"""
