"""Benchmarks: obstac against the tools users would pick, on the same origins, in one run.

Run ``python -m benchmarks`` (quick mode, the ``make bench`` target) or
``python -m benchmarks --full``. Every peer runs in its own subprocess against the same origin
behind the same simulated link (:mod:`benchmarks.network`); each figure is reported as a ratio
to obstac measured in the same run, and as an efficiency against the link's limit. See
``benchmarks/README.md`` for the method and the latest numbers.

Modules: :mod:`benchmarks.model` (data types), :mod:`benchmarks.scenarios`,
:mod:`benchmarks.origins`, :mod:`benchmarks.network` (the proxy chain and the ideal time),
:mod:`benchmarks.peers` (one module per peer), :mod:`benchmarks.runner` (subprocesses and
metrics), :mod:`benchmarks.report` (table, JSON, PNG).
"""
