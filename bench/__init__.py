"""Benchmarks of the jaffle_activity project (not tests; see docs/benchmarks.md)."""
