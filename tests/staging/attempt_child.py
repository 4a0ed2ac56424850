"""One delivery attempt in a process of its own that stops for good once its file is
staged (in the quality check), for a test to SIGKILL it there: what a killed run leaves.

Run as ``python -m tests.staging.attempt_child CONTROL_URL SUBSCRIPTION_ID SOURCE_URL READY``.
The attempt runs exactly as `flatexport run` runs it (``pipeline.run_subscription``, the
lock, the delivery log); only the check waits, after touching the ready-file.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path


def main(control: str, sub_id: str, source: str, ready: str) -> None:
    from flatexport import pipeline
    from flatexport.control.store import ControlStore

    def stalled_check(*_args, **_kwargs):
        Path(ready).write_text("staged")
        while True:  # wait here for SIGKILL
            time.sleep(60)

    pipeline.check_step = stalled_check
    store = ControlStore(control)
    pipeline.run_subscription(store.get(sub_id), dt.date(2024, 11, 4), "killed-run", source, store=store)
    print("finished without stalling", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main(*sys.argv[1:5])
