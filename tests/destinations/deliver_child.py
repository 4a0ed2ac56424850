"""One delivery in a process of its own that stalls while sending the data, for a test to
SIGKILL it there: what a killed worker leaves behind at the destination.

Run as ``python -m tests.destinations.deliver_child SPEC_JSON``; the spec names the
subscription, the staged file, the manifest text, a byte offset and a ready-file. The
delivery runs exactly as in production (``destination_for`` + the driver); only the
staged file's second opening (the upload, after the driver's own check) stalls once it
reaches the offset, after touching the ready-file.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO


class StallingReader:
    """A seekable reader that stops for good before handing out byte ``stall_at``."""

    def __init__(self, raw: BinaryIO, stall_at: int, ready: Path) -> None:
        self.raw, self.stall_at, self.ready = raw, stall_at, ready

    def read(self, size: int = -1) -> bytes:
        position = self.raw.tell()
        if size < 0 or position + size > self.stall_at:
            self.ready.write_text(str(position))
            while True:  # wait here for SIGKILL
                time.sleep(60)
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> StallingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(spec: dict[str, Any]) -> None:
    from flatexport.destinations import deliver, destination_for
    from flatexport.staged import StagedFile
    from flatexport.subscriptions import Subscription

    sub = Subscription.model_validate(spec["subscription"])
    staged = StagedFile.from_xcom(spec["staged"])
    opened = 0

    def opener() -> Any:
        nonlocal opened
        opened += 1
        raw = open(staged.path, "rb")  # noqa: SIM115 - closed by the driver or transport
        return raw if opened == 1 else StallingReader(raw, spec["stall_at"], Path(spec["ready"]))

    deliver(destination_for(sub), staged, spec["manifest"].encode(), opener=opener)
    print("delivered without stalling", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
