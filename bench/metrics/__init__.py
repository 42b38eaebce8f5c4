"""Benchmark metrics, one topic per module.

Every public module here is imported by :func:`bench.registry.load_metrics`; its functions decorated
with :func:`bench.registry.metric` become the keys of ``python -m bench``. Modules whose name starts
with ``_`` hold shared private code and are not imported automatically.
"""
