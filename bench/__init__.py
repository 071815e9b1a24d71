"""Benchmarks and the synthetic cluster generator (``bench.synth``); not part of the package."""
