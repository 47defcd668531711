"""The thin async client: Warp's key operations over one `httpx.AsyncClient`.

Here: the operations and one HTTP exchange. What a failure means is `failures`, which calls are
tried again and within what budget is `retry`, reading the answer's body is `body`, its content
`answers`. No Textual imports. The credential and raw keys never reach logs, reprs or exception
texts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Awaitable, Callable, TypeVar

import httpx

from oz_tui.core.addresses import is_loopback_host
from oz_tui.core import errors
from oz_tui.api.answers import (
    is_gone_message,
    parse_account,
    parse_agents,
    parse_created,
    parse_expired,
    parse_key_list,
    unwrap,
)
from oz_tui.api.body import ACCEPT_ENCODING, NOT_JSON, json_or_none, read_capped
from oz_tui.api.failures import (
    Retryable,
    maybe_created,
    not_done,
    outcome_unknown,
    raise_for_status,
    transport_failure,
    was_executed,
)
from oz_tui.api.identity import DEFAULT_CLIENT_ID, ClientIdentity
from oz_tui.core.models import (
    Account,
    Agent,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    check_key_owner,
    credential_hint,
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
from oz_tui.api.retry import MAX_RETRIES, CommandBudget, Tried, attempts
from oz_tui.core.display import server_host

log = logging.getLogger(__name__)

DEFAULT_SERVER_ROOT = "https://app.warp.dev"
GRAPHQL_PATH = "/graphql/v2"
AGENTS_PATH = "/api/v1/agent/identities"

#: Connect within 5 s; any single read/write within 30 s; a whole attempt within `total_timeout`.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_TOTAL_TIMEOUT = 60.0
T = TypeVar("T")


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
        # A command's one budget for waiting on the server (None: no such bound).
        self._budget = CommandBudget(command_timeout)
        self._max_retries = max(0, max_retries)
        self._sleep = sleep
        self._jitter = jitter
        # Only the encodings `read_capped` decodes: httpx would add br and zstd whenever those
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
        return credential_hint(self._api_key)

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
                if was_executed(payload):
                    raise outcome_unknown(exc, idempotent) from None
                raise
            try:
                return parse(result)
            except errors.ProtocolError as exc:
                # The server answered with its success type: a create did happen.
                raise outcome_unknown(exc, idempotent) from None

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
                + not_done(idempotent)
            )
        if not self._key_sendable:
            raise errors.AuthenticationError(
                "The API key contains characters that cannot be sent; check that it was "
                "copied whole." + not_done(idempotent)
            )
        tried = Tried()
        deadline = self._budget.start()
        try:
            async with asyncio.timeout_at(deadline) as budget:
                return await attempts(
                    lambda: self._attempt(exchange, idempotent=idempotent, tried=tried),
                    read,
                    name=exchange.name,
                    retries=self._max_retries if idempotent else 0,
                    budget=self._budget,
                    sleep=self._sleep,
                    jitter=self._jitter,
                    tried=tried,
                )
        except TimeoutError:
            if not budget.expired():
                raise
        finally:
            if deadline is not None:
                self._budget.stop()
        # Out of the `except` block, so nothing is chained.
        unknown = not idempotent and tried.may_have_been_sent
        tries = "1 attempt" if tried.attempts == 1 else f"{tried.attempts} attempts"
        raise errors.NetworkError(
            f"Gave up waiting for {self.host} after {self._budget.seconds:g} s in all "
            f"(command_timeout): {exchange.name}, {tries}, no complete answer."
            + (maybe_created(True) if unknown else not_done(idempotent)),
            may_have_succeeded=unknown,
        )

    async def _attempt(self, exchange: _Exchange, *, idempotent: bool, tried: Tried) -> Any:
        """One HTTP exchange. Raises `Retryable` for failures a safe operation may retry."""
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

        failure: errors.OzError | Retryable | None = None
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
                    content = await read_capped(response)
        except Exception as exc:
            failure = transport_failure(
                exc, host=self.host, server_root=self.server_root, name=exchange.name,
                idempotent=idempotent, may_have_been_sent=may_have_been_sent,
            )
            if failure is None:
                raise
        if failure is not None:
            # Out of the `except` block, so the httpx exception is not chained.
            raise failure
        log.debug(
            "%s: HTTP %d, %d bytes in %.3fs",
            exchange.name,
            status,
            len(content),
            time.monotonic() - started,
        )
        if status != 200:
            raise_for_status(
                status, response.headers, content, host=self.host, name=exchange.name,
                path=exchange.path, api=exchange.api, idempotent=idempotent,
            )
        payload = json_or_none(content)
        if payload is NOT_JSON:
            raise errors.ProtocolError(
                f"{self.host} answered {exchange.name} with something that is not JSON."
                + maybe_created(not idempotent),
                may_have_succeeded=not idempotent,
            )
        return payload


def _header_safe(value: str) -> bool:
    """Printable ASCII only: what an HTTP header value may carry without encoding trouble."""
    return all(0x20 <= ord(char) < 0x7F for char in value)
