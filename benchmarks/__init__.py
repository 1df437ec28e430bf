"""Throughput and latency benchmarks for pgqueue's engine (`make bench`).

They measure the targets DESIGN.md sets (drain rate of one worker process, `add_bulk`
rate, enqueue-to-start latency, stats and drain with a million kept rows) against a
fresh database, so that a change to the engine can be judged by numbers. They are not
tests: nothing here asserts a time.
"""
