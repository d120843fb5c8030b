"""Benchmarks of tribe-sync (see README.md)."""
