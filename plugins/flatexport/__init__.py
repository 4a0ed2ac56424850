"""flatexport: nightly flattened exports of clickstream and user-activity data.

The engine is report-agnostic: a report is a YAML spec (columns and the rules that
fill them) plus one SQL file; extract, flatten, quality, write and deliver are shared.
"""

__version__ = "0.1.0"
