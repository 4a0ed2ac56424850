"""Byte-identity guard for speed work: every report x every format on the sample warehouse.

Speed changes (issue 13) must not change a single byte a customer receives. This script
seeds the sample warehouse (as ``flatexport seed`` does), exports every report in every
format for each sample org, for two demo days (one of them the DST fall-back day) and a
subscription in another time zone, and records each file's SHA-256.

  python bench/byte_identity.py --out /work/notes/baseline-files      # record a baseline
  python bench/byte_identity.py --out /work/notes/baseline-files --check  # compare with it

``--check`` exports into a scratch folder and compares with the recorded ``SHA256SUMS``;
it exits non-zero and names every file that differs or is missing. Clickstream is also
exported with two slice workers (same bytes as one, by contract).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

SUMS = "SHA256SUMS.json"


def cases(only: list[str] | None = None) -> list[dict]:
    """(report, org, day, timezone, workers) for every report; formats are crossed in."""
    from flatexport.seed.clickstream import default_orgs
    from flatexport.seed.warehouse import DEMO_DAYS
    from flatexport.specs import available_reports

    out = []
    for report in available_reports():
        if only and report not in only:
            continue
        for org in default_orgs():
            for day in (DEMO_DAYS[1], DEMO_DAYS[2]):
                out.append({"report": report, "org": org, "day": day.isoformat(), "tz": "UTC", "workers": 1})
        out.append(
            {
                "report": report,
                "org": "org_acme",
                "day": DEMO_DAYS[1].isoformat(),
                "tz": "America/Chicago",
                "workers": 1,
            }
        )
    if not only or "clickstream" in only:
        out.append(
            {
                "report": "clickstream",
                "org": "org_acme",
                "day": DEMO_DAYS[2].isoformat(),
                "tz": "UTC",
                "workers": 2,
            }
        )
    return out


def file_key(case: dict, fmt: str) -> str:
    tz = case["tz"].replace("/", "-")
    return f"{case['report']}__{case['org']}__{case['day']}__{tz}__w{case['workers']}.{fmt}"


def export_all(url: str, out: Path, only: list[str] | None = None) -> dict[str, str]:
    from flatexport.errors import InputError
    from flatexport.export import run_export
    from flatexport.formats import FORMATS
    from flatexport.seed.warehouse import sample_scope
    from flatexport.subscriptions import Subscription

    sums: dict[str, str] = {}
    for case in cases(only):
        os.environ["FLATEXPORT_EXPORT_WORKERS"] = str(case["workers"])
        for fmt in FORMATS:
            key = file_key(case, fmt)
            try:
                scope = sample_scope(case["report"], case["org"])
            except (InputError, LookupError, ValueError) as exc:
                sums[key] = f"no-scope: {exc}"
                continue
            sub = Subscription(
                id=1,
                org_id=case["org"],
                report=case["report"],
                destination="file:///unused",
                format=fmt,
                timezone=case["tz"],
                scope=scope,
            )
            path = out / key
            try:
                run_export(sub, case["day"], source_url=url, out_path=path)
            except Exception as exc:  # a failure on main is recorded, and must stay the same
                sums[key] = f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                path.unlink(missing_ok=True)
                continue
            sums[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    os.environ.pop("FLATEXPORT_EXPORT_WORKERS", None)
    return sums


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="baseline folder (files + SHA256SUMS.json)")
    parser.add_argument("--check", action="store_true", help="compare a fresh export with the baseline")
    parser.add_argument("--only", help="with --check: these reports only (comma-separated), for a quick pass")
    parser.add_argument("--warehouse", type=Path, help="seeded sample warehouse to reuse (seeded if missing)")
    parser.add_argument("--keep", action="store_true", help="with --check: keep the scratch folder")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="flatexport-bytes-"))
    os.environ.setdefault("FLATEXPORT_DATA_DIR", str(scratch / "data"))
    from flatexport.seed.warehouse import seed_all

    warehouse = args.warehouse or scratch / "warehouse.duckdb"
    url = f"duckdb:///{warehouse}"
    if not warehouse.exists():
        seed_all(url)  # the defaults of `flatexport seed` (deterministic: seed 7)
    target = scratch / "files" if args.check else args.out
    target.mkdir(parents=True, exist_ok=True)
    only = [r for r in (args.only or "").split(",") if r] or None
    sums = export_all(url, target, only)
    if not args.check:
        (args.out / SUMS).write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(sums)} files in {args.out}")
        return 0
    want = json.loads((args.out / SUMS).read_text())
    if only:
        want = {k: v for k, v in want.items() if k.split("__")[0] in only}
    bad = sorted(k for k in want.keys() | sums.keys() if want.get(k) != sums.get(k))
    for key in bad:
        print(f"DIFFERS {key}: baseline {want.get(key)} now {sums.get(key)}")
    print(f"{len(sums) - len([k for k in bad if k in sums])}/{len(want)} identical; scratch {scratch}")
    if not args.keep and not bad:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
