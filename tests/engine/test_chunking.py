"""Extracted batches are cut into the chunks a family asks for, never splitting a group."""

from __future__ import annotations

import pandas as pd

from flatexport.extract import chunks
from flatexport.families.base import Chunking


def batches() -> list[pd.DataFrame]:
    rows = pd.DataFrame({"session_id": [1, 1, 2, 2, 2, 3, 4, 4], "n": range(8)})
    return [rows.iloc[i : i + 3].reset_index(drop=True) for i in range(0, len(rows), 3)]


def test_groups_are_never_split():
    got = list(chunks(batches(), Chunking.groups("session_id")))
    assert [list(c["session_id"]) for c in got] == [[1, 1], [2, 2, 2], [3], [4, 4]]


def test_whole_window_is_one_chunk_and_nothing_for_no_rows():
    (whole,) = chunks(batches(), Chunking.whole())
    assert list(whole["n"]) == list(range(8))
    assert list(chunks([], Chunking.whole())) == []


def test_plain_batches_pass_through():
    assert [len(c) for c in chunks(batches(), Chunking.batches())] == [3, 3, 2]
