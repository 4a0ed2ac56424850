"""One run at a time per delivery: a lock per (subscription, day) in the control store
(PostgreSQL advisory lock; a lock row with owner and heartbeat on SQLite), and staging
unique per attempt, tried with real `flatexport run` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flatexport.errors import DeliveryLocked
from tests.staging.conftest import DAY, NAME, ORG, Env, header, pii_headers, staged_attempts

pytestmark = pytest.mark.slow


def test_a_second_run_of_a_delivery_stops_with_a_clear_message(env: Env, tmp_path: Path):
    sub_id = env.add(tmp_path / "dest")
    store = env.store
    with store.delivery_lock(sub_id, DAY, wait=0):
        second = env.run_day()
    store.dispose()
    assert second.returncode == 1, second.stderr
    line = f"another run is delivering subscription {sub_id} for {DAY}"
    assert line in second.stderr and "Traceback" not in second.stderr, second.stderr
    assert not (tmp_path / "dest" / NAME).exists()
    assert env.deliveries() == []  # stopped before it started an attempt

    again = env.run_day()
    assert again.returncode == 0, again.stderr
    assert env.deliveries() == [(sub_id, "delivered")]


def test_a_second_run_waits_for_the_first_when_told_to(env: Env, tmp_path: Path):
    sub_id = env.add(tmp_path / "dest")
    store = env.store
    with store.delivery_lock(sub_id, DAY, wait=0):
        waiting = env.popen(
            "run",
            "clickstream",
            "--date",
            str(DAY),
            "--org",
            ORG,
            extra={"FLATEXPORT_LOCK_WAIT_SECONDS": "120"},
        )
        time.sleep(4)
        assert waiting.poll() is None  # still waiting for the lock
        assert not (tmp_path / "dest" / NAME).exists()
    store.dispose()
    out, err = waiting.communicate(timeout=300)  # an upper bound: ~25 s alone, 2 min under load
    assert waiting.returncode == 0, err
    assert env.deliveries() == [(sub_id, "delivered")]


def test_a_lock_whose_holder_was_killed_is_free_again(env: Env, tmp_path: Path):
    sub_id = env.add(tmp_path / "dest")
    ready = tmp_path / "locked"
    code = (
        "import sys, time, datetime as dt, pathlib\n"
        "from flatexport.control.store import ControlStore\n"
        "s = ControlStore(sys.argv[1])\n"
        "with s.delivery_lock(int(sys.argv[2]), dt.date.fromisoformat(sys.argv[3]), wait=0):\n"
        "    pathlib.Path(sys.argv[4]).write_text('held')\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, env.control, str(sub_id), str(DAY), str(ready)],
        env={**os.environ, **env.vars},
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        store = env.store
        with pytest.raises(DeliveryLocked, match="another run is delivering"):
            with store.delivery_lock(sub_id, DAY, wait=0):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    time.sleep(0.5)  # PostgreSQL notices the closed connection
    with store.delivery_lock(sub_id, DAY, wait=5):
        pass
    store.dispose()


def test_a_pii_free_and_a_full_delivery_of_one_day_run_together_and_stay_apart(env: Env, tmp_path: Path):
    """Issue 9: a --exclude-pii run and a full run of the same org, report and day at once
    shared one staged file. Now each attempt stages alone, and each run holds its own
    subscription's day while a second process waits its turn."""
    free_id = env.add(tmp_path / "pii-free", exclude_pii=True)
    full_id = env.add(tmp_path / "full")
    wait = {"FLATEXPORT_LOCK_WAIT_SECONDS": "240"}
    runs = [env.popen("run", "clickstream", "--date", str(DAY), "--org", ORG, extra=wait) for _ in range(2)]
    day = ("run", "clickstream", "--date", str(DAY), "--org", ORG)
    adhoc = [
        env.popen(*day, "--to", str(tmp_path / "adhoc-free"), "--exclude-pii"),
        env.popen(*day, "--to", str(tmp_path / "adhoc-full")),
    ]
    for proc in runs + adhoc:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    pii = pii_headers()
    assert pii and not pii & set(header(tmp_path / "pii-free" / NAME))
    assert not pii & set(header(tmp_path / "adhoc-free" / NAME))
    assert pii <= set(header(tmp_path / "full" / NAME)) and pii <= set(header(tmp_path / "adhoc-full" / NAME))
    log = env.deliveries()
    assert sorted(log) == [(free_id, "delivered")] * 2 + [(full_id, "delivered")] * 2
    assert staged_attempts(tmp_path / "staging") == []  # every staged copy removed after delivery
