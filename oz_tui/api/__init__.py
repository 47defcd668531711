"""The thin async client for Warp's API key operations, and its models. No Textual imports."""

from oz_tui.api.errors import (
    AuthenticationError,
    NetworkError,
    NotFoundError,
    OzError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UserFacingError,
)
from oz_tui.api.models import (
    Account,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    KeyScope,
    KeyType,
    OwnerType,
    Team,
    Workspace,
    system_clock,
)

__all__ = [
    "Account",
    "ApiKey",
    "AuthenticationError",
    "Clock",
    "CreatedKey",
    "Expiration",
    "KeyScope",
    "KeyType",
    "NetworkError",
    "NotFoundError",
    "OzError",
    "OwnerType",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitedError",
    "ServerError",
    "Team",
    "UserFacingError",
    "Workspace",
    "system_clock",
]
