"""Small hand-built staged files for the quality tests, with the clickstream header."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flatexport.hashing import sha256_file
from flatexport.specs import ReportSpec, file_name
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

DS = "2024-11-04"
ORG = "org-42"


def clean_rows(spec: ReportSpec, n: int = 4) -> list[dict[str, str]]:
    """A clean day: every type represented, some engines used, others empty."""
    rows = []
    for i in range(n):
        row = {c: "" for c in spec.column_names}
        row.update(
            session_id=str(1000 + i),
            session_start=f"{DS}T09:{10 + i:02d}:02-06:00",
            ds=DS,
            ballot_id=f"B-{i:04d}",
            locale="en-US",
            device_type=["desktop", "mobile"][i % 2],
            operating_system="Windows 10",
            election_center_tiles='["Research your ballot","Pledge to vote"]' if i % 2 else "",
            utm_source="newsletter",
            address_form_submitted=str(i),
            address="221B Baker St, Springfield, IL 02139",
            street_number="221B",
            zipcode="02139",
            first_name="Alice",
            email=f"alice{i}@example.com",
            phone="+1 555 0100",
            opt_in="true" if i % 2 else "false",
            n_positions_viewed="3",
            intro_step_get_started_clicked="true",
            last_clicked="by mail",
            polling_date="2024-11-05",
            voting_plan_vote_at="2024-11-05T08:00:00-06:00",
            are_you_registered="Register to vote",
            date_of_birth="1990-01-31",
            pledge_reasons='["Because"]',
            not_matched="'=HYPERLINK(1)",
        )
        rows.append(row)
    return rows


def write_staged(
    tmp_path: Path,
    spec: ReportSpec,
    rows: list[dict[str, Any]],
    *,
    fmt: str = "csv",
    columns: list[str] | None = None,
    header: list[str] | None = None,
    org_id: str = ORG,
    staged_rows: int | None = None,
    raw: str | None = None,
) -> StagedFile:
    """Write rows like the exporter does; ``header`` overrides the written header only."""
    columns = columns or spec.column_names
    name = file_name(spec, DS, fmt)
    folder = tmp_path / "staging" / spec.report / org_id / DS / "7" / "attempt-1"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    opener: Callable[..., Any] = gzip.open if fmt.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as fh:
        if raw is not None:
            fh.write(raw)
        elif fmt.startswith("csv"):
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header or columns)
            for r in rows:
                w.writerow([r.get(c, "") for c in columns])
        else:
            for r in rows:
                fh.write(json.dumps({c: r.get(c) for c in (header or columns)}) + "\n")
    return StagedFile(
        path=str(path),
        name=name,
        report=spec.report,
        org_id=org_id,
        ds=DS,
        format=fmt,
        rows=len(rows) if staged_rows is None else staged_rows,
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        columns=list(columns),
        subscription_id=7,
    )


def subscription(**kw: Any) -> Subscription:
    base: dict[str, Any] = dict(id=7, org_id=ORG, report="clickstream", destination="file:///tmp/out")
    base.update(kw)
    return Subscription(**base)


def to_native(spec: ReportSpec, row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the JSON Lines writer would write it (native booleans, numbers, arrays)."""
    out: dict[str, Any] = {}
    for col in spec.columns:
        v = row.get(col.name, "")
        if v == "":
            out[col.name] = None
        elif col.type == "boolean" and v in ("true", "false"):
            out[col.name] = v == "true"
        elif col.type == "integer" and v.isdigit():
            out[col.name] = int(v)
        elif col.type == "array":
            out[col.name] = json.loads(v)
        else:
            out[col.name] = v
    return out


def failed_names(report: Any) -> dict[str, str]:
    return {c.name: c.severity for c in report.failed}
