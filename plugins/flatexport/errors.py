"""Errors a user can act on: each names the file, field or value that is wrong."""

from __future__ import annotations


class FlatexportError(Exception):
    """Base for errors shown to users as one line (CLI) or a task failure reason."""


class SpecError(FlatexportError):
    """A report spec is invalid; the message names the spec file and the field."""


class SourceError(FlatexportError):
    """The source database cannot be reached or queried."""


class InputError(FlatexportError):
    """A user-supplied value (date, org, time zone, option) is not acceptable."""


class DeliveryError(FlatexportError):
    """A destination refused, lost or corrupted a file; the message says which and why.

    ``retryable`` tells the DAG whether another attempt can help (throttling, 5xx)
    or a person must act (missing bucket, access denied, wrong folder).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class QualityError(FlatexportError):
    """An error-severity data-quality check failed; the file stays staged, undelivered."""
