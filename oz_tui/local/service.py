"""The local key service over HTTP: Warp's path and operations, executed by graphql-core.

`POST /graphql/v2?op=<Name>` runs a GraphQL document against oz-keys' schema (`resolvers`), so a
document that would fail on Warp's server fails here too. GraphQL and SQLite work is synchronous
and runs in a worker thread, off the event loop; only the credential check, one indexed read, runs
in the loop, and only when no thread is using the store (it never waits there). Serving it on a
socket is `serving`'s job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    ExecutionResult,
    GraphQLError,
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

from oz_tui.core.models import Clock, system_clock
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
from oz_tui.local.limits import Limits, QueryLimits, check_limits
from oz_tui.local.resolvers import _Context, executable_schema
from oz_tui.local.store import (
    KeyStore,
    LocalStoreError,
    StoreBusy,
    StoredKey,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["LocalService", "LocalStoreError"]

GRAPHQL_PATH = "/graphql/v2"
AGENTS_PATH = "/api/v1/agent/identities"
#: What a client on the network hears about a store failure; the details, which name local
#: paths, go to the service's own log.
_STORE_UNAVAILABLE = "The local key store cannot be used right now; the service's log says why."
_INTERNAL_ERROR = "internal error in the local key service"

log = logging.getLogger(__name__)


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

