"""The thin async client: Warp's GraphQL key operations over one `httpx.AsyncClient`.

No Textual imports. Errors are mapped to `oz_tui.api.errors` (an answer's content by
`oz_tui.api.answers`, the transport's failures here); only idempotent operations are retried; the
credential and raw keys never reach logs, reprs or exception texts.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import socket
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, TypeVar

import httpx

from oz_tui.addresses import is_loopback_host
from oz_tui.api import errors
from oz_tui.api.answers import (
    MAX_DETAIL,
    is_gone_message,
    is_unknown_user_message,
    parse_account,
    parse_agents,
    parse_created,
    parse_expired,
    parse_key_list,
    unwrap,
)
from oz_tui.api.deadline import is_outside_command_deadline
from oz_tui.api.identity import DEFAULT_CLIENT_ID, ClientIdentity
from oz_tui.api.models import (
    Account,
    Agent,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    check_key_owner,
    credential_matches,
    expiry_time,
    format_time,
    system_clock,
)
from oz_tui.api.operations import (
    API_KEYS,
    EXPIRE_API_KEY,
    GENERATE_API_KEY,
    GET_USER,
    GET_WORKSPACES_METADATA_FOR_USER,
    Operation,
)
from oz_tui.display import server_host

log = logging.getLogger(__name__)

DEFAULT_SERVER_ROOT = "https://app.warp.dev"
GRAPHQL_PATH = "/graphql/v2"
AGENTS_PATH = "/api/v1/agent/identities"

#: Connect within 5 s; any single read/write within 30 s; a whole attempt within `total_timeout`.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_TOTAL_TIMEOUT = 60.0
MAX_RETRIES = 2
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RETRY_AFTER = 60.0
#: Larger answers are refused: 10,000 keys take about 3 MB.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: What the client asks for: the one-layer encodings it decodes itself, bounded (`_read_capped`).
ACCEPT_ENCODING = "gzip, deflate"

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "name resolution",
    "getaddrinfo",
    "no address associated",
)

T = TypeVar("T")


class _Retryable(Exception):
    """Internal: an attempt failed in a way that a safe operation may retry."""

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


@dataclass(slots=True)
class _Tried:
    """What one call has done so far, for the message when the command's deadline ends it."""

    attempts: int = 0
    #: Each attempt's trace progress (see `OzClient._attempt`).
    progress: list[dict[str, bool]] = field(default_factory=list)

    @property
    def may_have_been_sent(self) -> bool:
        return any(p["sent"] or not p["traced"] for p in self.progress)


class _TooLarge(Exception):
    """Internal: the answer exceeds MAX_RESPONSE_BYTES; its text says how (" once decoded")."""


class _BadEncoding(Exception):
    """Internal: the answer's Content-Encoding is one oz-keys does not accept."""


class _Undecodable(Exception):
    """Internal: the answer's compressed body is corrupt."""


@dataclass(frozen=True, slots=True)
class _Exchange:
    """One HTTP request the client makes: a GraphQL operation or a REST call."""

    #: For messages and logs: the operation's name, or what the REST call fetches.
    name: str
    method: str
    path: str
    #: What the server offers at `path`, for a 404's message.
    api: str
    params: dict[str, str] | None = None
    json: Any = None


class OzClient:
    """Client for list / create / expire / who-am-I / agents. Use as `async with OzClient(...)`."""

    def __init__(
        self,
        server_root: str = DEFAULT_SERVER_ROOT,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = system_clock,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        client_id: str = DEFAULT_CLIENT_ID,
        user_agent: str | None = None,
        command_timeout: float | None = None,
    ) -> None:
        self.server_root = server_root.rstrip("/")
        self.clock = clock
        # Raises ValueError for a value that cannot go into a header (settings check it first).
        self.identity = ClientIdentity(client_id=client_id, user_agent=user_agent or None)
        # Surrounding whitespace is a copy-and-paste accident, never part of a key.
        self._api_key = api_key.strip() if api_key else None
        self._total_timeout = total_timeout
        # A command's one budget for waiting on the server: every call, attempt, retry and
        # backoff draws on it; time between calls (a prompt) does not. None: no such bound.
        self._command_timeout = command_timeout
        self._budget_left = command_timeout
        self._waiting = 0
        self._deadline: float | None = None
        self._max_retries = max(0, max_retries)
        self._sleep = sleep
        self._jitter = jitter
        # Only the encodings `_read_capped` decodes: httpx would add br and zstd whenever those
        # packages happen to be installed, and then decode them unbounded.
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            **self.identity.headers(),
        }
        # A key that cannot go into a header is refused per call (AuthenticationError), never
        # handed to httpx, whose encoding errors would quote it.
        self._key_sendable = self._api_key is None or _header_safe(self._api_key)
        if self._api_key and self._key_sendable:
            headers["Authorization"] = f"Bearer {self._api_key}"
        # A malformed address is reported by each call (NetworkError), like an unreachable one.
        try:
            base_url = httpx.URL(self.server_root)
            self._valid_root = bool(self.server_root)
        except httpx.InvalidURL:
            base_url, self._valid_root = httpx.URL(""), False
        # A proxy from the environment (HTTP(S)_PROXY, ALL_PROXY) is for leaving this machine:
        # a loopback server is reached directly, so a dead or foreign proxy cannot break or see it.
        # The certificates trusted are the environment's (SSL_CERT_FILE, SSL_CERT_DIR) for every
        # server, as over the early connections: a tunnel to a server with its own authority
        # (`ssh -L 9443:localhost:8787`) is loopback too.
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            verify=httpx.create_ssl_context() if transport is None else True,
            timeout=timeout,
            headers=headers,
            trust_env=not is_loopback_host(base_url.host),
        )
        if "User-Agent" not in headers:
            # httpx adds `python-httpx/<version>` to every client; Warp's client sends none.
            del self._http.headers["User-Agent"]

    def __repr__(self) -> str:
        return f"OzClient(server_root={self.server_root!r}, credential={self.credential_hint!r})"

    @property
    def host(self) -> str:
        """`host[:port]` of the server, for messages (never any user:password part)."""
        return server_host(self.server_root)

    @property
    def credential_hint(self) -> str | None:
        """The credential as it may be shown: `wk-**abcd`, never more."""
        if not self._api_key:
            return None
        # A short (malformed) credential would be given away whole by its last four characters.
        if len(self._api_key) < 12:
            return "wk-**"
        return f"wk-**{self._api_key[-4:]}"

    def is_credential(self, key: ApiKey) -> bool:
        """Whether `key` is (by its suffix, all a listing shows) the credential in use."""
        return credential_matches(self._api_key, key)

    async def __aenter__(self) -> OzClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- operations -------------------------------------------------------------------------

    async def list_keys(self) -> list[ApiKey]:
        return await self._run(API_KEYS, {}, parse_key_list, idempotent=True)

    async def list_agents(self) -> list[Agent]:
        """The cloud agents of the caller's team(s) (REST: `GET /api/v1/agent/identities`)."""
        exchange = _Exchange("the agent list", "GET", AGENTS_PATH, api="agent API")
        return await self._guarded(self._call(exchange, parse_agents, idempotent=True))

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
        agent_uid: str | None = None,
    ) -> CreatedKey:
        """Create a key: Personal (no ids), Team (`team_id`) or Agent (`agent_uid`).
        `expiration` is a dialog choice or an explicit aware datetime.

        Never retried. When the outcome is unknown the error has `may_have_succeeded=True`.
        """
        check_key_owner(team_id, agent_uid)
        expires_at = expiry_time(expiration, self.clock())
        payload: dict[str, Any] = {
            "name": name,
            "expiresAt": format_time(expires_at) if expires_at is not None else None,
        }
        if team_id:
            payload["teamId"] = team_id
        if agent_uid:
            payload["agentUid"] = agent_uid
        return await self._run(
            GENERATE_API_KEY, {"input": payload}, parse_created, idempotent=False
        )

    async def expire_key(self, uid: str) -> None:
        """Expire (delete) a key at once. Safe to repeat, so it is retried.

        A retry whose earlier attempt may have taken effect (its answer was lost) and that is
        told the key is not found has succeeded: the key is gone, by that earlier attempt.
        """
        try:
            await self._run(EXPIRE_API_KEY, {"keyUid": uid}, parse_expired, idempotent=True)
        except errors.UserFacingError as exc:
            if not (exc.earlier_attempt_may_have_applied and is_gone_message(exc.message)):
                raise
            log.debug("ExpireApiKey: the retry found the key gone; an earlier attempt expired it")

    async def whoami(self) -> Account:
        """Who the credential acts as: Warp's `GetUser` and `GetWorkspacesMetadataForUser`,
        sent together."""
        user_task = asyncio.ensure_future(
            self._run(GET_USER, {}, lambda result: result, idempotent=True)
        )
        workspaces_task = asyncio.ensure_future(
            self._run(GET_WORKSPACES_METADATA_FOR_USER, {}, lambda result: result, idempotent=True)
        )
        try:
            user, workspaces = await asyncio.gather(user_task, workspaces_task)
        finally:
            # The first failure ends both: no request outlives the call.
            for task in (user_task, workspaces_task):
                task.cancel()
        return self._parsed(parse_account, user, workspaces)

    # -- transport ------------------------------------------------------------------------

    def _parsed(self, parse: Callable[..., T], *results: Any) -> T:
        try:
            return parse(*results)
        except errors.OzError as exc:
            failure = exc
        raise self._scrubbed(failure)

    async def _run(
        self,
        operation: Operation,
        variables: dict[str, Any],
        parse: Callable[[dict[str, Any]], T],
        *,
        idempotent: bool,
    ) -> T:
        """Run a GraphQL operation and parse the success member of its result union."""
        exchange = _Exchange(
            operation.name,
            "POST",
            GRAPHQL_PATH,
            api="key API",
            params={"op": operation.name},
            json={
                "query": operation.document,
                "variables": {**variables, "requestContext": self.identity.request_context()},
                "operationName": operation.name,
            },
        )

        def read(payload: Any) -> T:
            try:
                result = unwrap(operation, payload)
            except errors.ProtocolError as exc:
                # A 200 the client cannot read: for a create, the key may exist all the same
                # (unless GraphQL refused the document before executing it).
                if _was_executed(payload):
                    raise _outcome_unknown(exc, idempotent) from None
                raise
            try:
                return parse(result)
            except errors.ProtocolError as exc:
                # The server answered with its success type: a create did happen.
                raise _outcome_unknown(exc, idempotent) from None

        return await self._guarded(self._call(exchange, read, idempotent=idempotent))

    async def _guarded(self, call: Awaitable[T]) -> T:
        """Every error leaves here with no chained cause and no credential."""
        failure: errors.OzError
        try:
            return await call
        except errors.OzError as exc:
            failure = exc
        # Raised outside the `except` block: no __context__ pointing at httpx exceptions (which
        # hold the request, and so the Authorization header).
        raise self._scrubbed(failure)

    def _scrubbed(self, error: errors.OzError) -> errors.OzError:
        error.__cause__ = None
        error.__context__ = None
        error.__suppress_context__ = True
        if self._api_key and self._api_key in error.message:
            error.message = error.message.replace(self._api_key, self.credential_hint or "wk-**")
            error.args = (error.message,)
        return error

    async def _call(
        self, exchange: _Exchange, read: Callable[[Any], T], *, idempotent: bool
    ) -> T:
        """Send `exchange` (retried when `idempotent`) and `read` its decoded JSON answer."""
        if not self._valid_root:
            raise errors.NetworkError(
                f"The server address {self.server_root!r} is not a valid URL."
                + _not_done(idempotent)
            )
        if not self._key_sendable:
            raise errors.AuthenticationError(
                "The API key contains characters that cannot be sent; check that it was "
                "copied whole." + _not_done(idempotent)
            )
        tried = _Tried()
        deadline = self._start_waiting()
        try:
            async with asyncio.timeout_at(deadline) as budget:
                return await self._attempts(exchange, read, idempotent=idempotent, tried=tried)
        except TimeoutError:
            if not budget.expired():
                raise
        finally:
            if deadline is not None:
                self._stop_waiting()
        # Out of the `except` block, so nothing is chained.
        unknown = not idempotent and tried.may_have_been_sent
        raise errors.NetworkError(
            f"Gave up waiting for {self.host} after {_seconds(self._command_timeout)} in all "
            f"(command_timeout): {exchange.name}, {_count(tried.attempts)}, no complete answer."
            + (_maybe_created(True) if unknown else _not_done(idempotent)),
            may_have_succeeded=unknown,
        )

    def _start_waiting(self) -> float | None:
        """The loop time at which the command's budget runs out (None: it has none). Calls
        that wait together (who-am-I's two) share one deadline."""
        if self._budget_left is None or is_outside_command_deadline():
            return None
        if self._waiting == 0:
            self._deadline = asyncio.get_running_loop().time() + self._budget_left
        self._waiting += 1
        return self._deadline

    def _stop_waiting(self) -> None:
        """The end of a call `_start_waiting` gave a deadline: the last one out keeps what is
        left of the budget for the command's next call."""
        self._waiting -= 1
        if self._waiting == 0 and self._deadline is not None:
            self._budget_left = max(0.0, self._deadline - asyncio.get_running_loop().time())

    def _past_deadline(self, delay: float) -> bool:
        """Whether waiting `delay` seconds from now would pass the command's deadline."""
        if self._budget_left is None or self._deadline is None or is_outside_command_deadline():
            return False
        return asyncio.get_running_loop().time() + delay >= self._deadline

    async def _attempts(
        self, exchange: _Exchange, read: Callable[[Any], T], *, idempotent: bool, tried: _Tried
    ) -> T:
        attempts = 1 + (self._max_retries if idempotent else 0)
        may_have_applied = False
        for attempt in range(attempts):
            retry: _Retryable | None = None
            tried.attempts += 1
            try:
                payload = await self._attempt(exchange, idempotent=idempotent, tried=tried)
            except _Retryable as failure:
                retry = failure
            if retry is None:
                try:
                    return read(payload)
                except errors.OzError as exc:
                    # Only a retry can find an earlier attempt's effect (a key already expired).
                    exc.earlier_attempt_may_have_applied = may_have_applied
                    raise
            may_have_applied = may_have_applied or retry.may_have_applied
            last = attempt == attempts - 1
            too_long = retry.retry_after is not None and retry.retry_after > MAX_RETRY_AFTER
            if last or too_long:
                raise retry.error
            delay = retry.retry_after if retry.retry_after is not None else self._backoff(attempt)
            if retry.retry_after is not None and self._past_deadline(delay):
                # The server asks for a wait the command's deadline would cut short: what it
                # said is the news, not that the deadline passed.
                raise retry.error
            log.debug(
                "%s: %s, retry %d of %d in %.2fs",
                exchange.name,
                type(retry.error).__name__,
                attempt + 1,
                attempts - 1,
                delay,
            )
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """0.5 s, 1 s, 2 s, … capped at 8 s; jittered down to half of that at random."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
        return ceiling * (0.5 + min(1.0, max(0.0, self._jitter())) / 2)

    async def _attempt(self, exchange: _Exchange, *, idempotent: bool, tried: _Tried) -> Any:
        """One HTTP exchange. Raises `_Retryable` for failures a safe operation may retry."""
        started = time.monotonic()
        # httpcore reports its progress through the `trace` extension. When it reported
        # something but never began sending the request, nothing reached the server. Transports
        # that do not trace (mock, ASGI) leave the outcome unknown.
        progress = {"traced": False, "sent": False}

        async def trace(event: str, info: dict[str, Any]) -> None:
            progress["traced"] = True
            if event.endswith("send_request_headers.started"):
                progress["sent"] = True

        def may_have_been_sent() -> bool:
            return progress["sent"] or not progress["traced"]

        # Kept by the call: the command's deadline ends an attempt without the `except`s below.
        tried.progress.append(progress)

        def maybe_sent() -> bool:
            return not idempotent and may_have_been_sent()

        failure: errors.OzError | None = None
        retryable = True
        applied = True
        try:
            async with asyncio.timeout(self._total_timeout):
                async with self._http.stream(
                    exchange.method,
                    exchange.path,
                    params=exchange.params,
                    json=exchange.json,
                    extensions={"trace": trace},
                ) as response:
                    status = response.status_code
                    content = await _read_capped(response)
        except _TooLarge as exc:
            failure = errors.ProtocolError(
                f"{self.host}'s answer to {exchange.name} is larger than "
                f"{MAX_RESPONSE_BYTES // (1024 * 1024)} MB{exc}; refusing to read it."
                + _maybe_created(not idempotent),
                may_have_succeeded=not idempotent,
            )
            retryable = False
        except _BadEncoding as exc:
            failure = errors.ProtocolError(
                f"{self.host}'s answer to {exchange.name} {exc}, which oz-keys does not accept."
                + _maybe_created(not idempotent),
                may_have_succeeded=not idempotent,
            )
            retryable = False
        except (httpx.DecodingError, _Undecodable):
            failure = errors.ProtocolError(
                f"{self.host} sent an answer that could not be decoded."
                + _maybe_created(not idempotent),
                may_have_succeeded=not idempotent,
            )
            retryable = False
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the server: a create did not happen either.
            failure = errors.NetworkError(self._connect_message(exc) + _not_done(idempotent))
            applied = False
            # The same certificate fails the same way on every attempt.
            retryable = _certificate_problem(exc) is None
        except httpx.UnsupportedProtocol:
            failure = errors.NetworkError(
                f"The server address {self.server_root!r} is not an http:// or https:// URL."
                + _not_done(idempotent)
            )
            retryable = False
        except httpx.InvalidURL:
            failure = errors.NetworkError(
                f"The server address {self.server_root!r} is not a valid URL."
                + _not_done(idempotent)
            )
            retryable = False
        except (httpx.TimeoutException, TimeoutError):
            unknown = maybe_sent()
            applied = may_have_been_sent()
            if not idempotent and not unknown:
                failure = errors.NetworkError(
                    f"Timed out connecting to {self.host}." + _not_done(idempotent)
                )
            else:
                failure = errors.NetworkError(
                    f"{self.host} did not answer in time." + _maybe_created(unknown),
                    may_have_succeeded=unknown,
                )
        except httpx.TransportError as exc:
            unknown = maybe_sent()
            applied = may_have_been_sent()
            failure = errors.NetworkError(
                f"The connection to {self.host} failed ({type(exc).__name__})."
                + (_maybe_created(unknown) if unknown else _not_done(idempotent)),
                may_have_succeeded=unknown,
            )
        if failure is not None:
            # Out of the `except` blocks, so the httpx exception is not chained.
            if retryable:
                raise _Retryable(failure, may_have_applied=applied)
            raise failure
        log.debug(
            "%s: HTTP %d, %d bytes in %.3fs",
            exchange.name,
            status,
            len(content),
            time.monotonic() - started,
        )
        if status != 200:
            self._raise_for_status(exchange, status, response.headers, content, idempotent=idempotent)
        payload = _json_or_none(content)
        if payload is _NOT_JSON:
            raise errors.ProtocolError(
                f"{self.host} answered {exchange.name} with something that is not JSON."
                + _maybe_created(not idempotent),
                may_have_succeeded=not idempotent,
            )
        return payload

    def _connect_message(self, exc: Exception) -> str:
        problem = _certificate_problem(exc)
        if problem is not None:
            return (
                f"Could not verify {self.host}'s TLS certificate ({problem}): check the server "
                "address, and that this machine trusts the authority that signed it."
            )
        if _is_dns_failure(exc):
            return f"Could not resolve {self.host}: check the server address and your network."
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return f"Timed out connecting to {self.host}."
        return f"Could not connect to {self.host}: is the network up and the server running?"

    def _raise_for_status(
        self,
        exchange: _Exchange,
        status: int,
        headers: httpx.Headers,
        content: bytes,
        *,
        idempotent: bool,
    ) -> None:
        unknown = not idempotent
        detail = _problem_detail(content)
        suffix = f": {detail}" if detail else "."
        if detail is not None and is_unknown_user_message(detail):
            raise errors.AccountUnavailableError()
        if status == 401:
            raise errors.AuthenticationError(
                f"{self.host} refused the credential ({status}){suffix}"
            )
        if status == 403:
            raise errors.PermissionDeniedError(
                f"This credential may not do that on {self.host} (403){suffix}"
            )
        if status == 404:
            raise errors.NotFoundError(
                f"{self.host} has no {exchange.api} at {exchange.path} (404){suffix}"
            )
        retry_after = _retry_after(headers.get("Retry-After"))
        if status == 429:
            if retry_after is None and _is_edge_rate_limit(content):
                message = (
                    f"{self.host} answered 429 Rate exceeded, which Warp's edge is reported to "
                    "send to clients it does not recognise; if it persists, set user_agent "
                    '(e.g. "Warp/1.0") or client_id in config.toml, or OZ_KEYS_USER_AGENT / '
                    "OZ_KEYS_CLIENT_ID."
                )
            else:
                wait = f" Try again in {retry_after:.0f} s." if retry_after is not None else ""
                message = f"{self.host} is limiting requests (429).{wait}"
            error: errors.OzError = errors.RateLimitedError(message, retry_after=retry_after)
            # Refused before it was served: the request took no effect.
            raise _Retryable(error, retry_after, may_have_applied=False)
        if status >= 500:
            error = errors.ServerError(
                f"{self.host} had a server error (HTTP {status}){suffix}" + _maybe_created(unknown),
                status_code=status,
                may_have_succeeded=unknown,
            )
            if status in _RETRY_STATUSES:
                raise _Retryable(error, retry_after)
            raise error
        raise errors.ProtocolError(
            f"{self.host} answered {exchange.name} with unexpected HTTP {status}{suffix}"
        )


# -- helpers (module level: reading the HTTP answer) --------------------------------------------


def _header_safe(value: str) -> bool:
    """Printable ASCII only: what an HTTP header value may carry without encoding trouble."""
    return all(0x20 <= ord(char) < 0x7F for char in value)


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _is_dns_failure(exc: BaseException) -> bool:
    return any(
        isinstance(cause, socket.gaierror)
        or any(word in str(cause).lower() for word in _DNS_WORDS)
        for cause in _causes(exc)
    )


def _certificate_problem(exc: BaseException) -> str | None:
    """What certificate verification said ("certificate has expired", "Hostname mismatch, …"),
    when that is why connecting failed."""
    import ssl

    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or cause.reason or "verification failed"
    return None


def _outcome_unknown(error: errors.OzError, idempotent: bool) -> errors.OzError:
    """`error`, marked as possibly successful when it ends a create (the one unsafe call)."""
    if idempotent or error.may_have_succeeded:
        return error
    error.may_have_succeeded = True
    error.message += _maybe_created(True)
    error.args = (error.message,)
    return error


def _was_executed(payload: Any) -> bool:
    """False only for a GraphQL answer that says the document never ran: `errors` and no
    `data` entry at all (the GraphQL spec's request errors: syntax, validation, variables)."""
    return not (isinstance(payload, dict) and payload.get("errors") and "data" not in payload)


def _maybe_created(unknown: bool) -> str:
    return " The key may have been created: refresh the list to check." if unknown else ""


def _seconds(value: float | None) -> str:
    return f"{value:g} s"


def _count(attempts: int) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"


def _not_done(idempotent: bool) -> str:
    """For create (the one non-idempotent call) when the request never reached the server."""
    return "" if idempotent else " No key was created."


async def _read_capped(response: httpx.Response) -> bytes:
    """The answer's body, decoded, refused once it passes MAX_RESPONSE_BYTES. The raw bytes are
    decoded here, a bounded piece at a time, rather than by httpx, which unpacks each chunk (and
    each stacked encoding) whole before anyone can count it: a few KB can unpack to gigabytes."""
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > MAX_RESPONSE_BYTES:
        raise _TooLarge("")
    if response.is_stream_consumed:
        # An in-process transport (httpx.MockTransport) hands over an answer already read and
        # decoded: there is nothing left to bound but its size.
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise _TooLarge(" once decoded")
        return response.content
    encodings = response.headers.get_list("Content-Encoding", split_commas=True)
    decoder = _body_decoder(encodings)
    chunks: list[bytes] = []
    size = 0
    # What was sent counts too: a compressed stream can say nothing for ever (empty deflate
    # blocks), or go on after its end, where zlib would keep every byte (`unused_data`).
    sent = 0
    # Nothing decoded yet (raw deflate is told from zlib-wrapped by its first bytes).
    first = True

    def take(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > MAX_RESPONSE_BYTES:
            raise _TooLarge(" once decoded" if decoder is not None else "")
        chunks.append(piece)

    async for chunk in response.aiter_raw():
        sent += len(chunk)
        if sent > MAX_RESPONSE_BYTES:
            raise _TooLarge("")
        if decoder is None:
            take(chunk)
            continue
        data = chunk
        while data and not decoder.eof:  # bytes after the stream's end are not the answer
            try:
                piece = decoder.decompress(data, MAX_RESPONSE_BYTES - size + 1)
            except zlib.error:
                if not (first and _is_deflate(encodings)):
                    raise _Undecodable from None
                # Some servers send deflate raw, without its zlib wrapper (httpx accepts it):
                # the same bytes again, from their start, as raw deflate.
                decoder, first = zlib.decompressobj(wbits=-zlib.MAX_WBITS), False
                continue
            first = False
            take(piece)
            data = decoder.unconsumed_tail
    if decoder is not None:
        try:
            take(decoder.flush())
        except zlib.error:
            raise _Undecodable from None
        if not decoder.eof:  # cut short: what was decoded is not the whole answer
            raise _Undecodable
    return b"".join(chunks)


#: zlib's `wbits` for each encoding oz-keys decodes (deflate is zlib-wrapped, as RFC 9110 says).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _is_deflate(encodings: list[str]) -> bool:
    return [e.strip().lower() for e in encodings if e.strip().lower() not in ("", "identity")] == [
        "deflate"
    ]


def _body_decoder(encodings: list[str]) -> Any:
    """A zlib decompressor for the one encoding named, None for none; `_BadEncoding` for more
    than one layer or one oz-keys does not decode."""
    layers = [e.strip().lower() for e in encodings if e.strip().lower() not in ("", "identity")]
    if not layers:
        return None
    if len(layers) > 1:
        raise _BadEncoding(f"uses stacked encodings ({_shown(', '.join(layers))})")
    if layers[0] not in _WBITS:
        raise _BadEncoding(f"uses the encoding {_shown(layers[0])!r}")
    return zlib.decompressobj(wbits=_WBITS[layers[0]])


def _shown(text: str, limit: int = 40) -> str:
    """A header's words as a message may quote them: shortened (the CLI and the panel make them
    inert)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NOT_JSON = object()


def _json_or_none(content: bytes) -> Any:
    """The decoded JSON value, or `_NOT_JSON`. Deeply nested or huge-number input counts as not
    JSON rather than crashing the parser."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _NOT_JSON


def _problem_detail(content: bytes) -> str | None:
    """`detail` or `title` of an RFC 7807 body, shortened; None when there is none."""
    body = _json_or_none(content)
    if not isinstance(body, dict):
        return None
    # RFC 7807 (`detail`, `title`), and the `{"error": …}` of Warp's REST API.
    for key in ("detail", "title", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_DETAIL]
    return None


def _is_edge_rate_limit(content: bytes) -> bool:
    """The bare `Rate exceeded.` of the edge in front of Warp's server (not a GraphQL answer)."""
    return content.strip().lower().startswith(b"rate exceeded")


def _retry_after(value: str | None) -> float | None:
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
