"""The manifest beside each delivered file says what it holds and that it is complete.

The delivery driver writes it only after the data file is verified at the destination,
and removes the previous one before replacing data, so a reader that sees
``<file>.manifest.json`` knows the data file beside it is whole and is the one described
(its ``sha256``). It carries counts and check names, never row values. It is built in
memory and handed to the driver: nothing is written beside the staged file.

``restatement_of`` is null for a day's first delivery and for re-runs; when late data
moved a delivered day's source, the day is delivered again and this names the earlier
delivery it replaces (its delivery-log id, checksum, rows and when it was delivered), so
a customer's loader can tell a correction from a duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from flatexport import __version__
from flatexport.specs import load_spec
from flatexport.staged import StagedFile


def build_manifest(
    staged: StagedFile,
    quality: dict[str, Any] | None = None,
    restatement_of: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    spec = load_spec(staged.report)
    return {
        "report": staged.report,
        "title": spec.title,
        "org_id": staged.org_id,
        "ds": staged.ds,
        # start null: a cutoff (the file is everything created before end)
        "window": {"start": staged.window_start or None, "end": staged.window_end},
        "file": staged.name,
        "format": staged.format,
        "format_details": staged.format_details,
        "rows": staged.rows,
        "sha256": staged.sha256,
        "bytes": staged.bytes,
        "columns": staged.columns,
        "schema_version": spec.schema_version,
        "warnings": staged.warnings,
        "data_quality": quality or {},
        "restatement_of": dict(restatement_of) if restatement_of else None,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "generator": f"flatexport {__version__}",
    }


def manifest_bytes(
    staged: StagedFile,
    quality: dict[str, Any] | None = None,
    restatement_of: Mapping[str, Any] | None = None,
) -> bytes:
    """The manifest as delivered: pretty, key-sorted JSON (UTF-8)."""
    manifest = build_manifest(staged, quality, restatement_of)
    return (json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")
