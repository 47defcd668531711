"""What a client-identity header may hold, and the client id Warp's CLI sends.

Light (no dataclasses, no httpx): the settings check `client_id` and `user_agent` with it at
start-up, and only a request to a server loads `identity`.
"""

from __future__ import annotations

#: What Warp's Oz CLI sends as `X-Warp-Client-ID`.
DEFAULT_CLIENT_ID = "warp-cli"
#: A longer header value is refused as a mistake.
MAX_HEADER_VALUE = 200


def header_value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a header value, or None when it can."""
    if not value:
        return "is empty"
    if value != value.strip():
        return "has spaces around it"
    if len(value) > MAX_HEADER_VALUE:
        return f"is longer than {MAX_HEADER_VALUE} characters"
    if not all(0x20 <= ord(char) < 0x7F for char in value):
        return "may hold only printable ASCII characters"
    return None
