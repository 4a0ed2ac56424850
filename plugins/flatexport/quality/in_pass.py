"""The quality checks in the export's own pass over the data, and the sidecar that
carries their tallies to the gate.

Reading a large staged file back as text cost more than writing it; the writer already
holds every cell as the text that lands in the file. ``PassChecks`` is handed to the CSV
writer (``ReportWriter(tap=...)``), takes each batch's written cells ('' or null =
missing, exactly what a reader gets back), cuts them into the gate's chunks and tallies
them with the same ``BatchChecker`` as the re-read, so both give the same counts,
samples and keys. After the export its tallies go to a sidecar (``SIDECAR``) that names
the file it describes: SHA-256, size, rows, and a digest of the checks it ran.

The gate (``pass_report``) uses the sidecar only when all of that matches the staged
record it has just verified and the checks it would derive itself; anything else (no
sidecar, another file, another spec, a format or an export the tap does not cover)
leaves it to ``validate_staged``, the re-read that stays the fallback and the reference.
The file-wide checks (header, row count, tenant, subscription) and the volume are
always computed by the gate, against the staged record and the subscription it is given.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import pyarrow as pa

from flatexport.arrow_text import blanks_to_null
from flatexport.formats import get_format
from flatexport.quality.batch_checks import BatchChecker, Tally
from flatexport.quality.reader import DEFAULT_CHUNKSIZE
from flatexport.quality.results import QualityReport
from flatexport.quality.suite import CheckDef, derive_checks
from flatexport.quality.volume import VolumeTolerance
from flatexport.specs import ReportSpec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

SIDECAR = ".quality-pass.json"
VERSION = 1


def checks_digest(checks: list[CheckDef]) -> str:
    """Names, severities, kinds and expectations (value sets, the day, the org) of the
    checks: a sidecar tallied under other checks is not this gate's verdict."""
    return hashlib.sha256(repr(checks).encode("utf-8")).hexdigest()


class PassChecks:
    """The export writer's tap: the checks on the cells as they are written.

    ``start(header)`` when the header is written, ``add(cells)`` per batch (an Arrow table
    of text, one column per header cell; None when the writer had no text cells for it),
    ``finish(staged)`` once the file is closed. Anything the tap cannot cover
    (``give_up``) or any error of its own means no sidecar: the gate then re-reads the
    file. It never fails the export.
    """

    def __init__(
        self, spec: ReportSpec, subscription: Subscription, ds: str, *, chunksize: int = DEFAULT_CHUNKSIZE
    ) -> None:
        self.spec = spec
        self.subscription = subscription
        self.ds = ds
        self.chunksize = chunksize
        self.reason: str | None = None  # why there is no sidecar, once given up
        self.rows = 0
        self.elapsed_s = 0.0
        self._header: list[str] | None = None
        self._checks: list[CheckDef] = []
        self._checker: BatchChecker | None = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def give_up(self, reason: str) -> None:
        if self.reason is None:
            log.info("quality checks not taken in the export's pass: %s", reason)
            self.reason = reason
        self._checker = None
        self._pending = []

    def start(self, header: list[str]) -> None:
        if self.reason is not None:
            return
        started = time.perf_counter()
        try:
            fmt = get_format(self.subscription.format)
            self._header = list(header)
            self._checks = derive_checks(self.spec, self._header, self.ds, self.subscription.org_id, fmt)
            self._checker = BatchChecker(self.spec, self._header, self._checks)
        except Exception as exc:  # the tap never fails an export; the gate re-reads
            self.give_up(f"{type(exc).__name__} while preparing the checks")
        self.elapsed_s += time.perf_counter() - started

    def add(self, cells: pa.Table | None) -> None:
        if self.reason is not None:
            return
        if cells is None:
            self.give_up("a batch without text cells")
            return
        if self._checker is None or cells.num_columns != len(self._header or []):
            self.give_up("cells that do not match the header")
            return
        started = time.perf_counter()
        try:
            self._pending.append(cells)
            self._pending_rows += cells.num_rows
            while self._pending_rows >= self.chunksize:
                self._feed(self.chunksize)
        except Exception as exc:
            self.give_up(f"{type(exc).__name__} while checking a batch")
        self.elapsed_s += time.perf_counter() - started

    def _feed(self, rows: int) -> None:
        """Hand the checker the next ``rows`` cells as the reader's chunk becomes once
        blanks are missing: text columns ``_0, _1, ...``, '' and null both missing (NaN),
        numbered on from the previous chunk. Blanks are turned into nulls here, in Arrow,
        which costs a fraction of the checker's frame-wide ``mask`` over the same cells."""
        table = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        chunk, rest = table.slice(0, rows), table.slice(rows)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows
        columns = [blanks_to_null(col.cast(pa.string())) for col in chunk.columns]
        frame = pa.Table.from_arrays(columns, names=[f"_{i}" for i in range(len(columns))]).to_pandas()
        frame.index = range(self.rows, self.rows + len(frame))
        self.rows += len(frame)
        assert self._checker is not None
        self._checker.add(frame, blanks_are_missing=True)

    def finish(self, staged: StagedFile) -> dict[str, Any] | None:
        """The sidecar's content for the file just written, or None (the gate re-reads)."""
        if self.reason is None and self._checker is None:
            self.give_up("no header was written")
        if self.reason is None and self._pending_rows:
            started = time.perf_counter()
            try:
                self._feed(self._pending_rows)
            except Exception as exc:
                self.give_up(f"{type(exc).__name__} while checking a batch")
            self.elapsed_s += time.perf_counter() - started
        if self.reason is None and (self.rows != staged.rows or staged.ds != self.ds):
            self.give_up("the staged file is not the one checked")
        if self.reason is not None or self._checker is None:
            return None
        return {
            "version": VERSION,
            "describes": describes(staged),
            "checks": checks_digest(self._checks),
            "header": self._header,
            "rows": self.rows,
            "chunksize": self.chunksize,
            "elapsed_s": round(self.elapsed_s, 3),
            "tallies": {name: t.to_record() for name, t in self._checker.tallies.items()},
        }


def describes(staged: StagedFile) -> dict[str, Any]:
    """The facts that tie a sidecar to one staged file's bytes and subscription."""
    return {
        "file": staged.name,
        "sha256": staged.sha256,
        "bytes": staged.bytes,
        "rows": staged.rows,
        "report": staged.report,
        "org_id": staged.org_id,
        "ds": staged.ds,
        "format": staged.format,
        "subscription_id": None if staged.subscription_id is None else str(staged.subscription_id),
    }


def sidecar_bytes(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def pass_report(
    spec: ReportSpec,
    staged: StagedFile,
    subscription: Subscription,
    raw: bytes | None,
    history: list[tuple[Any, int]] | None = None,
    tolerance: VolumeTolerance | None = None,
) -> QualityReport | None:
    """The gate's verdict from the export's sidecar, or None when the sidecar does not
    describe exactly this staged file and these checks (then the file is re-read).
    ``staged`` must be the record whose bytes were just verified (``verified_local``)."""
    from flatexport.quality.validate import FileFacts, file_report

    started = time.perf_counter()
    if raw is None:
        log.info("quality: no check tallies from the export; re-reading the file")
        return None
    try:
        data = json.loads(raw)
        if data.get("version") != VERSION or data.get("describes") != describes(staged):
            log.info("quality: the export's check sidecar describes another file; re-reading it")
            return None
        header = [str(h) for h in data["header"]]
        rows = int(data["rows"])
        checks = derive_checks(spec, header, staged.ds, subscription.org_id, get_format(staged.format))
        tallied = {c.name for c in checks if c.kind in ("gx", "unique")}
        if data["checks"] != checks_digest(checks) or set(data["tallies"]) != tallied or rows != staged.rows:
            log.info("quality: the export's checks differ from the gate's; re-reading the file")
            return None
        tallies = {name: Tally.from_record(data["tallies"][name]) for name in tallied}
        elapsed = float(data.get("elapsed_s") or 0.0)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        why = type(exc).__name__
        log.info("quality: the export's check sidecar is unreadable (%s); re-reading the file", why)
        return None
    return file_report(
        spec,
        staged,
        subscription,
        checks,
        tallies,
        FileFacts(header, rows),
        history,
        tolerance,
        ds=staged.ds,
        elapsed_s=elapsed + time.perf_counter() - started,
    )
