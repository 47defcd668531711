"""What a server's refusal in its own words means (a GraphQL `UserFacingError` result, or the
local store's `InvalidRequest` text): a sign-in problem, an account that is gone, or a message
for the user. Pure text rules, shared by the API client and the local service's direct path."""

from __future__ import annotations

from oz_tui.core import errors

#: A `UserFacingError` message (the server's own words for the user) is cut to this length.
MAX_USER_MESSAGE = 1000

_AUTH_WORDS = ("unauthenticated", "not authenticated", "unauthorized", "authentication")
#: What Warp's server says when the key's account is disabled or deleted (with several
#: suffixes: `: Not found`, `: ERROR …`); Warp's client signs the user out on it.
_UNKNOWN_USER = "user not in context"


def is_unknown_user_message(message: str) -> bool:
    return _UNKNOWN_USER in message.lower()


def is_auth_message(message: str) -> bool:
    lowered = message.lower()
    return is_unknown_user_message(message) or any(word in lowered for word in _AUTH_WORDS)


def user_facing_error(operation_name: str, message: str) -> errors.OzError:
    """The typed error for a refusal in the server's own words (a `UserFacingError` result):
    `AuthenticationError` when it is about the credential, else `UserFacingError`. The local
    store's refusals reach the user through here on both paths (GraphQL and direct)."""
    if not message.strip():
        message = f"The server refused {operation_name} without saying why."
    if len(message) > MAX_USER_MESSAGE:
        message = message[: MAX_USER_MESSAGE - 1] + "…"
    if is_unknown_user_message(message):
        return errors.AccountUnavailableError()
    if is_auth_message(message):
        return errors.AuthenticationError(message)
    return errors.UserFacingError(message)
