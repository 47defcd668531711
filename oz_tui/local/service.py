"""The local key service over HTTP: Warp's path and operations, executed by graphql-core.

`POST /graphql/v2?op=<Name>` runs a GraphQL document against `oz_tui/api/schema.graphql`, so a
document that would fail on Warp's server fails here too. GraphQL and SQLite work is synchronous
and runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oz_tui import __version__
from oz_tui.api.errors import OzError
from oz_tui.api.models import Clock, OwnerType, format_time, parse_time, system_clock
from oz_tui.local import DB_FILENAME, default_data_dir
from oz_tui.local.demo import seed_demo
from oz_tui.local.store import (
    InvalidRequest,
    KeyStore,
    LocalStoreError,
    StoredKey,
)

if TYPE_CHECKING:
    import httpx
    import uvicorn

__all__ = ["LocalService", "LocalStoreError", "serve"]

GRAPHQL_PATH = "/graphql/v2"
AGENTS_PATH = "/api/v1/agent/identities"
MAX_BODY_BYTES = 1 << 20
_SERVER_VERSION = f"oz-keys-local/{__version__}"
_AUTH_DETAIL = "API key missing, revoked, expired or malformed"
_INTERNAL_ERROR = "internal error in the local key service"

log = logging.getLogger(__name__)


# -- GraphQL ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    store: KeyStore
    #: The key the request was authenticated with; None for the unauthenticated local owner.
    principal: StoredKey | None


def _ok(typename: str, **fields: Any) -> dict[str, Any]:
    return {"__typename": typename, "responseContext": {"serverVersion": _SERVER_VERSION}, **fields}


#: The service's own implementation of `UserFacingErrorInterface`. Warp's client schema (and so
#: oz-keys' SDL, a strict subset of it) names no concrete one; a server must have one to execute.
_ERROR_TYPE = "GenericStringObjectUserFacingError"
_SERVER_SDL = f"""
type {_ERROR_TYPE} implements UserFacingErrorInterface {{
  message: String!
}}
"""


def _user_facing(message: str) -> dict[str, Any]:
    error = {"__typename": _ERROR_TYPE, "message": message}
    return _ok("UserFacingError", error=error)


def _resolver(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Turn `InvalidRequest` into the `UserFacingError` member of the result union."""

    @functools.wraps(fn)
    def resolve(_root: object, info: Any, **args: Any) -> dict[str, Any]:
        try:
            return fn(info.context, **args)
        except InvalidRequest as exc:
            return _user_facing(str(exc))

    return resolve


def _key_fields(key: StoredKey) -> dict[str, Any]:
    return {
        "uid": key.uid,
        "name": key.name,
        "keySuffix": key.key_suffix,
        "ownerType": key.owner_type.value,
        "agentInfo": (
            {"uid": key.agent_uid, "name": key.agent_name or ""} if key.agent_uid else None
        ),
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "expiresAt": key.expires_at,
    }


# Resolver arguments carry the schema's names (`input`, `requestContext`).


@_resolver
def _api_keys(ctx: _Context, requestContext: dict) -> dict[str, Any]:
    keys = ctx.store.active_keys()
    return _ok("APIKeyPropertiesOutput", apiKeys=[_key_fields(key) for key in keys])


@_resolver
def _generate_api_key(ctx: _Context, input: dict, requestContext: dict) -> dict[str, Any]:
    key, raw_key = ctx.store.create_key(
        input["name"],
        team_uid=input.get("teamId"),
        agent_uid=input.get("agentUid"),
        expires_at=_parse_expiry(input.get("expiresAt")),
    )
    return _ok("GenerateApiKeyOutput", apiKey=_key_fields(key), rawApiKey=raw_key)


@_resolver
def _expire_api_key(ctx: _Context, input: dict, requestContext: dict) -> dict[str, Any]:
    ctx.store.expire_key(input["keyUID"])
    return _ok("ExpireApiKeyOutput", success=True)


@_resolver
def _user(ctx: _Context, requestContext: dict) -> dict[str, Any]:
    me = ctx.store.identity
    user = {
        "profile": {
            "uid": me.user_uid,
            "displayName": me.display_name,
            "email": me.email,
            "photoUrl": None,
            "needsSsoLink": False,
        },
        "workspaces": [
            {
                "uid": me.workspace_uid,
                "name": me.workspace_name,
                "teams": [{"uid": team.uid, "name": team.name} for team in me.teams],
            }
        ],
    }
    owner = ctx.principal.owner_type if ctx.principal else None
    # A team's (or agent's) key acts as a service account, not as a person.
    principal = "SERVICE_ACCOUNT" if owner is OwnerType.TEAM else "USER"
    return _ok(
        "UserOutput",
        user=user,
        apiKeyOwnerType=owner.value if owner else None,
        principalType=principal,
    )


def _parse_expiry(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_time(value)
    except ValueError:
        raise InvalidRequest(
            "expiresAt is not a valid RFC 3339 time with a zone, like 2030-01-31T12:00:00Z."
        ) from None


def _serialize_time(value: object) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, str):
        return value
    raise GraphQLError(f"Time cannot represent {type(value).__name__}")


@functools.cache
def executable_schema() -> GraphQLSchema:
    """oz-keys' schema with this service's resolvers; built once per process."""
    sdl = resources.files("oz_tui.api").joinpath("schema.graphql").read_text(encoding="utf-8")
    # The SDL is our own file, checked in full by tests/test_operations.py (which validates every
    # document against it); not checking it again here saves a few ms on the first request.
    schema = build_schema(sdl + _SERVER_SDL, assume_valid=True, assume_valid_sdl=True)
    assert schema.query_type and schema.mutation_type
    schema.query_type.fields["apiKeys"].resolve = _api_keys
    schema.query_type.fields["user"].resolve = _user
    schema.mutation_type.fields["generateApiKey"].resolve = _generate_api_key
    schema.mutation_type.fields["expireApiKey"].resolve = _expire_api_key
    # Inputs stay as sent (resolvers check them and answer with a UserFacingError); outputs
    # are datetimes turned into RFC 3339.
    time = schema.type_map["Time"]
    time.serialize = _serialize_time  # type: ignore[union-attr]  # graphql-core 3.2
    if hasattr(time, "coerce_output_value"):
        time.coerce_output_value = _serialize_time  # type: ignore[union-attr]  # 3.3
    return schema


# -- HTTP ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: dict[str, Any]
    media_type: str = "application/json"
    headers: dict[str, str] | None = None

    def response(self) -> Response:
        return JSONResponse(
            self.body, self.status, headers=self.headers, media_type=self.media_type
        )


def _problem(status: int, title: str, detail: str, **headers: str) -> _Answer:
    """An RFC 7807 answer, shaped like Warp's REST errors."""
    body = {
        "type": f"urn:oz-keys:problem:{title}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return _Answer(status, body, "application/problem+json", headers or None)


class _Unauthorized(Exception):
    pass


class _BadRequest(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def _parse_request(body: bytes) -> _GraphQLRequest:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest("The request body is not JSON.") from None
    if not isinstance(payload, dict):
        raise _BadRequest("The request body must be a JSON object.")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str):
        raise _BadRequest('"query" must be a string holding a GraphQL document.')
    if variables is not None and not isinstance(variables, dict):
        raise _BadRequest('"variables" must be an object or null.')
    if operation_name is not None and not isinstance(operation_name, str):
        raise _BadRequest('"operationName" must be a string or null.')
    return _GraphQLRequest(query, variables, operation_name)


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _Unauthorized
    return token


class LocalService:
    """The local key service: a store plus the ASGI app that speaks Warp's key API over it."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        in_memory: bool = False,
        clock: Clock = system_clock,
        token_factory: Callable[[], str] | None = None,
        require_auth: bool = False,
    ) -> None:
        path = None if in_memory else (data_dir or default_data_dir()) / DB_FILENAME
        self._clock = clock
        self.require_auth = require_auth
        self.store = KeyStore(path, clock=clock, token_factory=token_factory)
        self.location = self.store.location
        self.app = self._build_app()

    @classmethod
    def demo(
        cls, *, clock: Clock = system_clock, token_factory: Callable[[], str] | None = None
    ) -> LocalService:
        service = cls(in_memory=True, clock=clock, token_factory=token_factory)
        service.seed_demo()
        return service

    def seed_demo(self) -> None:
        seed_demo(self.store, self._clock())

    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that calls the app in process, without a socket."""
        import httpx

        return httpx.ASGITransport(app=self.app)

    def close(self) -> None:
        self.store.close()

    # -- the app -------------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        async def not_found(request: Request, exc: Exception) -> Response:
            if isinstance(exc, HTTPException) and exc.status_code == 405:
                path = request.url.path
                method = "GET" if path == AGENTS_PATH else "POST"
                answer = _problem(405, "method_not_allowed", f"Use {method} for {path}.")
            else:
                answer = _problem(404, "not_found", f"No such endpoint; use POST {GRAPHQL_PATH}.")
            return answer.response()

        return Starlette(
            routes=[
                Route(GRAPHQL_PATH, self._graphql_endpoint, methods=["POST"]),
                Route(AGENTS_PATH, self._agents_endpoint, methods=["GET"]),
                Route("/", _health, methods=["GET"]),
                Route("/health", _health, methods=["GET"]),
            ],
            exception_handlers={404: not_found, 405: not_found},
        )

    async def _graphql_endpoint(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _problem(413, "payload_too_large", "The request body is too large.").response()
        # asyncio's own executor, not Starlette's (anyio's) thread pool: the same worker thread,
        # without loading anyio's asyncio back end on the first request (~20 ms at start-up).
        answer = await asyncio.to_thread(self._handle, body, request.headers.get("authorization"))
        return answer.response()

    def _handle(self, body: bytes, authorization: str | None) -> _Answer:
        """Serve one request synchronously (in a worker thread)."""
        try:
            principal = self._authenticate(authorization)
            request = _parse_request(body)
            result = graphql_sync(
                executable_schema(),
                request.query,
                context_value=_Context(self.store, principal),
                variable_values=request.variables,
                operation_name=request.operation_name,
            )
        except _Unauthorized:
            return _problem(
                401, "authentication_required", _AUTH_DETAIL, **{"WWW-Authenticate": "Bearer"}
            )
        except _BadRequest as exc:
            return _problem(400, "invalid_request", str(exc))
        except LocalStoreError as exc:
            return _store_unavailable(exc)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            store_failure = next(
                (
                    e.original_error
                    for e in result.errors
                    if isinstance(e.original_error, LocalStoreError)
                ),
                None,
            )
            if store_failure is not None:
                return _store_unavailable(store_failure)
            payload["errors"] = [_public_error(error) for error in result.errors]
        return _Answer(200, payload)

    async def _agents_endpoint(self, request: Request) -> Response:
        answer = await asyncio.to_thread(self._agents, request.headers.get("authorization"))
        return answer.response()

    def _agents(self, authorization: str | None) -> _Answer:
        """The caller's team agents, as Warp's REST API answers: errors are `{"error": …}`."""
        try:
            self._authenticate(authorization)
            agents = self.store.agents()
        except _Unauthorized:
            return _Answer(
                401, {"error": _AUTH_DETAIL}, headers={"WWW-Authenticate": "Bearer"}
            )
        except LocalStoreError as exc:
            return _Answer(503, {"error": exc.message}, headers={"Retry-After": "1"})
        return _Answer(200, {"agents": [agent.to_json() for agent in agents]})

    def _authenticate(self, authorization: str | None) -> StoredKey | None:
        if authorization is None:
            if self.require_auth:
                raise _Unauthorized
            return None  # in process: the local owner
        key = self.store.authenticate(_bearer_token(authorization))
        if key is None:
            raise _Unauthorized
        return key


def _public_error(error: GraphQLError) -> dict[str, Any]:
    """GraphQL's own errors (validation, variables) as they are; a crash without its details."""
    formatted = dict(error.formatted)
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        log.warning("local key service resolver failed: %s", type(original).__name__)
        formatted["message"] = _INTERNAL_ERROR
    return formatted


def _store_unavailable(exc: LocalStoreError) -> _Answer:
    return _problem(503, "store_unavailable", exc.message, **{"Retry-After": "1"})


async def _health(_request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "oz-keys local key service"})


# -- serving on a socket ---------------------------------------------------------------------------


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    data_dir: Path | None = None,
    *,
    clock: Clock = system_clock,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the key API on host:port until SIGINT or SIGTERM; every request needs a key.

    `on_ready(url)` is called once the store is open and the socket is listening (so connections
    are queued from then on), just before requests are served; `url` has the real port, which
    matters for `port=0`. Nothing is called when the store cannot be opened or the port is busy:
    those raise `OzError` instead.
    """
    import uvicorn

    service = LocalService(data_dir, clock=clock, require_auth=True)
    try:
        sock = _listen(host, port)
        if not _is_loopback(sock):
            log.warning("serving API keys without TLS on %s, reachable beyond this machine", host)
        config = uvicorn.Config(
            service.app,
            log_level="warning",
            access_log=False,  # request lines are not needed, and keep nothing sensitive out
            lifespan="off",
            server_header=False,
        )
        server = uvicorn.Server(config)
        # The stop handlers go in first: a Ctrl-C right after the "ready" banner is a clean stop.
        with sock, _stop_on_signals(server):
            if on_ready is not None:
                on_ready(_url_of(sock))
            server.run(sockets=[sock])
    finally:
        service.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise OzError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _url_of(sock: socket.socket) -> str:
    address, port = sock.getsockname()[:2]
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def _is_loopback(sock: socket.socket) -> bool:
    import ipaddress

    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


@contextlib.contextmanager
def _stop_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """Let SIGINT/SIGTERM stop the server and then let `serve` return normally.

    uvicorn handles both while it runs, then replays them so their default action happens; the
    handlers installed here are the ones that replay reaches, and they only ask for a stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        server.should_exit = True

    stopped = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, stop) for sig in stopped}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
