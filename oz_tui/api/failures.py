"""What a failed exchange means to the person: the client's failures as `oz_tui.core.errors`.

A transport failure (connecting, reading, an answer too large or undecodable) or an HTTP status
becomes one typed error with the message the user sees: whether a create may have happened
(`may_have_succeeded`), whether the request ever reached the server, and whether a safe
operation may try it again (`Retryable`). An answer's *content* is read by `oz_tui.api.answers`.
"""

from __future__ import annotations

import email.utils
import socket
import time
from datetime import timezone
from typing import Any, Callable

import httpx

from oz_tui.core import errors
from oz_tui.api.answers import MAX_DETAIL, is_unknown_user_message
from oz_tui.api.body import MAX_RESPONSE_BYTES, BadEncoding, TooLarge, Undecodable, json_or_none

#: The statuses a safe operation tries again (with `Retry-After`, when the server gives one).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "name resolution",
    "getaddrinfo",
    "no address associated",
)


class Retryable(Exception):
    """An attempt failed in a way that a safe operation may retry."""

    def __init__(
        self,
        error: errors.OzError,
        retry_after: float | None = None,
        *,
        may_have_applied: bool = True,
    ) -> None:
        super().__init__(type(error).__name__)
        self.error = error
        self.retry_after = retry_after
        #: False when the request surely did not take effect (never sent, or refused unread).
        self.may_have_applied = may_have_applied


def transport_failure(
    exc: Exception,
    *,
    host: str,
    server_root: str,
    name: str,
    idempotent: bool,
    may_have_been_sent: Callable[[], bool],
) -> errors.OzError | Retryable | None:
    """What an exception from sending `name` and reading its answer means: the error to raise,
    or `Retryable` around it; None for an exception that is not a transport failure."""
    maybe_sent = not idempotent and may_have_been_sent()
    if isinstance(exc, TooLarge):
        return errors.ProtocolError(
            f"{host}'s answer to {name} is larger than "
            f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MB{exc}; refusing to read it."
            + maybe_created(not idempotent),
            may_have_succeeded=not idempotent,
        )
    if isinstance(exc, BadEncoding):
        return errors.ProtocolError(
            f"{host}'s answer to {name} {exc}, which oz-keys does not accept."
            + maybe_created(not idempotent),
            may_have_succeeded=not idempotent,
        )
    if isinstance(exc, (httpx.DecodingError, Undecodable)):
        return errors.ProtocolError(
            f"{host} sent an answer that could not be decoded." + maybe_created(not idempotent),
            may_have_succeeded=not idempotent,
        )
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        # Nothing reached the server: a create did not happen either.
        failure = errors.NetworkError(connect_message(exc, host) + not_done(idempotent))
        # The same certificate fails the same way on every attempt.
        if certificate_problem(exc) is not None:
            return failure
        return Retryable(failure, may_have_applied=False)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return errors.NetworkError(
            f"The server address {server_root!r} is not an http:// or https:// URL."
            + not_done(idempotent)
        )
    if isinstance(exc, httpx.InvalidURL):
        return errors.NetworkError(
            f"The server address {server_root!r} is not a valid URL." + not_done(idempotent)
        )
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        if not idempotent and not maybe_sent:
            failure = errors.NetworkError(f"Timed out connecting to {host}." + not_done(idempotent))
        else:
            failure = errors.NetworkError(
                f"{host} did not answer in time." + maybe_created(maybe_sent),
                may_have_succeeded=maybe_sent,
            )
        return Retryable(failure, may_have_applied=may_have_been_sent())
    if isinstance(exc, httpx.TransportError):
        failure = errors.NetworkError(
            f"The connection to {host} failed ({type(exc).__name__})."
            + (maybe_created(maybe_sent) if maybe_sent else not_done(idempotent)),
            may_have_succeeded=maybe_sent,
        )
        return Retryable(failure, may_have_applied=may_have_been_sent())
    return None


def connect_message(exc: Exception, host: str) -> str:
    problem = certificate_problem(exc)
    if problem is not None:
        return (
            f"Could not verify {host}'s TLS certificate ({problem}): check the server "
            "address, and that this machine trusts the authority that signed it."
        )
    if is_dns_failure(exc):
        return f"Could not resolve {host}: check the server address and your network."
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return f"Timed out connecting to {host}."
    return f"Could not connect to {host}: is the network up and the server running?"


def raise_for_status(
    status: int,
    headers: httpx.Headers,
    content: bytes,
    *,
    host: str,
    name: str,
    path: str,
    api: str,
    idempotent: bool,
) -> None:
    """Raise the error (or `Retryable`) an answer with HTTP `status` other than 200 means."""
    unknown = not idempotent
    detail = problem_detail(content)
    suffix = f": {detail}" if detail else "."
    if detail is not None and is_unknown_user_message(detail):
        raise errors.AccountUnavailableError()
    if status == 401:
        raise errors.AuthenticationError(f"{host} refused the credential ({status}){suffix}")
    if status == 403:
        raise errors.PermissionDeniedError(
            f"This credential may not do that on {host} (403){suffix}"
        )
    if status == 404:
        raise errors.NotFoundError(f"{host} has no {api} at {path} (404){suffix}")
    wait = retry_after(headers.get("Retry-After"))
    if status == 429:
        if wait is None and is_edge_rate_limit(content):
            message = (
                f"{host} answered 429 Rate exceeded, which Warp's edge is reported to "
                "send to clients it does not recognise; if it persists, set user_agent "
                '(e.g. "Warp/1.0") or client_id in config.toml, or OZ_KEYS_USER_AGENT / '
                "OZ_KEYS_CLIENT_ID."
            )
        else:
            again = f" Try again in {wait:.0f} s." if wait is not None else ""
            message = f"{host} is limiting requests (429).{again}"
        error: errors.OzError = errors.RateLimitedError(message, retry_after=wait)
        # Refused before it was served: the request took no effect.
        raise Retryable(error, wait, may_have_applied=False)
    if status >= 500:
        error = errors.ServerError(
            f"{host} had a server error (HTTP {status}){suffix}" + maybe_created(unknown),
            status_code=status,
            may_have_succeeded=unknown,
        )
        if status in RETRY_STATUSES:
            raise Retryable(error, wait)
        raise error
    raise errors.ProtocolError(f"{host} answered {name} with unexpected HTTP {status}{suffix}")


def outcome_unknown(error: errors.OzError, idempotent: bool) -> errors.OzError:
    """`error`, marked as possibly successful when it ends a create (the one unsafe call)."""
    if idempotent or error.may_have_succeeded:
        return error
    error.may_have_succeeded = True
    error.message += maybe_created(True)
    error.args = (error.message,)
    return error


def was_executed(payload: Any) -> bool:
    """False only for a GraphQL answer that says the document never ran: `errors` and no
    `data` entry at all (the GraphQL spec's request errors: syntax, validation, variables)."""
    return not (isinstance(payload, dict) and payload.get("errors") and "data" not in payload)


def maybe_created(unknown: bool) -> str:
    return " The key may have been created: refresh the list to check." if unknown else ""


def not_done(idempotent: bool) -> str:
    """For create (the one non-idempotent call) when the request never reached the server."""
    return "" if idempotent else " No key was created."


def causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def is_dns_failure(exc: BaseException) -> bool:
    return any(
        isinstance(cause, socket.gaierror)
        or any(word in str(cause).lower() for word in _DNS_WORDS)
        for cause in causes(exc)
    )


def certificate_problem(exc: BaseException) -> str | None:
    """What certificate verification said ("certificate has expired", "Hostname mismatch, …"),
    when that is why connecting failed."""
    import ssl

    for cause in causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or cause.reason or "verification failed"
    return None


def problem_detail(content: bytes) -> str | None:
    """`detail` or `title` of an RFC 7807 body, shortened; None when there is none."""
    body = json_or_none(content)
    if not isinstance(body, dict):
        return None
    # RFC 7807 (`detail`, `title`), and the `{"error": …}` of Warp's REST API.
    for key in ("detail", "title", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_DETAIL]
    return None


def is_edge_rate_limit(content: bytes) -> bool:
    """The bare `Rate exceeded.` of the edge in front of Warp's server (not a GraphQL answer)."""
    return content.strip().lower().startswith(b"rate exceeded")


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if seconds != seconds else max(0.0, seconds)  # NaN is not a delay
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)  # HTTP dates are GMT
    return max(0.0, when.timestamp() - time.time())
