"""Names defined once: job options and their camelCase forms, states, stats fields,
NOTIFY channels."""

from __future__ import annotations

import re

from pgqueue.models import JobState
from pgqueue.options import CAMEL_OPTIONS, KNOWN_OPTIONS, camel_case, option_name
from pgqueue.store.queries import all_queries
from pgqueue.types import STAT_FIELDS, QueueStats


def test_every_option_has_one_camel_case_form_that_maps_back() -> None:
    for name in KNOWN_OPTIONS:
        assert option_name(camel_case(name)) == name
        assert option_name(name) == name
    assert CAMEL_OPTIONS["removeOnComplete"] == "remove_on_complete"
    assert CAMEL_OPTIONS["jobId"] == "job_id"
    assert "priority" not in CAMEL_OPTIONS  # one word: one spelling
    assert option_name("colour") == "colour"  # unknown names pass through, to be refused


def test_stats_fields_are_the_stats_dict_and_each_is_a_state() -> None:
    assert set(STAT_FIELDS) == set(QueueStats.__annotations__)
    assert set(STAT_FIELDS) <= {state.value for state in JobState}


def test_named_queries_take_their_notify_channel_as_a_parameter() -> None:
    """Channels are named in `store/notify.py`; a statement spelling one itself would go
    on notifying the old name after a rename. Only the completion and failure statements
    still do (docs/architecture.md)."""
    spelled = {name for name, sql in all_queries().items() if re.search(r"pg_notify\(\s*'", sql)}
    assert spelled == set()
