"""Benchmarks of the derivative engines (`make bench`)."""
