"""The benchmark harness (``make bench``, ``python -m benchmarks``): outside the runtime package.

One run measures, on the same deterministic workload (:mod:`benchmarks.workload`), the
enrichment core alone beside decode + NFC (:mod:`benchmarks.core`), then on the broker a
plain aiokafka loop (:mod:`benchmarks.aiokafka_loop`, the client's ceiling), a Faust
passthrough agent (:mod:`benchmarks.passthrough`, the framework's ceiling) and the worker
in several configurations (:mod:`benchmarks.stream`), the worker's end-to-end latency at
half load and its memory (:mod:`benchmarks.rss`). :mod:`benchmarks.report` writes the JSON
and the table, :mod:`benchmarks.chart` the PNG.
"""
