"""Fixtures for the quality tests; the file builders live in tests/quality/staging.py."""

from __future__ import annotations

import pytest

from flatexport.specs import ReportSpec, load_spec


@pytest.fixture(scope="session")
def spec() -> ReportSpec:
    return load_spec("clickstream")
