"""`make bench`: speed and memory of the exports, as ratios to a DuckDB floor.

For each report family it seeds one org-day into a throwaway DuckDB file, then runs, each
in a child process of its own so peak RSS belongs to that phase alone:
  floor   - one hand-written DuckDB query over the same day, written by DuckDB's CSV writer
  export  - flatexport's extract + flatten + write (no checks), as in production
  half    - the same export of a day half as large (memory must stay flat)
  checks  - the quality gate on the exported file (its share of export time)
  typed   - the same export as xlsx and as Parquet (clickstream), beside the CSV export
Figures are printed as a table; ratios compare runs of this one script on this machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAY = dt.date(2024, 11, 4)


def child(kind: str, report: str, url: str, org: str, out: str) -> None:
    """Runs one phase and prints {"seconds": .., "rss_mb": .., "rows": ..} as JSON."""
    import duckdb

    start = time.perf_counter()
    rows = 0
    if kind == "floor":
        from flatexport.export import report_window
        from flatexport.specs import load_spec
        from flatexport.subscriptions import Subscription

        sub = Subscription(id="bench", org_id=org, report=report, destination="file:///tmp")
        window = report_window(load_spec(report), sub, DAY)
        params = {"org_id": org, **window.params()}
        sql = (HERE / f"floor_{'clickstream' if report == 'clickstream' else 'activity'}.sql").read_text()
        # COPY's target cannot be a bound parameter; it is this script's own temp path.
        sql = sql.replace("__OUT__", out)
        con = duckdb.connect(url.removeprefix("duckdb:///"), read_only=True)
        con.execute("SET TimeZone='UTC'")
        if report != "clickstream":
            _kind_map(con)
        used = {k: v for k, v in params.items() if f"${k}" in sql}
        con.execute(sql, used)
        rows = sum(1 for _ in open(out)) - 1
    elif kind in ("export", "half"):
        from flatexport.export import run_export
        from flatexport.formats import format_of_file
        from flatexport.subscriptions import Subscription

        fmt = (format_of_file(out) or format_of_file("x.csv")).name  # the output's extension
        sub = Subscription(id="bench", org_id=org, report=report, destination="file:///tmp", format=fmt)
        staged = run_export(sub, DAY, source_url=url, out_path=Path(out))
        rows = staged.rows
        Path(out + ".staged.json").write_text(json.dumps(staged.to_xcom()))
    elif kind == "checks":
        from flatexport.quality.validate import validate_staged
        from flatexport.specs import load_spec
        from flatexport.staged import StagedFile
        from flatexport.subscriptions import Subscription

        staged = StagedFile.from_xcom(json.loads(Path(out + ".staged.json").read_text()))
        sub = Subscription(id="bench", org_id=org, report=report, destination="file:///tmp")
        start = time.perf_counter()  # GX's one-off import is not the checks' cost
        result = validate_staged(load_spec(report), staged, sub, write_files=False)
        rows = result.rows
    seconds = time.perf_counter() - start
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest worker, if any
    print(json.dumps({"seconds": seconds, "rss_mb": peak_rss_mb(), "workers_mb": workers_mb, "rows": rows}))


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux carries that across
    fork and exec from the parent (here, one that had just seeded a large day)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _kind_map(con) -> None:
    from flatexport.specs import load_spec

    rows = [(e.kind, e.category, e.action) for s in load_spec("activity").options.sections for e in s.entries]
    con.execute("CREATE TEMP TABLE kind_map (kind TEXT, category TEXT, action TEXT)")
    con.executemany("INSERT INTO kind_map VALUES (?, ?, ?)", rows)


def measure(kind: str, report: str, url: str, org: str, out: Path, workers: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, report, url, org, str(out)]
    env = {**os.environ, "FLATEXPORT_EXPORT_WORKERS": str(workers)}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {report} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def seed(family: str, url: str, full: int) -> tuple[float, str]:
    """Seeds the full day (org_full) and a half-size day (org_half); returns the time and
    the URL holding the half-size day."""
    start = time.perf_counter()
    if family == "clickstream":
        from flatexport.seed.clickstream import seed_warehouse

        seed_warehouse(
            url, ["org_full", "org_half"], [DAY], {"org_full": full, "org_half": full // 2}, seed=11
        )
        return time.perf_counter() - start, url
    from flatexport.seed.activity import seed_activity

    seed_activity(url, ["org_full"], [DAY], events_per_org_day=full, seed=11)
    elapsed = time.perf_counter() - start
    half_url = url.replace(".duckdb", "_half.duckdb")
    seed_activity(half_url, ["org_half"], [DAY], events_per_org_day=full // 2, seed=11)
    return elapsed, half_url


def typed_lines(
    report: str, url: str, work: Path, export: dict, floor: dict, formats: list[str], unit: str
) -> list[str]:
    """The typed formats' export beside the CSV export of the same day."""
    lines = []
    for fmt in formats:
        out = work / f"{report}.{fmt}"
        typed = measure("export", report, url, "org_full", out)
        lines.append(
            f"export {fmt:<13} {typed['seconds']:8.1f} s  {typed['rows'] / typed['seconds']:>12,.0f} {unit}/s"
            f"  peak RSS {typed['rss_mb']:7.0f} MB  = {typed['seconds'] / export['seconds']:.2f} x CSV time, "
            f"{typed['seconds'] / floor['seconds']:.2f} x floor, {out.stat().st_size / 2**20:,.0f} MB file"
        )
        out.unlink()
    return lines


def run_family(family: str, report: str, full: int, work: Path, formats: list[str]) -> list[str]:
    url = f"duckdb:///{work}/{family}.duckdb"
    seeded, half_url = seed(family, url, full)
    floor = measure("floor", report, url, "org_full", work / f"{report}_floor.csv")
    export = measure("export", report, url, "org_full", work / f"{report}.csv")
    half = measure("half", report, half_url, "org_half", work / f"{report}_half.csv")
    checks = measure("checks", report, url, "org_full", work / f"{report}.csv")
    two = measure("export", report, url, "org_full", work / f"{report}_2w.csv", workers=2)
    same = (work / f"{report}_2w.csv").read_bytes() == (work / f"{report}.csv").read_bytes()
    two_mb = two["rss_mb"] + 2 * two["workers_mb"]
    unit = "sessions" if family == "clickstream" else "rows"
    typed = typed_lines(report, url, work, export, floor, formats, unit) if family == "clickstream" else []
    csv_mb = (work / f"{report}.csv").stat().st_size / 2**20
    return [
        f"## {report}: {export['rows']:,} {unit} for one org-day (seeded in {seeded:.0f} s)",
        f"floor (DuckDB SQL)   {floor['seconds']:8.1f} s  {floor['rows'] / floor['seconds']:>12,.0f} {unit}/s"
        f"  peak RSS {floor['rss_mb']:7.0f} MB",
        f"export               {export['seconds']:8.1f} s  "
        f"{export['rows'] / export['seconds']:>12,.0f} {unit}/s"
        f"  peak RSS {export['rss_mb']:7.0f} MB  (CSV, {csv_mb:,.0f} MB file)",
        f"export / floor       {export['seconds'] / floor['seconds']:8.2f} x   (target <= 3x)",
        f"half-size day        {half['seconds']:8.1f} s  ({half['rows']:,} {unit})"
        f"  peak RSS {half['rss_mb']:7.0f} MB",
        f"peak RSS full / half {export['rss_mb'] / half['rss_mb']:8.2f} x   (flat memory: ~1.0, not 2.0)",
        f"export, 2 workers    {two['seconds']:8.1f} s  {two['rows'] / two['seconds']:>12,.0f} {unit}/s"
        f"  peak RSS {two_mb:7.0f} MB (parent + 2 x largest worker)",
        f"2 workers / floor    {two['seconds'] / floor['seconds']:8.2f} x   (same bytes as 1 worker: {same})",
        f"quality checks       {checks['seconds']:8.1f} s  = "
        f"{checks['seconds'] / (export['seconds'] + checks['seconds']):.0%} of export + checks",
        *typed,
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1_000_000, help="clickstream sessions (full day)")
    parser.add_argument("--activity-rows", type=int, default=10_000_000, help="activity rows (full day)")
    parser.add_argument("--only", choices=["clickstream", "activity"])
    parser.add_argument(
        "--formats", default="xlsx,parquet", help="typed formats exported beside CSV; '' for none"
    )
    parser.add_argument("--child", nargs=5, metavar=("KIND", "REPORT", "URL", "ORG", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    lines = [f"flatexport benchmark — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {_machine()}", ""]
    with tempfile.TemporaryDirectory(prefix="flatexport-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "clickstream"):
            formats = [f for f in args.formats.split(",") if f]
            lines += run_family("clickstream", "clickstream", args.sessions, work, formats)
            print("\n".join(lines), flush=True)
            lines = []
        if args.only in (None, "activity"):
            lines += run_family("activity", "activity", args.activity_rows, work, [])
            print("\n".join(lines), flush=True)


def _machine() -> str:
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"


if __name__ == "__main__":
    main()
