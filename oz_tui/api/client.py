"""The thin async client: Warp's GraphQL key operations over one `httpx.AsyncClient`.

No Textual imports. Errors are mapped to `oz_tui.api.errors`; only idempotent operations are
retried; the credential and raw keys never reach logs, reprs or exception texts.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import platform
import random
import time
from datetime import datetime
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from oz_tui import __version__
from oz_tui.api import errors
from oz_tui.api.models import (
    Account,
    ApiKey,
    Clock,
    CreatedKey,
    Expiration,
    KeyScope,
    OwnerType,
    Team,
    Workspace,
    format_time,
    parse_time,
    system_clock,
)
from oz_tui.api.operations import API_KEYS, EXPIRE_API_KEY, GENERATE_API_KEY, GET_USER, Operation

log = logging.getLogger(__name__)

DEFAULT_SERVER_ROOT = "https://app.warp.dev"
GRAPHQL_PATH = "/graphql/v2"

#: Connect within 5 s; any single read/write within 30 s; a whole attempt within `total_timeout`.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_TOTAL_TIMEOUT = 60.0
MAX_RETRIES = 2
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
MAX_RETRY_AFTER = 60.0
#: Larger answers are refused: 10,000 keys take about 3 MB.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_AUTH_WORDS = ("unauthenticated", "not authenticated", "unauthorized", "authentication")


class _Retryable(Exception):
    """Internal: an attempt failed in a way that a safe operation may retry."""

    def __init__(self, error: errors.OzError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


class OzClient:
    """Client for list / create / expire / who-am-I. Use as `async with OzClient(...) as c:`."""

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
    ) -> None:
        self.server_root = server_root.rstrip("/")
        self.clock = clock
        self._api_key = api_key
        self._total_timeout = total_timeout
        self._max_retries = max_retries
        self._sleep = sleep
        self._jitter = jitter
        headers = {"User-Agent": f"oz-keys/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=self.server_root, transport=transport, timeout=timeout, headers=headers
        )

    def __repr__(self) -> str:
        return f"OzClient(server_root={self.server_root!r}, credential={self.credential_hint!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.server_root).netloc or self.server_root

    @property
    def credential_hint(self) -> str | None:
        """The credential as it may be shown: `wk-**abcd`, never more."""
        if not self._api_key:
            return None
        return f"wk-**{self._api_key[-4:]}"

    async def __aenter__(self) -> OzClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- operations -------------------------------------------------------------------------

    async def list_keys(self) -> list[ApiKey]:
        result = await self._call(API_KEYS, {}, idempotent=True)
        items = _field(result, "apiKeys", list)
        return [_parse_key(item) for item in items]

    async def create_key(
        self,
        name: str,
        expiration: Expiration | datetime,
        *,
        team_id: str | None = None,
    ) -> CreatedKey:
        """Create a key. `expiration` is a dialog choice or an explicit aware datetime."""
        expires_at = (
            expiration.expires_at(self.clock())
            if isinstance(expiration, Expiration)
            else expiration
        )
        payload: dict[str, Any] = {
            "name": name,
            "expiresAt": format_time(expires_at) if expires_at else None,
        }
        if team_id:
            payload["teamId"] = team_id
        result = await self._call(GENERATE_API_KEY, {"input": payload}, idempotent=False)
        raw_key = _field(result, "rawApiKey", str)
        return CreatedKey(api_key=_parse_key(_field(result, "apiKey", dict)), raw_key=raw_key)

    async def expire_key(self, uid: str) -> None:
        """Expire (delete) a key at once. Safe to repeat, so it is retried."""
        result = await self._call(EXPIRE_API_KEY, {"input": {"keyUID": uid}}, idempotent=True)
        if not _field(result, "success", bool):
            raise errors.UserFacingError("The server did not confirm that the key was deleted.")

    async def whoami(self) -> Account:
        result = await self._call(GET_USER, {}, idempotent=True)
        return _parse_account(result)

    # -- transport ------------------------------------------------------------------------

    async def _call(
        self, operation: Operation, variables: dict[str, Any], *, idempotent: bool
    ) -> dict[str, Any]:
        body = {
            "query": operation.document,
            "variables": {**variables, "requestContext": request_context()},
            "operationName": operation.name,
        }
        attempts = 1 + (self._max_retries if idempotent else 0)
        for attempt in range(attempts):
            try:
                payload = await self._attempt(operation, body, idempotent=idempotent)
            except _Retryable as failure:
                last = attempt == attempts - 1
                too_long = failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER
                if last or too_long:
                    raise failure.error from None
                delay = (
                    failure.retry_after
                    if failure.retry_after is not None
                    else self._backoff(attempt)
                )
                log.debug("%s: retry %d in %.2fs", operation.name, attempt + 1, delay)
                await self._sleep(delay)
                continue
            return _unwrap(operation, payload)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
        return ceiling * (0.5 + self._jitter() / 2)

    async def _attempt(
        self, operation: Operation, body: dict[str, Any], *, idempotent: bool
    ) -> Any:
        """One HTTP exchange. Raises `_Retryable` for failures a safe operation may retry."""
        started = time.monotonic()
        # Once the request may have reached the server, a failed create has an unknown outcome.
        unknown = not idempotent
        try:
            async with asyncio.timeout(self._total_timeout):
                async with self._http.stream(
                    "POST", GRAPHQL_PATH, params={"op": operation.name}, json=body
                ) as response:
                    status = response.status_code
                    content = await _read_capped(response)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing reached the server: a create did not happen either.
            error = errors.NetworkError(self._connect_message(exc))
            raise _Retryable(error) from None
        except (httpx.TimeoutException, TimeoutError):
            error = errors.NetworkError(
                f"{self.host} did not answer in time." + _maybe_created(unknown),
                may_have_succeeded=unknown,
            )
            raise _Retryable(error) from None
        except httpx.TransportError as exc:
            error = errors.NetworkError(
                f"The connection to {self.host} failed ({type(exc).__name__})."
                + _maybe_created(unknown),
                may_have_succeeded=unknown,
            )
            raise _Retryable(error) from None
        log.debug(
            "%s: HTTP %d, %d bytes in %.3fs",
            operation.name,
            status,
            len(content),
            time.monotonic() - started,
        )
        if status != 200:
            self._raise_for_status(status, response.headers, content, unknown=unknown)
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError):
            raise errors.ProtocolError(
                f"{self.host} answered {operation.name} with something that is not JSON."
                + _maybe_created(unknown),
                may_have_succeeded=unknown,
            ) from None

    def _connect_message(self, exc: Exception) -> str:
        text = str(exc).lower()
        if "name or service not known" in text or "nodename nor servname" in text or (
            "name resolution" in text or "getaddrinfo" in text
        ):
            return f"Could not resolve {self.host}: check the server address and your network."
        if isinstance(exc, httpx.ConnectTimeout):
            return f"Timed out connecting to {self.host}."
        return f"Could not connect to {self.host}: is the network up and the server running?"

    def _raise_for_status(
        self, status: int, headers: httpx.Headers, content: bytes, *, unknown: bool
    ) -> None:
        detail = _problem_detail(content)
        suffix = f": {detail}" if detail else "."
        if status == 401:
            raise errors.AuthenticationError(
                f"{self.host} refused the credential (401){suffix}"
            )
        if status == 403:
            raise errors.PermissionDeniedError(
                f"This credential may not do that on {self.host} (403){suffix}"
            )
        if status == 404:
            raise errors.NotFoundError(f"{self.host} has no key API at {GRAPHQL_PATH} (404).")
        if status == 429:
            retry_after = _retry_after(headers.get("Retry-After"))
            wait = f" Try again in {retry_after:.0f} s." if retry_after is not None else ""
            error: errors.OzError = errors.RateLimitedError(
                f"{self.host} is limiting requests (429).{wait}", retry_after=retry_after
            )
            raise _Retryable(error, retry_after)
        if status >= 500:
            error = errors.ServerError(
                f"{self.host} had a server error (HTTP {status})." + _maybe_created(unknown),
                status_code=status,
                may_have_succeeded=unknown,
            )
            if status in _RETRY_STATUSES:
                raise _Retryable(error)
            raise error
        raise errors.ProtocolError(f"{self.host} answered with unexpected HTTP {status}.")


# -- helpers (module level: pure functions of the answer) --------------------------------------


def request_context() -> dict[str, Any]:
    """`requestContext`, as Warp's client sends it: client version and OS."""
    system = platform.system()
    category = {"Darwin": "macOS"}.get(system, system)
    os_context: dict[str, Any] = {"category": category, "name": system, "version": platform.release()}
    if system == "Linux":
        os_context["linuxKernelVersion"] = platform.release()
    return {"clientContext": {"version": f"oz-keys/{__version__}"}, "osContext": os_context}


def _maybe_created(unknown: bool) -> str:
    return " The key may have been created: refresh the list to check." if unknown else ""


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise errors.ProtocolError(
                f"The server's answer is larger than {MAX_RESPONSE_BYTES // (1024 * 1024)} MB; "
                "refusing to read it."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _problem_detail(content: bytes) -> str | None:
    """`detail` or `title` of an RFC 7807 body, shortened; None when there is none."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict):
        return None
    for key in ("detail", "title", "message"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_auth_message(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _AUTH_WORDS)


def _unwrap(operation: Operation, payload: Any) -> dict[str, Any]:
    """The success member of the operation's result union, or the matching typed error."""
    if not isinstance(payload, dict):
        raise errors.ProtocolError("The server's answer is not a GraphQL response object.")
    graphql_errors = payload.get("errors")
    if graphql_errors:
        messages = [
            e.get("message", "") if isinstance(e, dict) else str(e) for e in graphql_errors
        ]
        codes = [
            (e.get("extensions") or {}).get("code") if isinstance(e, dict) else None
            for e in graphql_errors
        ]
        text = "; ".join(m for m in messages if m)[:300] or "no message"
        if "UNAUTHENTICATED" in codes or any(_is_auth_message(m) for m in messages):
            raise errors.AuthenticationError(f"The server refused the credential: {text}")
        raise errors.ProtocolError(f"The server rejected {operation.name}: {text}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise errors.ProtocolError(f"The answer to {operation.name} has no data.")
    result = data.get(operation.root_field)
    if not isinstance(result, dict):
        raise errors.ProtocolError(f"The answer to {operation.name} has no {operation.root_field}.")
    typename = result.get("__typename")
    if typename == operation.success_type:
        return result
    if typename == "UserFacingError":
        error = result.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str):
            raise errors.ProtocolError("The server sent an error without a message.")
        if _is_auth_message(message):
            raise errors.AuthenticationError(message)
        raise errors.UserFacingError(message)
    raise errors.ProtocolError(
        f"The answer to {operation.name} is of an unknown kind ({str(typename)[:60]})."
    )


def _field(obj: Any, name: str, kind: type) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise errors.ProtocolError(f"The server's answer lacks the field {name!r}.")
    value = obj[name]
    # bool is an int subclass; neither should pass for the other.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise errors.ProtocolError(f"The server's field {name!r} has the wrong type.")
    return value


def _optional_time(obj: dict[str, Any], name: str) -> datetime | None:
    value = obj.get(name)
    if value is None:
        return None
    return _time(value, name)


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise errors.ProtocolError(f"The server's field {name!r} has the wrong type.")
    try:
        return parse_time(value)
    except ValueError:
        raise errors.ProtocolError(f"The server's field {name!r} is not a valid time.") from None


def _parse_key(obj: Any) -> ApiKey:
    if not isinstance(obj, dict):
        raise errors.ProtocolError("The server sent a key that is not an object.")
    owner = _field(obj, "ownerType", str)
    agent = obj.get("agentInfo")
    if agent is not None:
        scope = KeyScope.AGENT
        agent_name = _field(agent, "name", str)
    elif owner == OwnerType.USER.value:
        scope, agent_name = KeyScope.PERSONAL, None
    elif owner == OwnerType.TEAM.value:
        scope, agent_name = KeyScope.TEAM, None
    else:
        raise errors.ProtocolError(f"The server sent an unknown key owner ({owner[:40]}).")
    return ApiKey(
        uid=_field(obj, "uid", str),
        name=_field(obj, "name", str),
        key_suffix=_field(obj, "keySuffix", str),
        scope=scope,
        created_at=_time(_field(obj, "createdAt", str), "createdAt"),
        last_used_at=_optional_time(obj, "lastUsedAt"),
        expires_at=_optional_time(obj, "expiresAt"),
        agent_name=agent_name,
    )


def _parse_account(result: dict[str, Any]) -> Account:
    user = _field(result, "user", dict)
    profile = _field(user, "profile", dict)
    owner = result.get("apiKeyOwnerType")
    try:
        owner_type = OwnerType(owner) if owner is not None else None
    except ValueError:
        raise errors.ProtocolError("The server sent an unknown apiKeyOwnerType.") from None
    workspaces = tuple(
        Workspace(
            uid=_field(ws, "uid", str),
            name=_field(ws, "name", str),
            teams=tuple(
                Team(uid=_field(t, "uid", str), name=_field(t, "name", str))
                for t in _field(ws, "teams", list)
            ),
        )
        for ws in _field(user, "workspaces", list)
    )
    display_name = profile.get("displayName")
    email_address = profile.get("email")
    for label, value in (("displayName", display_name), ("email", email_address)):
        if value is not None and not isinstance(value, str):
            raise errors.ProtocolError(f"The server's field {label!r} has the wrong type.")
    principal = result.get("principalType") or "USER"
    return Account(
        uid=_field(profile, "uid", str),
        display_name=display_name,
        email=email_address,
        workspaces=workspaces,
        api_key_owner_type=owner_type,
        principal_type=str(principal),
    )
