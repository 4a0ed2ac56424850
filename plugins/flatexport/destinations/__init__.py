"""Destinations by URL scheme, as in fsspec and rclone: file://, s3://, gdrive://, mailto:.

Each scheme is a thin :class:`~flatexport.destinations.base.Transport`; the one delivery
sequence for all of them is :func:`~flatexport.destinations.driver.deliver`.
"""

from __future__ import annotations

from flatexport.destinations.base import Features, Payload, Receipt, Stored, Transport
from flatexport.destinations.driver import deliver, roundtrip_probe, staged_opener
from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

SCHEMES = ("file", "s3", "gdrive", "mailto")


def destination_for(sub: Subscription) -> Transport:
    """The transport a subscription names; imports cloud clients only when needed."""
    scheme = sub.scheme
    if scheme == "file":
        from flatexport.destinations.local import FolderTransport

        return FolderTransport(sub.destination)
    if scheme == "s3":
        from flatexport.destinations.s3 import S3Transport

        return S3Transport.from_subscription(sub)
    if scheme == "gdrive":
        from flatexport.destinations.gdrive import DriveTransport

        return DriveTransport.from_subscription(sub)
    if scheme == "mailto":
        from flatexport.destinations.email import EmailTransport

        return EmailTransport.from_subscription(sub)
    raise InputError(f"unsupported destination {sub.destination!r} (use file://, s3://, gdrive://, mailto:)")


__all__ = [
    "SCHEMES",
    "Features",
    "Payload",
    "Receipt",
    "Stored",
    "Transport",
    "deliver",
    "destination_for",
    "roundtrip_probe",
    "staged_opener",
]
