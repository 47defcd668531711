"""The local store's errors: what a caller did wrong, and a database that cannot be used."""

from __future__ import annotations

from oz_tui.core.errors import OzError


class LocalStoreError(OzError):
    """The local key database cannot be opened or used."""


class NothingWritten(LocalStoreError):
    """A write failed and its transaction was rolled back: the store is as it was before.

    `message` names the file (for the person at this machine); `public_message` does not (for
    a client on the network)."""

    def __init__(self, message: str, public_message: str) -> None:
        super().__init__(message)
        self.public_message = public_message


class StoreBusy(Exception):
    """Another thread is using the store right now (raised only when asked not to wait)."""


class InvalidRequest(Exception):
    """A request the service refuses; `str()` is a message for the user."""
