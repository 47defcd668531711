"""The typed errors the client raises. A UI switches on the class; messages never hold secrets."""

from __future__ import annotations


class OzError(Exception):
    """Base of every error the API client raises."""

    #: Exit code for the CLI (documented in README).
    exit_code = 1

    def __init__(self, message: str, *, may_have_succeeded: bool = False) -> None:
        super().__init__(message)
        self.message = message
        #: True when a non-idempotent call (create) failed after the request may have reached the
        #: server: the key may exist, and a refresh will tell.
        self.may_have_succeeded = may_have_succeeded
        #: True when this answered a retry after an attempt that may have taken effect (sent,
        #: its answer lost): "not found" may then mean that attempt did it.
        self.earlier_attempt_may_have_applied = False

    def __str__(self) -> str:
        return self.message


class AuthenticationError(OzError):
    """401, or the server said the credential is missing, revoked, expired or malformed."""

    exit_code = 3


#: The first words when no credential is set, in the panel and the CLI alike.
NO_API_KEY = "No API key is set"
#: Where a person makes one (Warp's settings page).
WHERE_TO_CREATE = "create one in Warp: Settings > Cloud platform > Oz Cloud API Keys"

#: What `User not in context` means for an API key (Warp's client signs the user out on it):
#: the key is fine, its account is not. One wording for the panel and the CLI.
ACCOUNT_UNAVAILABLE = (
    "The account this API key belongs to is disabled or deleted (server: User not in context). "
    "Ask your team's admin, or sign in to Warp to check the account."
)

#: The panel's fix line under it: no new key, since any key of that account is refused too.
ACCOUNT_FIX = "A new API key from the same account would be refused the same way."


class AccountUnavailableError(AuthenticationError):
    """The server said `User not in context`: the key's account is disabled or deleted, so a
    new key would not help. Still an authentication failure (exit 3), with its own message."""

    def __init__(self, message: str = ACCOUNT_UNAVAILABLE, **kw: bool) -> None:
        super().__init__(message, **kw)


class PermissionDeniedError(OzError):
    """403: the credential is valid but may not do this."""


class NotFoundError(OzError):
    """404, or a key that does not exist."""

    exit_code = 4


class RateLimitedError(OzError):
    """429. `retry_after` is the server's Retry-After in seconds, when it sent one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: bool) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(OzError):
    """5xx."""

    def __init__(self, message: str, *, status_code: int, **kw: bool) -> None:
        super().__init__(message, **kw)
        self.status_code = status_code


class NetworkError(OzError):
    """The server could not be reached or did not answer in time (connect, DNS, timeout)."""


class ProtocolError(OzError):
    """The answer is not what the protocol promises: not JSON, GraphQL `errors`, wrong shape."""


class UserFacingError(OzError):
    """The server's own message for the user (`UserFacingError` result), shown as is."""
