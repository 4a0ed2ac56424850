"""Where the CLI's logs go: stderr, always; stdout is for results only.

Importing Airflow (to look up a connection, to run a DAG) replaces the root logger's
handlers with one on stdout at INFO, which would mix log lines into a command's output
and ignore ``-v``. The CLI calls :func:`configure` once; code that imports Airflow calls
:func:`reassert` afterwards, which puts the CLI's stderr handler back (a no-op outside
the CLI, e.g. inside an Airflow task, whose logging is Airflow's).
"""

from __future__ import annotations

import logging
import sys

_LEVEL: int | None = None
_FORMAT = "%(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """The CLI's handler (a class of its own, so it is recognised and replaced, not doubled)."""


def _warnings_only(record: logging.LogRecord) -> bool:
    """Quiet mode: libraries (GX, Airflow) set their own loggers to INFO; drop that."""
    return record.levelno >= logging.WARNING


def configured() -> bool:
    return _LEVEL is not None


def configure(verbose: bool | None) -> None:
    """INFO and up with ``-v`` (progress), else warnings and errors only; all on stderr.
    ``None`` ends the CLI's hold on logging (the command is over)."""
    global _LEVEL
    _LEVEL = None if verbose is None else (logging.INFO if verbose else logging.WARNING)
    reassert()


def _to_stdout(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    return isinstance(handler, _StderrHandler) or stream in (sys.stdout, sys.__stdout__)


def reassert() -> None:
    """Put the CLI's stderr handler in place of any handler writing to stdout."""
    if _LEVEL is None:
        return
    handler = _StderrHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    if _LEVEL > logging.INFO:
        handler.addFilter(_warnings_only)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not _to_stdout(h)] + [handler]
    root.setLevel(_LEVEL)
