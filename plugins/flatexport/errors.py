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

A third question is *whose* move it is. A delivery that fails because of something on
the customer's side (their bucket policy, their folder's sharing, their quota) carries a
:class:`CustomerAction`: the cause, as one of :data:`CUSTOMER_CAUSES`, and the fix in
words. The transport sets it where it knows the cause; :func:`customer_action` is the one
place that reads it. Everything without one is ours to fix, and nobody outside is told.
"""

from __future__ import annotations

from dataclasses import dataclass


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


class RunConflict(PermanentError):
    """A well-formed request that collides with work already running (a backfill over the
    same days): the command fails (exit 1), it is not a usage error."""


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


# Failures the customer, not we, must fix; the kind is what the notices table records.
CUSTOMER_CAUSES = (
    "access_denied",  # a bucket policy or grant no longer lets us write
    "bucket_missing",  # the bucket was deleted or renamed
    "folder_unshared",  # the Drive folder is gone, or no longer shared with our address
    "storage_full",  # the Drive quota or the bucket's storage quota is used up
    "permission_denied",  # the (mounted) folder no longer lets us write
    "recipient_refused",  # a mailto: address is no longer an admin of the org
)


@dataclass(frozen=True)
class CustomerAction:
    """What the customer must change for deliveries to work again.

    ``fix`` is one sentence for the customer's own contact: it names their bucket, folder
    or the address to grant access to, never a credential, connection or row value.
    """

    cause: str  # one of CUSTOMER_CAUSES
    fix: str

    def __post_init__(self) -> None:
        if self.cause not in CUSTOMER_CAUSES:
            raise ValueError(f"unknown customer-side cause {self.cause!r}")


class DeliveryError(FlatexportError):
    """A destination refused, lost or corrupted a file; the message says which and why.

    ``retryable`` tells the DAG whether another attempt can help (throttling, 5xx) or a
    person must act (missing bucket, access denied, wrong folder). Destinations raise it
    with the flag their store's answer implies; the default is permanent.
    ``customer_action`` is set when that person is the customer (see :class:`CustomerAction`).
    """

    def __init__(
        self, message: str, *, retryable: bool = False, customer_action: CustomerAction | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.customer_action = customer_action


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


def customer_action(exc: BaseException) -> CustomerAction | None:
    """What the customer must fix, when a failure is on their side; None when it is ours.

    Only a destination's own answer can say so (a transport sets it where it reads the
    cause), and a retryable failure never is: waiting, not the customer, fixes it.
    """
    action = getattr(exc, "customer_action", None) if isinstance(exc, DeliveryError) else None
    if isinstance(action, CustomerAction) and not exc.retryable:
        return action
    return None


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt of the failed step can help.

    Our own errors say so by class (or, for deliveries, by the destination's answer).
    Anything else is an unexpected failure — an OS or network error below our code, or a
    bug — and is retried, as Airflow would; the retry budget bounds the cost of a bug.
    """
    if isinstance(exc, FlatexportError):
        return bool(exc.retryable)
    return not isinstance(exc, KeyboardInterrupt | SystemExit)
