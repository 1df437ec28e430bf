"""The collector set-up of the commands that own their process: it runs in a child
process here, since a freeze would keep the test process's whole heap for good."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

PROBE = """
import gc
from pgqueue import collector
{before}
collector.set_up_for_service()
print(gc.isenabled(), gc.get_threshold()[0], gc.get_freeze_count() > 0)
"""


def after(before: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(before=before)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_startup_objects_are_frozen_and_young_passes_made_rarer() -> None:
    assert after("") == "True 10000 True"


def test_a_higher_threshold_is_kept() -> None:
    assert after("gc.set_threshold(50_000)") == "True 50000 True"


def test_a_collector_turned_off_is_left_off_and_nothing_frozen() -> None:
    assert after("gc.disable()") == "False 700 False"
