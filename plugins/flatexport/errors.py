"""Errors a user can act on, by class: each names the file, field or value that is wrong,
and says by its class whether another attempt can help.

Two classes decide what the DAG does (PostHog's batch exports keep the same split):

* **transient** (``retryable = True``): the source or the control database is down, a
  destination throttles or answers 5xx, the network drops. Airflow retries the task with
  exponential back-off.
* **permanent** (``retryable = False``): a bad setting or spec, a refused destination, a
  failed quality check. Another attempt gives the same answer, so the task fails at once
  and a person is told what to fix.

:func:`is_retryable` is the one place that decides; the explicit non-retryable list is
every class below that does not derive from :class:`TransientError`.
"""

from __future__ import annotations


class FlatexportError(Exception):
    """Base for errors shown to users as one line (CLI) or a task failure reason."""

    retryable: bool = False


class TransientError(FlatexportError):
    """Waiting and trying again can help (outage, throttling, a dropped connection)."""

    retryable = True


class PermanentError(FlatexportError):
    """Another attempt gives the same answer until a person changes something."""

    retryable = False


class ConfigError(PermanentError):
    """A setting (FLATEXPORT_* variable, connection) is invalid; names the variable and value."""


class SpecError(PermanentError):
    """A report spec is invalid; the message names the spec file and the field."""


class InputError(PermanentError):
    """A user-supplied value (date, org, time zone, option) is not acceptable."""


class SourceError(PermanentError):
    """The source refused a query (missing table, bad SQL): fixing it needs a person."""


class SourceUnavailable(SourceError, TransientError):
    """The source database cannot be reached right now (connection refused, timeout)."""

    retryable = True


class ControlStoreError(PermanentError):
    """The control database refused a statement; the message hides any password."""


class ControlStoreUnavailable(ControlStoreError, TransientError):
    """The control database cannot be reached right now."""

    retryable = True


class DeliveryError(FlatexportError):
    """A destination refused, lost or corrupted a file; the message says which and why.

    ``retryable`` tells the DAG whether another attempt can help (throttling, 5xx) or a
    person must act (missing bucket, access denied, wrong folder). Destinations raise it
    with the flag their store's answer implies; the default is permanent.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class StagingError(FlatexportError):
    """A staged file could not be written, read or verified (a full or read-only disk, a
    lost or changed object); the message names the place and the reason, never the data.

    ``retryable``: whether another attempt can help (a full disk may be cleared, a store
    may answer again); a changed or missing staged file needs a new export, not a retry.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class DeliveryLocked(TransientError):
    """Another run holds the delivery of this subscription and day; retrying later helps."""


class QualityError(PermanentError):
    """An error-severity data-quality check failed; the file stays staged, undelivered."""


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt of the failed step can help.

    Our own errors say so by class (or, for deliveries, by the destination's answer).
    Anything else is an unexpected failure — an OS or network error below our code, or a
    bug — and is retried, as Airflow would; the retry budget bounds the cost of a bug.
    """
    if isinstance(exc, FlatexportError):
        return bool(exc.retryable)
    return not isinstance(exc, KeyboardInterrupt | SystemExit)
