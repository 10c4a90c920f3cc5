"""The stored folder cursor: round trip, and junk is "start over", never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from providers.imap.cursor import FolderCursor


def test_round_trip_through_json() -> None:
    cursor = FolderCursor(uidvalidity=7, last_uid=120, uidnext=121, highestmodseq=55,
                          backfill_below=40, since="2026-10-13")
    assert FolderCursor.from_dict(json.loads(json.dumps(cursor.to_dict()))) == cursor
    assert cursor.backfilling and not cursor.backfilled_down_to(None).backfilling
    checked = FolderCursor(uidvalidity=7, last_uid=120, uidnext=121, present="1:40,42:120",
                           present_through=120, checked_at="2026-12-07T10:00:00+00:00")
    assert FolderCursor.from_dict(json.loads(json.dumps(checked.to_dict()))) == checked
    assert "present" not in cursor.to_dict()  # absent until the first check


values = st.one_of(st.none(), st.integers(), st.text(max_size=6), st.floats(),
                   st.lists(st.integers(), max_size=2))
keys = st.sampled_from(["uidvalidity", "last_uid", "uidnext", "highestmodseq",
                        "backfill_below", "since", "present", "present_through",
                        "checked_at", "other"])


@given(st.dictionaries(keys, values, max_size=7))
def test_any_stored_dict_parses_or_means_start_over(data: dict[str, Any]) -> None:
    parsed = FolderCursor.from_dict(data)
    assert parsed is None or isinstance(parsed.last_uid, int)
