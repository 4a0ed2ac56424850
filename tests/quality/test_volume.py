"""The volume check is pure: history and tolerance in, one check result out."""

from __future__ import annotations

import datetime as dt

from flatexport.quality.volume import CHECK_NAME, VolumeTolerance, check_volume


def history(values: list[int]) -> list[tuple[dt.date, int]]:
    start = dt.date(2024, 10, 1)
    return [(start + dt.timedelta(days=i), n) for i, n in enumerate(values)]


BUSY = history([4900, 5100, 5000, 4800, 5300, 5050, 4950])


def test_normal_day_passes() -> None:
    res = check_volume(5200, BUSY)
    assert res.name == CHECK_NAME and res.success and res.details["median"] == 5000


def test_collapse_to_zero_is_flagged_warn_by_default() -> None:
    res = check_volume(0, BUSY)
    assert not res.success and res.severity == "warn" and res.unexpected_count == 1


def test_zero_severity_is_configurable() -> None:
    res = check_volume(0, BUSY, VolumeTolerance(zero_severity="error"))
    assert not res.success and res.severity == "error"


def test_drop_and_spike_are_flagged() -> None:
    assert not check_volume(999, BUSY).success  # below 5000 * 0.2
    assert check_volume(1001, BUSY).success
    assert not check_volume(25_001, BUSY).success  # above 5000 * 5
    assert check_volume(25_000, BUSY).success


def test_small_org_quiet_day_is_not_flagged() -> None:
    small = history([12, 30, 8, 20, 15, 22])
    assert check_volume(0, small).success
    assert check_volume(2, small).success
    assert check_volume(90, small).success  # a busy day below min_rows is still normal
    assert not check_volume(500, small).success


def test_short_history_is_not_judged() -> None:
    res = check_volume(0, history([5000] * 4))
    assert res.success and "fewer than 5 days" in res.note
    assert check_volume(0, None).success
