"""A job's row stores only the options that differ from the format's defaults, and reads
back the options it was given, in their order."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pgqueue.options import build_spec, loaded_options, stored_options_json
from tests.helpers import PLAIN_OPTIONS as PLAIN


def resolved(**options: object) -> dict[str, object]:
    return build_spec("plain", "n", {}, options, 1 << 20).options.opts


def test_a_job_with_no_options_stores_none_and_reads_back_every_default() -> None:
    opts = resolved()
    assert opts == PLAIN
    assert stored_options_json(opts) == "{}"
    assert loaded_options({}) == PLAIN
    assert loaded_options(None) == PLAIN


def test_options_read_back_as_given_in_their_order() -> None:
    for opts in (
        resolved(priority=1, backoff=250, timeout=9_000, job_id="k", remove_on_fail=True),
        resolved(run_at=datetime(2030, 1, 2, tzinfo=UTC), remove_on_complete={"age": 60}),
        resolved(lifo=True, attempts=7, remove_on_complete=False),
        resolved(delay=5, backoff={"type": "exponential", "delay": 2000}),
    ):
        stored = json.loads(stored_options_json(opts))
        assert set(stored) < set(opts)
        assert list(loaded_options(stored).items()) == list(opts.items())


def test_a_value_equal_to_a_default_only_by_python_s_equality_is_kept() -> None:
    # True == 1, and 1.0 == 1: a bool or a float where the default is an int says
    # something else, and must come back as it was.
    for name, value in (("remove_on_complete", True), ("delay", 0.0), ("attempts", 3.0)):
        opts = {**PLAIN, name: value}
        stored = json.loads(stored_options_json(opts))
        assert stored == {name: value}
        assert type(loaded_options(stored)[name]) is type(value)


def test_rows_written_with_every_option_read_back_unchanged() -> None:
    full = {**PLAIN, "timeout": 100, "job_id": "old"}
    assert list(loaded_options(json.loads(json.dumps(full))).items()) == list(full.items())


def test_each_job_gets_options_of_its_own() -> None:
    first, second = loaded_options({}), loaded_options({})
    first["backoff"]["delay"] = 1
    assert second["backoff"]["delay"] == 2000
    assert loaded_options({})["backoff"]["delay"] == 2000
