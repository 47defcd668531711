"""The local key service over HTTP: Warp's path and operations, executed by graphql-core.

`POST /graphql/v2?op=<Name>` runs a GraphQL document against `oz_tui/api/schema.graphql`, so a
document that would fail on Warp's server fails here too. GraphQL and SQLite work is synchronous
and runs in a worker thread, off the event loop; only the credential check, one indexed read, runs
in the loop, and only when no thread is using the store (it never waits there).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oz_tui import __version__
from oz_tui.core.errors import OzError
from oz_tui.core.models import Clock, format_time, parse_time, system_clock
from oz_tui.core import authorization as auth
from oz_tui.local import DB_FILENAME, default_data_dir
from oz_tui.local.demo import seed_demo
from oz_tui.local.guard import (
    Guard,
    HostAllowList,
    Unauthorized,
    Unavailable,
    WouldWait,
    principal_of,
    problem_body,
)
from oz_tui.local import permissions
from oz_tui.local.limits import Limits, QueryLimits, ServerLimits, check_limits
from oz_tui.local.store import (
    InvalidRequest,
    KeyStore,
    LocalStoreError,
    NothingWritten,
    StoreBusy,
    StoredKey,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["LocalService", "LocalStoreError", "ServeRefused", "TLSFiles", "serve"]

GRAPHQL_PATH = "/graphql/v2"
AGENTS_PATH = "/api/v1/agent/identities"
_SERVER_VERSION = f"oz-keys-local/{__version__}"
#: What a client on the network hears about a store failure; the details, which name local
#: paths, go to the service's own log.
_STORE_UNAVAILABLE = "The local key store cannot be used right now; the service's log says why."
_INTERNAL_ERROR = "internal error in the local key service"

log = logging.getLogger(__name__)


# -- GraphQL ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    store: KeyStore
    #: The key the request was authenticated with; None for the unauthenticated local owner.
    principal: StoredKey | None
    #: Messages go over the network: no local paths in them.
    public_errors: bool = False


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
    """Turn `InvalidRequest`, and a write that left nothing written, into the `UserFacingError`
    member of the result union: the client can then say for sure that no key was created."""

    @functools.wraps(fn)
    def resolve(_root: object, info: Any, **args: Any) -> dict[str, Any]:
        try:
            return fn(info.context, **args)
        except InvalidRequest as exc:
            return _user_facing(str(exc))
        except NothingWritten as exc:
            return _user_facing(exc.public_message if info.context.public_errors else exc.message)

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


def _asker(ctx: _Context) -> auth.Principal:
    return permissions.acting_as(ctx.principal)


@_resolver
def _api_keys(ctx: _Context, requestContext: dict) -> dict[str, Any]:
    keys = permissions.visible_keys(ctx.store, _asker(ctx))
    return _ok("APIKeyPropertiesOutput", apiKeys=[_key_fields(key) for key in keys])


@_resolver
def _generate_api_key(ctx: _Context, input: dict, requestContext: dict) -> dict[str, Any]:
    permissions.check_create(_asker(ctx), team_uid=input.get("teamId"),
                             agent_uid=input.get("agentUid"))
    key, raw_key = ctx.store.create_key(
        input["name"],
        team_uid=input.get("teamId"),
        agent_uid=input.get("agentUid"),
        expires_at=_parse_expiry(input.get("expiresAt")),
    )
    return _ok("GenerateApiKeyOutput", apiKey=_key_fields(key), rawApiKey=raw_key)


@_resolver
def _expire_api_key(ctx: _Context, input: dict, requestContext: dict) -> dict[str, Any]:
    permissions.check_expire(ctx.store, _asker(ctx), input["keyUID"])
    ctx.store.expire_key(input["keyUID"])
    return _ok("ExpireApiKeyOutput", success=True)


@_resolver
def _user(ctx: _Context, requestContext: dict) -> dict[str, Any]:
    permissions.check_whoami(_asker(ctx))
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
    return _ok(
        "UserOutput",
        user=user,
        apiKeyOwnerType=owner.value if owner else None,
        principalType=permissions.principal_type(_asker(ctx)),
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
    # The SDL is our own file, checked in full by tests/api/test_operations.py (which validates every
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
    return _Answer(status, problem_body(status, title, detail), "application/problem+json",
                   headers or None)


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
    except RecursionError:
        raise _BadRequest("The request body nests too deeply.") from None
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
        raise Unauthorized
    return token


class LocalService:
    """The local key service: a store plus the ASGI app that speaks Warp's key API over it.

    `app` is the in-process app (behind the guard, without a Host check); `serve` puts the same
    routes behind a guard that also checks the Host, with `guarded(hosts)`.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        in_memory: bool = False,
        clock: Clock = system_clock,
        token_factory: Callable[[], str] | None = None,
        require_auth: bool = False,
        introspection: bool = False,
        limits: Limits = Limits(),
        query_limits: QueryLimits = QueryLimits(),
        public_errors: bool = False,
    ) -> None:
        path = None if in_memory else (data_dir or default_data_dir()) / DB_FILENAME
        self._clock = clock
        self.require_auth = require_auth
        self.introspection = introspection
        self.limits = limits
        self.query_limits = query_limits
        #: True when answers go over the network: store failures then say nothing about files.
        self.public_errors = public_errors
        self.store = KeyStore(path, clock=clock, token_factory=token_factory)
        self.location = self.store.location
        self.routes = self._build_app()
        self.app = self.guarded(None)

    @classmethod
    def demo(
        cls, *, clock: Clock = system_clock, token_factory: Callable[[], str] | None = None
    ) -> LocalService:
        service = cls(in_memory=True, clock=clock, token_factory=token_factory)
        service.seed_demo()
        return service

    def seed_demo(self) -> None:
        seed_demo(self.store, self._clock())

    def guarded(self, hosts: HostAllowList | None) -> Guard:
        """Every route behind the HTTP checks (`oz_tui.local.guard`); `hosts` None: any Host."""
        return Guard(
            self.routes,
            authenticate=self._authenticate,
            hosts=hosts,
            limits=self.limits,
            rest_paths=(AGENTS_PATH,),
            log_crashes=self.public_errors,
        )

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

        app = Starlette(
            routes=[
                Route(GRAPHQL_PATH, self._graphql_endpoint, methods=["POST"]),
                Route(AGENTS_PATH, self._agents_endpoint, methods=["GET"]),
                Route("/", _health, methods=["GET"]),
                Route("/health", _health, methods=["GET"]),
            ],
            exception_handlers={404: not_found, 405: not_found},
        )
        # A redirect to the "/"-less path would be built from the client's Host header.
        app.router.redirect_slashes = False
        return app

    async def _graphql_endpoint(self, request: Request) -> Response:
        body = await request.body()  # read by the guard already, within its limits
        # asyncio's own executor, not Starlette's (anyio's) thread pool: the same worker thread,
        # without loading anyio's asyncio back end on the first request (~20 ms at start-up).
        answer = await asyncio.to_thread(self._handle, body, principal_of(request))
        return answer.response()

    def _handle(self, body: bytes, principal: StoredKey | None) -> _Answer:
        """Serve one request synchronously (in a worker thread)."""
        try:
            self._record_use(principal)
            request = _parse_request(body)
            result = self._execute(request, principal)
        except _BadRequest as exc:
            return _problem(400, "invalid_request", str(exc))
        except RecursionError:
            return _problem(400, "invalid_request", "The GraphQL document nests too deeply.")
        except LocalStoreError as exc:
            return self._store_unavailable(exc)
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
                return self._store_unavailable(store_failure)
            payload["errors"] = [
                _public_error(error, log_crash=self.public_errors) for error in result.errors
            ]
        return _Answer(200, payload)

    def _execute(self, request: _GraphQLRequest, principal: StoredKey | None) -> ExecutionResult:
        """graphql_sync's steps, with the work bounded: parse (a token budget), validate
        (introspection refused unless enabled), check the limits, then execute."""
        schema = executable_schema()
        try:
            document = parse(request.query, max_tokens=self.query_limits.max_tokens)
        except GraphQLError as error:
            return ExecutionResult(None, [error])
        rules = specified_rules
        if not self.introspection:
            rules = (*specified_rules, NoSchemaIntrospectionCustomRule)
        errors = validate(schema, document, rules) or check_limits(
            document, request.operation_name, self.query_limits
        )
        if errors:
            return ExecutionResult(None, errors)
        result = execute(
            schema,
            document,
            context_value=_Context(self.store, principal, self.public_errors),
            variable_values=request.variables,
            operation_name=request.operation_name,
        )
        assert isinstance(result, ExecutionResult)  # no async resolvers
        return result

    async def _agents_endpoint(self, request: Request) -> Response:
        # Authenticated by the guard, before this runs.
        answer = await asyncio.to_thread(self._agents, principal_of(request))
        return answer.response()

    def _agents(self, principal: StoredKey | None) -> _Answer:
        """The caller's team agents, as Warp's REST API answers: errors are `{"error": …}`."""
        try:
            self._record_use(principal)
            agents = self.store.agents()
        except LocalStoreError as exc:
            return _Answer(503, {"error": self._store_message(exc)}, headers={"Retry-After": "1"})
        return _Answer(200, {"agents": [agent.to_json() for agent in agents]})

    def _authenticate(self, authorization: str | None, wait: bool = True) -> StoredKey | None:
        """The guard's credential check: a read (the route records the use, in its thread)."""
        if authorization is None:
            if self.require_auth:
                raise Unauthorized
            return None  # in process: the local owner
        try:
            key = self.store.find_key(_bearer_token(authorization), wait=wait)
        except StoreBusy:
            raise WouldWait from None
        except LocalStoreError as exc:
            raise Unavailable(self._store_message(exc)) from None
        if key is None:
            raise Unauthorized
        return key

    def _record_use(self, principal: StoredKey | None) -> None:
        if principal is not None:
            self.store.record_use(principal.uid)

    def _store_message(self, exc: LocalStoreError) -> str:
        if not self.public_errors:
            return exc.message  # in process: the person at this machine, who needs the path
        log.warning("local key service: %s", exc.message)
        return _STORE_UNAVAILABLE

    def _store_unavailable(self, exc: LocalStoreError) -> _Answer:
        return _problem(503, "store_unavailable", self._store_message(exc), **{"Retry-After": "1"})


def _public_error(error: GraphQLError, *, log_crash: bool) -> dict[str, Any]:
    """GraphQL's own errors (validation, variables) as they are; a crash without its details
    (logged by a served service; in process, the caller's one line is all the user sees)."""
    formatted = dict(error.formatted)
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        if log_crash:
            log.warning("local key service resolver failed: %s", type(original).__name__)
        formatted["message"] = _INTERNAL_ERROR
    return formatted


async def _health(_request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "oz-keys local key service"})


# -- serving on a socket ---------------------------------------------------------------------------

#: What `serve` gives Hypercorn (a module attribute, so a test can shorten the deadlines).
SERVER_LIMITS = ServerLimits()


class ServeRefused(OzError):
    """`serve` was asked for something unsafe or impossible: a usage error (exit 2)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class TLSFiles:
    cert: Path
    key: Path


def serve(
    host: str = "127.0.0.1",
    port: int = 8787,
    data_dir: Path | None = None,
    *,
    clock: Clock = system_clock,
    on_ready: Callable[[str], None] | None = None,
    tls: TLSFiles | None = None,
    insecure_remote: bool = False,
    introspection: bool = False,
) -> None:
    """Serve the key API on host:port until SIGINT or SIGTERM; every request needs a key.

    An address reachable from other machines needs `tls` (or `insecure_remote`: keys then cross
    the network readable). `on_ready(url)` is called once the store is open and the socket is
    listening (so connections are queued from then on), just before requests are served; `url`
    is one a client can use, with the real port (which matters for `port=0`). Nothing is called
    when the store cannot be opened, the port is busy or the address is refused: those raise
    `OzError` instead.

    The server is Hypercorn, not uvicorn: uvicorn (0.34-0.54) has no deadline for a request's
    headers, so a client that connects and stalls holds its connection for ever, and its only
    concurrency limit counts connections, so stalled ones make it answer 503 to good clients.
    Hypercorn closes a connection that has not sent its headers within
    `ServerLimits.header_timeout`; the guard bounds bodies, their arrival time, the requests in
    progress and the refusals of requests without a valid key (`oz_tui.local.limits`).
    """
    family, address = _resolve(host, port)
    loopback = _is_loopback_address(address)
    if not loopback and tls is None and not insecure_remote:
        raise ServeRefused(
            f"refusing to serve API keys over plain HTTP on {host}, which other machines can "
            "reach; pass --tls-cert and --tls-key, or --insecure-remote"
        )
    if tls is not None:
        _check_tls(tls)
    service = LocalService(
        data_dir, clock=clock, require_auth=True, introspection=introspection, public_errors=True
    )
    try:
        sock = _listen(family, address, port)
        with sock:
            if not loopback:
                log.warning("serving API keys on %s, reachable beyond this machine%s", host,
                            "" if tls else ", without TLS")
            hosts, url = _addressing(host, sock, https=tls is not None)
            app = service.guarded(hosts)
            _run_hypercorn(app, sock, tls, lambda: on_ready(url) if on_ready else None)
    finally:
        service.close()


def _check_tls(tls: TLSFiles) -> None:
    """Load the certificate and key now, so a bad file is one line before anything listens."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ServeRefused(
            f"cannot use the TLS certificate {tls.cert} with the key {tls.key}: {reason}"
        ) from None


def _run_hypercorn(app: Guard, sock: socket.socket, tls: TLSFiles | None, ready: Callable[[], None]) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    # Hypercorn makes (and closes) its own socket object on a copy of the descriptor; ours is
    # closed by `serve`.
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    limits = SERVER_LIMITS
    config.keep_alive_timeout = limits.header_timeout
    config.ssl_handshake_timeout = limits.header_timeout
    config.read_timeout = limits.read_timeout
    config.h11_max_incomplete_size = limits.max_header_bytes
    config.max_app_queue_size = limits.max_body_messages
    # asyncio listens again on the given socket with this backlog.
    config.backlog = limits.backlog
    config.graceful_timeout = limits.graceful_timeout
    config.include_server_header = False
    config.accesslog = None  # request lines are not needed, and keep nothing sensitive out
    config.errorlog = log
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert), str(tls.key)

    async def main() -> None:
        stop = asyncio.Event()

        async def stopping() -> None:
            await stop.wait()
            app.stop_waiting()  # before Hypercorn's graceful wait for the requests in progress

        with _stop_on_signals(stop):
            ready()
            await hypercorn_serve(app, config, shutdown_trigger=stopping, mode="asgi")

    asyncio.run(main())


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """The family and address `host` names (the first, as a server binds to)."""
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise OzError(f"cannot listen on {host}:{port}: {reason}") from None
    return family, str(sockaddr[0])


def _listen(family: socket.AddressFamily, address: str, port: int) -> socket.socket:
    try:
        return socket.create_server((address, port), family=family)
    except OSError as exc:
        raise OzError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None


def _addressing(host: str, sock: socket.socket, *, https: bool) -> tuple[HostAllowList, str]:
    """The Host headers to answer to, and a URL a client can use, for a bound socket."""
    import ipaddress

    address, port = sock.getsockname()[:2]
    ip = ipaddress.ip_address(address)
    names = {address.lower()}
    wildcard = ip.is_unspecified
    try:
        ipaddress.ip_address(host.strip("[]"))
        given_name = None
    except ValueError:
        given_name = host.lower()  # a name the user chose, like localhost or a LAN name
        names.add(given_name)
    if ip.is_loopback or wildcard:
        names.add("localhost")
    if wildcard:
        names.update({socket.gethostname().lower(), socket.getfqdn().lower()})
        url_host = socket.getfqdn() or socket.gethostname()
    else:
        url_host = given_name or _url_host(address)
    scheme = "https" if https else "http"
    hosts = HostAllowList(names, any_ip=wildcard)
    return hosts, f"{scheme}://{url_host}:{port}"


def _url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _is_loopback_address(address: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(address.split("%")[0]).is_loopback


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Let SIGINT/SIGTERM stop the server and then let `serve` return normally."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    stopped = (signal.SIGINT, signal.SIGTERM)
    for sig in stopped:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in stopped:
            loop.remove_signal_handler(sig)
