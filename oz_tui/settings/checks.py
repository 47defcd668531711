"""The checks a setting's value goes through, wherever it came from (flag, environment, file).

Each raises `SettingsError`, one line naming where the value came from (`source`: "--data-dir",
"OZ_KEYS_REQUEST_TIMEOUT", "/path/config.toml: request_timeout"). No Textual, no network.
"""

from __future__ import annotations

import re
from pathlib import Path

from oz_tui.api.headers import header_value_problem


class SettingsError(Exception):
    """A setting that cannot be used. `str()` is one line for the user; exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def user_path(text: str, source: str) -> Path:
    """A path a person typed (`~` and `~user` expanded), or `SettingsError` naming `source`."""
    if "\0" in text:
        raise SettingsError(f"{source} contains a NUL character: {quote(text)}")
    if has_surrogates(text) and not text.startswith("~"):
        return Path(text)  # bytes that are not UTF-8: a valid path on POSIX, used as is
    try:
        return Path(text).expanduser()
    except RuntimeError:  # ~user for a user that does not exist, or no home directory
        user = text.split("/", 1)[0]
        raise SettingsError(
            f"{source}: cannot expand {quote(user)}: no such user or no home directory"
        ) from None


def has_surrogates(text: str) -> bool:
    """True for text that came from bytes that are not UTF-8 (argv, environment)."""
    return any("\ud800" <= char <= "\udfff" for char in text)


def check_header_setting(value: str, source: str) -> str:
    """`value` (client_id, user_agent) as sent in a header, or `SettingsError` naming `source`."""
    problem = header_value_problem(value.strip())
    if problem:
        raise SettingsError(f"{source} {problem}, not {quote(value)}")
    return value.strip()


def seconds_range(maximum: int) -> str:
    return f"must be a number of seconds above 0 and at most {maximum}"


def valid_seconds(seconds: float, maximum: int) -> bool:
    return 0 < seconds <= maximum  # NaN fails this too


def parse_seconds(text: str, source: str, maximum: int) -> float:
    """`text` (from a flag or the environment) as seconds, or `SettingsError` naming `source`."""
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = float("nan")
    if not valid_seconds(seconds, maximum):
        raise SettingsError(f"{source} {seconds_range(maximum)}, not {quote(text)}")
    return seconds


def toml_type(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "a table",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def quote(text: str) -> str:
    from oz_tui.core.sanitize import safe_text

    return '"' + safe_text(text, max_length=60) + '"'


def printable_ascii(text: str) -> bool:
    return all(0x21 <= ord(char) <= 0x7E for char in text)


def normalize_server_url(value: str, source: str) -> str:
    """`value` as a server root (scheme and host, no trailing slash), or `SettingsError`."""
    from urllib.parse import urlsplit  # only when a server is named

    from oz_tui.settings.table import ENV_API_KEY

    text = value.strip()
    like = "an http(s) URL like https://app.warp.dev"
    if has_surrogates(text) or not text.isprintable() or any(c.isspace() for c in text):
        raise SettingsError(f"{source} must be {like}, not {quote(value)}")
    try:
        parts = urlsplit(text)
    except ValueError:  # unbalanced IPv6 brackets
        raise SettingsError(f"{source} is not a valid URL: {quote(value)}") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the part before "@" may be a password.
        raise SettingsError(
            f"{source} must not hold a user name or password (user:pass@); "
            f"the API key goes in {ENV_API_KEY}"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{source} must be {like}, not {quote(value)}")
    if parts.netloc.count("[") != parts.netloc.count("]") or parts.netloc.count("]") > 1:
        raise SettingsError(f"{source} is not a valid URL: {quote(value)}")
    try:
        port = parts.port  # raises on a port that is not a number up to 65535
    except ValueError:
        port = 0
    if port == 0:
        raise SettingsError(f"{source} has an invalid port: {quote(value)}")
    if not parts.hostname or not _valid_host(parts.hostname, bracketed="[" in parts.netloc):
        raise SettingsError(f"{source} has no valid host name: {quote(value)}")
    return text.rstrip("/")


#: Compiled (and cached by `re`) the first time a server name is checked, not at start-up.
_DNS_LABEL = r"(?i)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"


def _valid_host(host: str, *, bracketed: bool) -> bool:
    """An IP literal (IPv6 only in brackets) or a DNS name (IDNA) a client can connect to."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if bracketed:
            return False
        try:
            name = host.encode("idna").decode("ascii")
        except UnicodeError:
            return False
        labels = name.removesuffix(".").split(".")
        return len(name) <= 253 and all(re.fullmatch(_DNS_LABEL, label) for label in labels)
    return bracketed == (address.version == 6)
