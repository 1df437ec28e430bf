"""`make bench` at a tiny size, so that the benchmark never rots. Nothing here asserts a
time: the benchmark's numbers mean something only at full size, on a quiet machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow

MODES = {
    "compare": ["--jobs", "400", "--batch", "200", "--enqueue-jobs", "600", "--repeats", "1"],
    "engine": [
        "--engine",
        "--quick",
        "--jobs",
        "300",
        "--latency-jobs",
        "5",
        "--kept",
        "2000",
        "--kept-jobs",
        "300",
    ],
    "backlog": ["--backlog", "--backlog-jobs", "600", "--batch", "300", "--repeats", "1"],
    "scale": ["--scale", "--scale-drains", "2", "--scale-jobs", "300", "--concurrency", "50"],
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_benchmark_runs_end_to_end(mode: str, db_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--json", *MODES[mode]],
        env={**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    results = report["results"]
    measured = {name for name, r in results.items() if r["samples"]}
    if mode == "compare":
        expected = {"raw", "add_bulk", "drain_100", "drain_500", "drain_p2", "p2_by_cpu"}
        assert expected <= measured
        # The -p 2 target is read from CPU per job: twice one process's cost, over two's.
        by_cpu = results["p2_by_cpu"]["samples"][0]
        assert by_cpu == pytest.approx(2 / results["p2_cpu_vs_p1"]["samples"][0])
    elif mode == "engine":
        expected = {"add_bulk", "drain", "latency_median", "drain_kept", "drain_beside"}
        assert expected <= measured
        # Each drain with the rows kept is read against the drain beside it, in its pair.
        kept, beside = results["drain_kept"]["samples"], results["drain_beside"]["samples"]
        ratios = [k / b for k, b in zip(kept, beside, strict=True)]
        assert results["drain_kept_vs_drain"]["samples"] == pytest.approx(ratios)
    elif mode == "backlog":
        assert measured == set(results)
        assert results["backlog_rate"]["samples"][0] > 0
    else:
        assert {"rate", "table_mb", "dead_tuples"} <= measured
        assert len(results["table_mb"]["samples"]) == 2
