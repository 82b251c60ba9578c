"""Benchmark harness of bench/run; see bench/run and BENCHMARKS.md."""
