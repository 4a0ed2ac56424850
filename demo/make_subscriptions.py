"""Print the demo's subscriptions (YAML): every sample org gets its clickstream file in a
local folder, one in Chicago time and as gzip, so the demo shows both options."""

from __future__ import annotations

import sys

import yaml

from flatexport.paths import data_dir
from flatexport.seed.clickstream import default_orgs


def subscriptions() -> list[dict]:
    out = []
    for i, org in enumerate(default_orgs()):
        folder = (data_dir() / "deliveries" / org).resolve()
        sub = {"org_id": org, "report": "clickstream", "destination": folder.as_uri()}
        if i == 1:
            sub.update(timezone="America/Chicago", format="csv.gz")
        out.append(sub)
    return out


if __name__ == "__main__":
    yaml.safe_dump(subscriptions(), sys.stdout, sort_keys=False)
