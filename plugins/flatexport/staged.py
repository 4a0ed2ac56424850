"""What an export leaves on disk for the checks and the delivery: a path and its facts.

Only this small record travels through XCom; the data stays in the staged file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flatexport.formats import get_format


@dataclass(frozen=True)
class StagedFile:
    path: str  # local staged data file
    name: str  # file name at the destination: clickstream_2024-11-04.csv
    report: str
    org_id: str
    ds: str
    format: str
    rows: int
    sha256: str
    bytes: int
    columns: list[str] = field(default_factory=list)
    window_start: str = ""
    window_end: str = ""
    warnings: dict[str, int] = field(default_factory=dict)  # e.g. unknown event names -> count
    subscription_id: int | str | None = None
    # what the format adds, for the manifest: xlsx its sheets and their rows, Parquet its row groups
    format_details: dict[str, Any] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return get_format(self.format).content_type

    @property
    def content_encoding(self) -> str | None:
        return get_format(self.format).content_encoding

    def to_xcom(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_xcom(cls, data: dict[str, Any]) -> StagedFile:
        return cls(**data)

    def manifest_path(self) -> Path:
        return Path(self.path + ".manifest.json")
