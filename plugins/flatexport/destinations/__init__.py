"""Destinations by URL scheme, as in fsspec and rclone: file://, s3://, gdrive://."""

from __future__ import annotations

from flatexport.destinations.base import Destination, Receipt
from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

SCHEMES = ("file", "s3", "gdrive")


def destination_for(sub: Subscription) -> Destination:
    """Build the destination a subscription names; imports cloud clients only when needed."""
    scheme = sub.scheme
    if scheme == "file":
        from flatexport.destinations.local import LocalFolderDestination

        return LocalFolderDestination(sub.destination)
    if scheme == "s3":
        from flatexport.destinations.s3 import S3Destination

        return S3Destination.from_subscription(sub)
    if scheme == "gdrive":
        from flatexport.destinations.gdrive import DriveDestination

        return DriveDestination.from_subscription(sub)
    raise InputError(f"unsupported destination {sub.destination!r} (use file://, s3:// or gdrive://)")


__all__ = ["Destination", "Receipt", "SCHEMES", "destination_for"]
