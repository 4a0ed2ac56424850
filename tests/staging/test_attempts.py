"""Attempts that die: a real `run` process SIGKILLed with its file staged. Its attempt is
marked abandoned by the next attempt (or by the heartbeat sweep), its staged copy is kept
(0600) for inspection and removed by the retention cleanup; the next run delivers."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from flatexport import staging
from flatexport.airflow_support.tasks import cleanup_staging
from flatexport.control.models import DeliveryRow
from flatexport.pipeline import run_subscription
from tests.staging.conftest import DAY, NAME, Env, staged_attempts

pytestmark = pytest.mark.slow


def _kill_mid_attempt(env: Env, sub_id: int, tmp_path: Path) -> None:
    ready = tmp_path / "staged"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.staging.attempt_child",
            env.control,
            str(sub_id),
            env.source,
            str(ready),
        ],
        env={**os.environ, **env.vars},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the attempt never reached its check: {child.communicate()[1]}")
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()


def test_a_killed_attempt_is_abandoned_by_the_next_which_delivers(env: Env, tmp_path: Path):
    sub_id = env.add(tmp_path / "dest")
    _kill_mid_attempt(env, sub_id, tmp_path)
    store = env.store
    (killed,) = store.deliveries()
    assert killed.status == "started"
    (kept,) = staged_attempts(tmp_path / "staging")
    assert stat.S_IMODE((kept / NAME).stat().st_mode) == 0o600
    assert not (tmp_path / "dest" / NAME).exists()

    time.sleep(0.5)  # PostgreSQL notices the killed process's connection is gone
    run_subscription(store.get(sub_id), DAY, "next-run", env.source, store=store)

    log = {d.id: d for d in store.deliveries()}
    assert log[killed.id].status == "abandoned"
    assert log[killed.id].error.startswith("attempt abandoned: its process is gone; attempt ")
    assert [d.status for d in log.values() if d.id != killed.id] == ["delivered"]
    assert (tmp_path / "dest" / NAME).exists()
    assert staged_attempts(tmp_path / "staging") == [kept]  # the delivered attempt's copy is gone

    # kept for inspection within the retention, removed after it
    assert staging.cleanup(now=dt.datetime.now(dt.UTC)) == []
    assert staging.cleanup(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert staged_attempts(tmp_path / "staging") == []
    store.dispose()


def test_a_silent_attempt_of_another_machine_is_abandoned_after_the_heartbeat_timeout(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FLATEXPORT_ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS", "60")
    sub_id = env.add(tmp_path / "dest")
    store = env.store
    sub = store.get(sub_id)
    silent = store.start_delivery("night-1", sub, DAY, NAME, owner="task:other-host:4242:x")
    alive = store.start_delivery("night-2", sub, DAY, NAME, owner="task:other-host:4343:y")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with store.engine.begin() as conn:
        conn.execute(sa.update(DeliveryRow).where(DeliveryRow.id == silent).values(heartbeat_at=old))
    with store.heartbeating(alive):
        assert cleanup_staging() == {"abandoned": 1, "removed": 0}
    records = {d.id: d for d in store.deliveries()}
    assert records[silent].status == "abandoned" and "no heartbeat since" in records[silent].error
    assert records[alive].status == "started"
    store.dispose()
