"""Benchmarks: ``python -m bench.run`` (``make bench``); never collected by pytest."""
