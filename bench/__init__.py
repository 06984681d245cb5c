"""Benchmarks of the jaffle_activity project (not tests; see bench/README.md)."""
