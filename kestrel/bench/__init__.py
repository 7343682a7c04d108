"""Benchmark harness: Kestrel measured side by side with Elastic's ``eql``.

- :mod:`kestrel.bench.workload` generates a deterministic Linux ECS event
  stream and detection rule sets from a seed, so every run (and the peer)
  sees exactly the same input;
- :mod:`kestrel.bench.peer_eql` runs the same queries through ``eql``'s
  PythonEngine (a test/bench-only dependency, imported lazily);
- :mod:`kestrel.bench.runner` runs the scenarios, each in a fresh
  subprocess so peak memory is per scenario, and behind ``kestrel bench``;
- :mod:`kestrel.bench.report` prints the table.

Nothing here is imported by the engine; importing this package costs nothing
until a scenario runs.
"""
