"""How OzClient fails: typed errors, retries only where safe, bounded time, no leaked secrets.

Faults come from httpx.MockTransport and from a real misbehaving server on 127.0.0.1
(`fault_server.py`). `sleep` is injected so retries record their delays instead of waiting.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import gzip
import json
import time
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fault_server as fs
from fault_server import GOOD_ANSWERS, FaultServer, user_facing_answer
from oz_tui.core.errors import AuthenticationError, NetworkError, NotFoundError, OzError, PermissionDeniedError, ProtocolError, RateLimitedError, ServerError, UserFacingError
from oz_tui.core.models import Expiration
from oz_tui.api.client import OzClient

API_KEY = "wk-1.5ec2e7c0ffee0123456789abcdef-0a1b"
MOCK_ROOT = "https://oz.example.test"

#: Operation name -> (coroutine factory, may it be retried?)
CALLS: dict[str, tuple[Callable[[OzClient], Awaitable[Any]], bool]] = {
    "ApiKeys": (lambda c: c.list_keys(), True),
    "GenerateApiKey": (lambda c: c.create_key("Laptop", Expiration.DAYS_30), False),
    "ExpireApiKey": (lambda c: c.expire_key("key-personal"), True),
    "GetUser": (lambda c: c.whoami(), True),
}
RETRIED = [op for op, (_, safe) in CALLS.items() if safe]
#: who-am-I sends GetUser and this together; the faults below hit GetUser and leave this one
#: answered well, unless a test aims at it (`faulty=WORKSPACES`).
WORKSPACES = "GetWorkspacesMetadataForUser"


def _spared(faulty: str) -> str:
    """The who-am-I query answered well while the other one meets the fault."""
    return "GetUser" if faulty == WORKSPACES else WORKSPACES


class Sleeps(list[float]):
    """An injected `sleep` that records the delay and returns at once."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response],
    sleeps: Sleeps | None = None,
    *,
    faulty: str = "",
    **options: Any,
) -> OzClient:
    options.setdefault("jitter", lambda: 1.0)
    spared = _spared(faulty)

    def routed(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("op") == spared:
            return httpx.Response(200, json=GOOD_ANSWERS[spared])
        return handler(request)

    return OzClient(
        MOCK_ROOT,
        API_KEY,
        transport=httpx.MockTransport(routed),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **options,
    )


def sparing(action: fs.Action, faulty: str = "") -> fs.Action:
    """`action` for every request but the spared who-am-I query (see `mock_client`)."""
    spared = _spared(faulty)
    return fs.dispatch(lambda request: fs.good() if request.op == spared else action)


def real_client(url: str, sleeps: Sleeps | None = None, **options: Any) -> OzClient:
    options.setdefault("timeout", httpx.Timeout(5.0, connect=2.0))
    options.setdefault("total_timeout", 3.0)
    options.setdefault("jitter", lambda: 1.0)
    return OzClient(url, API_KEY, sleep=sleeps if sleeps is not None else Sleeps(), **options)


@pytest.fixture
async def server() -> AsyncIterator[FaultServer]:
    srv = await FaultServer().start()
    yield srv
    await srv.stop()


def assert_no_secret(error: BaseException) -> None:
    """Neither the error nor anything chained to it quotes the credential."""
    text = "".join(traceback.format_exception(error))
    assert API_KEY not in text
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        assert API_KEY not in str(current) and API_KEY not in repr(current)
        assert all(API_KEY not in str(arg) for arg in current.args)
        current = current.__cause__ or current.__context__
    # Raised `from None` and outside any handler: no httpx exception (holding the request and
    # its Authorization header) hangs off the error.
    assert error.__cause__ is None and error.__context__ is None


# -- every status and answer mapped to its class (MockTransport) --------------------------------


def status(code: int, body: Any = b"", headers: dict[str, str] | None = None) -> Callable[..., httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(code, json=body, headers=headers)
        return httpx.Response(code, content=body, headers=headers)

    return handler


PROBLEM_401 = {"type": "about:blank", "title": "authentication_required", "detail": "The API key has expired."}

STATUS_CASES = [
    (401, PROBLEM_401, AuthenticationError, "The API key has expired."),
    (403, {"title": "not_authorized"}, PermissionDeniedError, "not_authorized"),
    (404, b"Not Found", NotFoundError, "404"),
    (429, b"", RateLimitedError, "429"),
    (500, b"oops", ServerError, "HTTP 500"),
    (502, b"", ServerError, "HTTP 502"),
    (503, b"", ServerError, "HTTP 503"),
    (504, b"", ServerError, "HTTP 504"),
    (400, {"errors": [{"message": "Syntax Error"}]}, ProtocolError, "HTTP 400"),
]


@pytest.mark.parametrize(("code", "body", "kind", "says"), STATUS_CASES, ids=[str(c[0]) for c in STATUS_CASES])
@pytest.mark.parametrize("op", list(CALLS))
async def test_http_status_maps_to_error_class(
    op: str, code: int, body: Any, kind: type[OzError], says: str
) -> None:
    call, _ = CALLS[op]
    async with mock_client(status(code, body)) as client:
        with pytest.raises(kind) as caught:
            await call(client)
    assert says in str(caught.value)
    assert_no_secret(caught.value)
    if kind is ServerError:
        assert caught.value.status_code == code  # type: ignore[attr-defined]
    # Only a create whose request reached a failing server has an unknown outcome.
    assert caught.value.may_have_succeeded is (op == "GenerateApiKey" and code >= 500)


BODY_CASES: list[tuple[str, bytes, type[OzError], str]] = [
    ("not json", b"<html>502 Bad Gateway</html>", ProtocolError, "not JSON"),
    ("empty body", b"", ProtocolError, "not JSON"),
    ("json array", b"[1, 2]", ProtocolError, "not a GraphQL response"),
    ("no data", b'{"extensions": {}}', ProtocolError, "no data"),
    ("null data", b'{"data": null}', ProtocolError, "no data"),
    ("graphql errors", b'{"data": null, "errors": [{"message": "Cannot query field"}]}', ProtocolError, "Cannot query field"),
    ("errors not a list", b'{"errors": 5}', ProtocolError, "malformed errors"),
    ("unauthenticated code", b'{"errors": [{"message": "nope", "extensions": {"code": "UNAUTHENTICATED"}}]}', AuthenticationError, "nope"),
    ("auth message", b'{"errors": [{"message": "User not authenticated"}]}', AuthenticationError, "not authenticated"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, ProtocolError, "not JSON"),
    ("huge number", b'{"data": ' + b"9" * 5000 + b"}", ProtocolError, "not JSON"),
    ("bad utf-8", b'{"data": "\xff\xfe\xfa"}', ProtocolError, "not JSON"),
]


@pytest.mark.parametrize(("label", "body", "kind", "says"), BODY_CASES, ids=[c[0] for c in BODY_CASES])
@pytest.mark.parametrize("op", list(CALLS))
async def test_broken_answer_maps_to_error_class(
    op: str, label: str, body: bytes, kind: type[OzError], says: str
) -> None:
    call, _ = CALLS[op]
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=body)

    async with mock_client(handler) as client:
        with pytest.raises(kind) as caught:
            await call(client)
    assert says in str(caught.value)
    assert len(requests) == 1, "a broken answer is not retried"
    assert_no_secret(caught.value)


def _typed(op: str, result: dict[str, Any]) -> dict[str, Any]:
    root = {"ApiKeys": "apiKeys", "GenerateApiKey": "generateApiKey", "ExpireApiKey": "expireApiKey", "GetUser": "user"}[op]
    return {"data": {root: result}}


@pytest.mark.parametrize("op", list(CALLS))
async def test_unknown_union_member_is_a_protocol_error(op: str) -> None:
    answer = _typed(op, {"__typename": "SomethingNew", "whatever": 1})
    async with mock_client(status(200, answer)) as client:
        with pytest.raises(ProtocolError, match="unknown kind \\(SomethingNew\\)"):
            await CALLS[op][0](client)


@pytest.mark.parametrize("op", list(CALLS))
async def test_user_facing_error_is_shown_as_the_server_wrote_it(op: str) -> None:
    root = next(iter(GOOD_ANSWERS[op]["data"]))
    message = "You have reached the limit of 10 API keys."
    async with mock_client(status(200, user_facing_answer(root, message))) as client:
        with pytest.raises(UserFacingError) as caught:
            await CALLS[op][0](client)
    assert str(caught.value) == message
    assert type(caught.value) is UserFacingError


async def test_auth_related_user_facing_error_is_an_authentication_error() -> None:
    answer = user_facing_answer("apiKeys", "Unauthorized: the API key was revoked")
    async with mock_client(status(200, answer)) as client:
        with pytest.raises(AuthenticationError, match="the API key was revoked"):
            await client.list_keys()


MISSING = object()

MISSING_OR_MISTYPED = [
    ("ApiKeys", ["apiKeys"], MISSING),
    ("ApiKeys", ["apiKeys"], None),
    ("ApiKeys", ["apiKeys"], {"a": 1}),
    ("ApiKeys", ["apiKeys", 0], "a key"),
    ("ApiKeys", ["apiKeys", 0, "uid"], MISSING),
    ("ApiKeys", ["apiKeys", 0, "uid"], None),
    ("ApiKeys", ["apiKeys", 0, "uid"], 17),
    ("ApiKeys", ["apiKeys", 0, "name"], True),
    ("ApiKeys", ["apiKeys", 0, "keySuffix"], ["ab"]),
    ("ApiKeys", ["apiKeys", 0, "ownerType"], "Martian"),
    ("ApiKeys", ["apiKeys", 0, "ownerType"], MISSING),
    ("ApiKeys", ["apiKeys", 0, "createdAt"], MISSING),
    ("ApiKeys", ["apiKeys", 0, "createdAt"], "yesterday"),
    ("ApiKeys", ["apiKeys", 0, "createdAt"], "2026-11-20T08:15:30"),  # no zone
    ("ApiKeys", ["apiKeys", 0, "createdAt"], 1764000000),
    ("ApiKeys", ["apiKeys", 0, "lastUsedAt"], "0001-01-01T00:00:00+01:00"),  # overflows in UTC
    ("ApiKeys", ["apiKeys", 0, "expiresAt"], {"at": "soon"}),
    ("ApiKeys", ["apiKeys", 2, "agentInfo"], "agent"),
    ("ApiKeys", ["apiKeys", 2, "agentInfo", "name"], MISSING),
    ("GenerateApiKey", ["rawApiKey"], MISSING),
    ("GenerateApiKey", ["rawApiKey"], 12345),
    ("GenerateApiKey", ["apiKey"], None),
    ("GenerateApiKey", ["apiKey", "createdAt"], None),
    ("ExpireApiKey", ["success"], MISSING),
    ("ExpireApiKey", ["success"], "true"),
    ("ExpireApiKey", ["success"], 1),
    ("GetUser", ["user"], MISSING),
    ("GetUser", ["user", "profile"], []),
    ("GetUser", ["user", "profile", "uid"], 5),
    ("GetUser", ["user", "profile", "email"], 5),
    (WORKSPACES, ["user", "workspaces"], {}),
    (WORKSPACES, ["user", "workspaces"], MISSING),
    (WORKSPACES, ["user", "workspaces", 0, "teams"], None),
    (WORKSPACES, ["user", "workspaces", 0, "teams", 0, "name"], False),
    ("GetUser", ["apiKeyOwnerType"], "Robot"),
    ("GetUser", ["apiKeyOwnerType"], ["User"]),
    ("GetUser", ["principalType"], {"kind": "USER"}),
]


@pytest.mark.parametrize(("op", "path", "value"), MISSING_OR_MISTYPED)
async def test_missing_or_mistyped_field_is_a_protocol_error(op: str, path: list[Any], value: Any) -> None:
    answer = copy.deepcopy(GOOD_ANSWERS[op])
    target = next(iter(answer["data"].values()))
    for step in path[:-1]:
        target = target[step]
    if value is MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    call = CALLS["GetUser" if op == WORKSPACES else op][0]
    async with mock_client(status(200, answer), faulty=op) as client:
        with pytest.raises(ProtocolError, match="field|key|apiKeyOwnerType|owner"):
            await call(client)


@pytest.mark.parametrize(("op", "path"), [
    ("ApiKeys", ["apiKeys", 0, "lastUsedAt"]),
    ("ApiKeys", ["apiKeys", 0, "expiresAt"]),
    ("ApiKeys", ["apiKeys", 0, "agentInfo"]),
    ("GetUser", ["user", "profile", "email"]),
    ("GetUser", ["user", "profile", "displayName"]),
    ("GetUser", ["apiKeyOwnerType"]),
    ("GetUser", ["principalType"]),  # optional, as Warp's client treats it
])
async def test_optional_fields_may_be_null_or_absent(op: str, path: list[Any]) -> None:
    for how in ("null", "absent"):
        answer = copy.deepcopy(GOOD_ANSWERS[op])
        target = next(iter(answer["data"].values()))
        for step in path[:-1]:
            target = target[step]
        if how == "null":
            target[path[-1]] = None
        else:
            del target[path[-1]]
        async with mock_client(status(200, answer)) as client:
            await CALLS[op][0](client)


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "Could not connect"),
        (httpx.ConnectTimeout("timed out"), "Timed out connecting"),
        (httpx.ReadTimeout("timed out"), "did not answer in time"),
        (httpx.RemoteProtocolError("Server disconnected"), "connection to oz.example.test failed"),
        (httpx.ReadError("reset"), "connection to oz.example.test failed"),
    ],
)
@pytest.mark.parametrize("op", list(CALLS))
async def test_transport_errors_are_network_errors_and_retried_when_safe(
    op: str, exc: Exception, says: str
) -> None:
    call, retried = CALLS[op]
    attempts: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise exc

    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        with pytest.raises(NetworkError) as caught:
            await call(client)
    assert says in str(caught.value)
    assert len(attempts) == (3 if retried else 1)
    assert len(sleeps) == (2 if retried else 0)
    assert_no_secret(caught.value)
    connect_phase = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    if op == "GenerateApiKey":
        assert caught.value.may_have_succeeded is (not connect_phase)
        assert ("No key was created" in str(caught.value)) is connect_phase
        assert ("may have been created" in str(caught.value)) is (not connect_phase)


async def test_undecodable_gzip_body_is_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"definitely not gzip", headers={"Content-Encoding": "gzip"})

    async with mock_client(handler) as client:
        with pytest.raises(ProtocolError, match="could not be decoded"):
            await client.list_keys()


async def test_a_gzip_bomb_is_cut_off_at_the_size_limit() -> None:
    bomb = gzip.compress(b" " * (20 * 1024 * 1024))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    async with mock_client(handler) as client:
        with pytest.raises(ProtocolError, match="larger than 8 MB"):
            await client.list_keys()


class _StallingTransport(httpx.AsyncBaseTransport):
    """Reports progress through the `trace` extension as httpcore does, then stalls."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = request.extensions["trace"]
        for event in self.events:
            await trace(event, {})
        await asyncio.sleep(30)
        raise AssertionError("the total timeout should have fired")


async def test_create_timing_out_before_sending_says_nothing_was_created() -> None:
    transport = _StallingTransport(["connection.connect_tcp.started"])
    async with OzClient(MOCK_ROOT, API_KEY, transport=transport, total_timeout=0.05) as client:
        with pytest.raises(NetworkError) as caught:
            await client.create_key("x", Expiration.DAY_1)
    assert not caught.value.may_have_succeeded
    assert "Timed out connecting" in str(caught.value) and "No key was created" in str(caught.value)


async def test_create_timing_out_after_sending_may_have_succeeded() -> None:
    transport = _StallingTransport(
        ["connection.connect_tcp.started", "connection.connect_tcp.complete", "http11.send_request_headers.started"]
    )
    async with OzClient(MOCK_ROOT, API_KEY, transport=transport, total_timeout=0.05) as client:
        with pytest.raises(NetworkError) as caught:
            await client.create_key("x", Expiration.DAY_1)
    assert caught.value.may_have_succeeded
    assert "may have been created" in str(caught.value)


# -- retries: what, how often, how long (MockTransport) ------------------------------------------


def scripted(*responses: httpx.Response | Exception) -> tuple[Callable[[httpx.Request], httpx.Response], list[str]]:
    """Answers in order (the last repeats); the second value lists the ops asked."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        op = request.url.params["op"]
        item = responses[min(len(seen), len(responses) - 1)]
        seen.append(op)
        if isinstance(item, Exception):
            raise item
        if item.status_code == 200 and not item.content:
            return httpx.Response(200, json=GOOD_ANSWERS[op])
        return item

    return handler, seen


OK = httpx.Response(200)  # stands for the operation's good answer


@pytest.mark.parametrize("code", [429, 502, 503, 504])
@pytest.mark.parametrize("op", RETRIED)
async def test_safe_operations_recover_after_two_retryable_failures(op: str, code: int) -> None:
    handler, seen = scripted(httpx.Response(code), httpx.Response(code), OK)
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        await CALLS[op][0](client)
    assert seen == [op] * 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("op", RETRIED)
async def test_safe_operations_give_up_after_two_retries(op: str) -> None:
    handler, seen = scripted(httpx.Response(503))
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        with pytest.raises(ServerError):
            await CALLS[op][0](client)
    assert seen == [op] * 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
async def test_create_is_never_retried(code: int) -> None:
    handler, seen = scripted(httpx.Response(code), OK)
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        with pytest.raises((ServerError, RateLimitedError)) as caught:
            await client.create_key("Laptop", Expiration.DAYS_90)
    assert seen == ["GenerateApiKey"]
    assert sleeps == []
    if code == 429:
        assert not caught.value.may_have_succeeded  # refused before it was done
    else:
        assert caught.value.may_have_succeeded
        assert "may have been created" in str(caught.value) and "refresh" in str(caught.value)


@pytest.mark.parametrize("code", [400, 401, 403, 404, 500, 501])
@pytest.mark.parametrize("op", RETRIED)
async def test_non_retryable_statuses_are_asked_once(op: str, code: int) -> None:
    handler, seen = scripted(httpx.Response(code), OK)
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        with pytest.raises(OzError):
            await CALLS[op][0](client)
    assert seen == [op]
    assert sleeps == []


async def test_retry_after_is_passed_to_sleep() -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "7"}), OK)
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        await client.list_keys()
    assert sleeps == [7.0]
    assert len(seen) == 2


async def test_retry_after_as_an_http_date() -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    header = email.utils.format_datetime(when, usegmt=True)
    handler, _ = scripted(httpx.Response(503, headers={"Retry-After": header}), OK)
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        await client.whoami()
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 31


@pytest.mark.parametrize("op", RETRIED)
async def test_retry_after_over_a_minute_is_not_waited(op: str) -> None:
    handler, seen = scripted(httpx.Response(429, headers={"Retry-After": "61"}), OK)
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        with pytest.raises(RateLimitedError) as caught:
            await CALLS[op][0](client)
    assert seen == [op]
    assert sleeps == []
    assert caught.value.retry_after == 61.0
    assert "61 s" in str(caught.value)


async def test_rate_limit_without_retry_after_backs_off_and_reports_none() -> None:
    handler, _ = scripted(httpx.Response(429))
    sleeps = Sleeps()
    async with mock_client(handler, sleeps) as client:
        with pytest.raises(RateLimitedError) as caught:
            await client.list_keys()
    assert caught.value.retry_after is None
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(("jitter", "expected"), [(1.0, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]), (0.0, [0.25, 0.5, 1.0, 2.0, 4.0, 4.0])])
async def test_backoff_doubles_from_half_a_second_and_caps_at_eight(jitter: float, expected: list[float]) -> None:
    handler, seen = scripted(httpx.ConnectError("refused"))
    sleeps = Sleeps()
    async with mock_client(handler, sleeps, max_retries=6, jitter=lambda: jitter) as client:
        with pytest.raises(NetworkError):
            await client.list_keys()
    assert sleeps == expected
    assert len(seen) == 7


async def test_backoff_is_jittered() -> None:
    draws = iter([0.1, 0.9, 0.3, 0.7])
    handler, _ = scripted(httpx.ReadTimeout("slow"))
    first, second = Sleeps(), Sleeps()
    async with mock_client(handler, first, jitter=lambda: next(draws)) as client:
        with pytest.raises(NetworkError):
            await client.list_keys()
    async with mock_client(handler, second, jitter=lambda: next(draws)) as client:
        with pytest.raises(NetworkError):
            await client.list_keys()
    assert first == pytest.approx([0.5 * 0.55, 1.0 * 0.95])
    assert second == pytest.approx([0.5 * 0.65, 1.0 * 0.85])
    assert first != second
    assert all(a < b for a, b in (first, second))  # still grows


async def test_default_jitter_varies_the_delay() -> None:
    handler, _ = scripted(httpx.Response(503))
    sleeps = Sleeps()
    for _ in range(5):
        async with OzClient(MOCK_ROOT, API_KEY, transport=httpx.MockTransport(handler), sleep=sleeps) as client:
            with pytest.raises(ServerError):
                await client.list_keys()
    firsts = sleeps[0::2]
    assert all(0.25 <= d <= 0.5 for d in firsts)
    assert len(set(firsts)) > 1


# -- credential hygiene for every error class ---------------------------------------------------


ECHOING_CASES: list[tuple[type[OzError], Callable[[httpx.Request], httpx.Response]]] = [
    (AuthenticationError, status(401, {"detail": f"Key {API_KEY} is revoked"})),
    (PermissionDeniedError, status(403, {"detail": f"{API_KEY} may not"})),
    (NotFoundError, status(404, API_KEY.encode())),
    (RateLimitedError, status(429, API_KEY.encode(), {"Retry-After": "99"})),
    (ServerError, status(500, API_KEY.encode())),
    (ProtocolError, status(200, f"<html>{API_KEY}</html>".encode())),
    (ProtocolError, status(200, {"errors": [{"message": f"bad token {API_KEY}"}]})),
    (AuthenticationError, status(200, {"errors": [{"message": f"unauthenticated {API_KEY}"}]})),
    (UserFacingError, status(200, user_facing_answer("apiKeys", f"Your key {API_KEY} is fine"))),
]


def _raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


for _exc in (httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.LocalProtocolError):
    # httpx exceptions that quote the credential (h11 does quote an illegal header value)
    ECHOING_CASES.append((NetworkError, _raising(_exc(f"Illegal header value b'Bearer {API_KEY}'"))))


@pytest.mark.parametrize(("kind", "handler"), ECHOING_CASES)
async def test_no_error_class_ever_quotes_the_credential(
    kind: type[OzError], handler: Callable[[httpx.Request], httpx.Response], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    async with mock_client(handler) as client:
        with pytest.raises(kind) as caught:
            await client.list_keys()
        assert API_KEY not in repr(client)
    assert_no_secret(caught.value)
    assert API_KEY not in caplog.text


def test_every_error_class_is_covered_by_the_hygiene_test() -> None:
    classes = {k for k, _ in ECHOING_CASES}
    assert classes == {
        AuthenticationError, PermissionDeniedError, NotFoundError, RateLimitedError, ServerError,
        NetworkError, ProtocolError, UserFacingError,
    }


# -- against a real misbehaving server on 127.0.0.1 ----------------------------------------------


REAL_STATUS_CASES = [
    (fs.respond(500, b"boom"), ServerError, False),
    (fs.respond(502), ServerError, True),
    (fs.respond(503), ServerError, True),
    (fs.respond(504), ServerError, True),
    (fs.json_answer(PROBLEM_401, 401, {"Content-Type": "application/problem+json"}), AuthenticationError, False),
    (fs.json_answer({"title": "not_authorized"}, 403), PermissionDeniedError, False),
    (fs.respond(404, b"no"), NotFoundError, False),
    (fs.respond(429, b"", {"Retry-After": "3"}), RateLimitedError, True),
    (fs.respond(200, b"<html>hello</html>", {"Content-Type": "text/html"}), ProtocolError, False),
    (fs.json_answer({"extensions": {}}), ProtocolError, False),
    (fs.json_answer({"data": None, "errors": [{"message": "Internal"}]}), ProtocolError, False),
    (fs.json_answer({"data": {"apiKeys": {"__typename": "Mystery"}, "generateApiKey": {"__typename": "Mystery"}, "expireApiKey": {"__typename": "Mystery"}, "user": {"__typename": "Mystery"}}}), ProtocolError, False),
    (fs.json_answer({"data": {"apiKeys": {"__typename": "APIKeyPropertiesOutput"}, "generateApiKey": {"__typename": "GenerateApiKeyOutput", "rawApiKey": 5}, "expireApiKey": {"__typename": "ExpireApiKeyOutput", "success": "yes"}, "user": {"__typename": "UserOutput", "user": None}}}), ProtocolError, False),
]
REAL_IDS = ["500", "502", "503", "504", "401", "403", "404", "429", "html", "no-data", "errors", "unknown-typename", "mistyped"]


@pytest.mark.parametrize(("action", "kind", "retried"), REAL_STATUS_CASES, ids=REAL_IDS)
@pytest.mark.parametrize("op", list(CALLS))
async def test_real_server_faults_map_and_retry(
    server: FaultServer, op: str, action: fs.Action, kind: type[OzError], retried: bool
) -> None:
    server.answer(sparing(action))
    call, safe = CALLS[op]
    sleeps = Sleeps()
    async with real_client(server.url, sleeps) as client:
        with pytest.raises(kind) as caught:
            await call(client)
    expected = 3 if (retried and safe) else 1
    assert server.count(op) == expected
    assert len(sleeps) == expected - 1
    if kind is RateLimitedError and safe:
        assert sleeps == [3.0, 3.0]
    assert_no_secret(caught.value)


@pytest.mark.parametrize("op", list(CALLS))
async def test_real_server_good_answers_and_the_sent_request(server: FaultServer, op: str) -> None:
    async with real_client(server.url) as client:
        await CALLS[op][0](client)
    (request,) = [r for r in server.requests if r.op != _spared("")]
    assert request.op == op
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["operationName"] == op


async def test_one_connection_is_reused_for_every_call(server: FaultServer) -> None:
    async with real_client(server.url) as client:
        for op in CALLS:
            await CALLS[op][0](client)
        await client.list_keys()
    assert len(server.requests) == 6
    # who-am-I's two queries go out together: the second one needs a second connection.
    assert server.connections == 2


async def test_real_retry_then_success(server: FaultServer) -> None:
    server.answer(fs.respond(503), fs.close_mid_body(), fs.good())
    sleeps = Sleeps()
    async with real_client(server.url, sleeps) as client:
        keys = await client.list_keys()
    assert len(keys) == 3
    assert server.count("ApiKeys") == 3
    assert sleeps == [0.5, 1.0]


async def test_refused_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    url = f"http://127.0.0.1:{fs.closed_port()}"
    for op, (call, safe) in CALLS.items():
        sleeps = Sleeps()
        async with real_client(url, sleeps) as client:
            with pytest.raises(NetworkError) as caught:
                await call(client)
        assert "Could not connect to 127.0.0.1" in str(caught.value)
        if not safe:
            assert sleeps == []
        elif op == "GetUser":  # who-am-I: both its queries are retried until the first gives up
            assert 2 <= len(sleeps) <= 4
        else:
            assert len(sleeps) == 2
        assert not caught.value.may_have_succeeded
        if op == "GenerateApiKey":
            assert "No key was created" in str(caught.value)
        assert_no_secret(caught.value)
    assert API_KEY not in caplog.text


async def test_dns_failure_under_dot_invalid() -> None:
    async with real_client("http://oz-keys-test.invalid", max_retries=0) as client:
        with pytest.raises(NetworkError) as caught:
            await client.whoami()
        with pytest.raises(NetworkError) as created:
            await client.create_key("x", Expiration.DAY_1)
    assert "Could not resolve oz-keys-test.invalid" in str(caught.value)
    assert not created.value.may_have_succeeded and "No key was created" in str(created.value)
    assert_no_secret(caught.value)


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("op", ["ApiKeys", "GenerateApiKey"])
async def test_ten_megabyte_answer_is_refused(server: FaultServer, op: str, declare_length: bool) -> None:
    server.answer(fs.huge_body(10 * 1024 * 1024, declare_length))
    async with real_client(server.url) as client:
        with pytest.raises(ProtocolError, match="larger than 8 MB") as caught:
            await CALLS[op][0](client)
    assert server.count(op) == 1
    assert caught.value.may_have_succeeded is (op == "GenerateApiKey")


@pytest.mark.parametrize("op", ["ApiKeys", "GenerateApiKey"])
async def test_dripping_server_ends_in_network_error_within_the_total_bound(
    server: FaultServer, op: str
) -> None:
    server.answer(fs.drip(interval=0.02))  # ~280 bytes: ~6 s in all, each byte well within read timeout
    total = 0.4
    async with real_client(server.url, total_timeout=total, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(NetworkError, match="did not answer in time") as caught:
            await CALLS[op][0](client)
        elapsed = time.monotonic() - started
    assert total * 0.9 <= elapsed < total + 1.0
    assert caught.value.may_have_succeeded is (op == "GenerateApiKey")
    assert_no_secret(caught.value)


async def test_dripping_server_retries_are_each_bounded(server: FaultServer) -> None:
    server.answer(fs.drip(interval=0.02))
    sleeps = Sleeps()
    async with real_client(server.url, sleeps, total_timeout=0.2) as client:
        started = time.monotonic()
        with pytest.raises(NetworkError):
            await client.list_keys()
        elapsed = time.monotonic() - started
    assert server.count("ApiKeys") == 3
    assert len(sleeps) == 2
    assert elapsed < 3 * 0.2 + 1.0


@pytest.mark.parametrize("op", list(CALLS))
async def test_server_hanging_before_headers(server: FaultServer, op: str) -> None:
    server.answer(fs.hang())
    call, safe = CALLS[op]
    async with real_client(server.url, total_timeout=0.2) as client:
        with pytest.raises(NetworkError, match="did not answer in time") as caught:
            await call(client)
    assert server.count(op) == (3 if safe else 1)
    if op == "GenerateApiKey":
        assert caught.value.may_have_succeeded
        assert "may have been created" in str(caught.value)


async def test_read_timeout_from_httpx_on_a_hanging_server(server: FaultServer) -> None:
    server.answer(fs.hang())
    async with real_client(server.url, timeout=httpx.Timeout(0.2, connect=2.0), total_timeout=5.0) as client:
        with pytest.raises(NetworkError, match="did not answer in time") as caught:
            await client.create_key("x", Expiration.NEVER)
    assert caught.value.may_have_succeeded
    assert server.count("GenerateApiKey") == 1


@pytest.mark.parametrize("action", [fs.close_mid_body(), fs.close_without_answer()], ids=["mid-body", "no-answer"])
@pytest.mark.parametrize("op", list(CALLS))
async def test_connection_dropped(server: FaultServer, op: str, action: fs.Action) -> None:
    server.answer(action)
    call, safe = CALLS[op]
    async with real_client(server.url) as client:
        with pytest.raises(NetworkError, match="connection to 127.0.0.1:\\d+ failed") as caught:
            await call(client)
    assert server.count(op) == (3 if safe else 1)
    assert caught.value.may_have_succeeded is (op == "GenerateApiKey")
    assert_no_secret(caught.value)


async def test_real_exchanges_leave_no_credential_in_debug_logs(
    server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    server.answer(fs.respond(503), fs.good(), fs.good(), fs.good(), fs.good(), fs.close_mid_body(), fs.good())
    async with real_client(server.url) as client:
        for op in CALLS:
            await CALLS[op][0](client)
        await client.list_keys()
    assert any(r.name.startswith("httpcore") for r in caplog.records), "httpcore debug logging was on"
    everything = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert API_KEY not in everything
    assert fs.RAW_KEY not in everything


# -- parsing never crashes with anything but an OzError (hypothesis) ------------------------------

TRICKY_STRINGS = [
    "APIKeyPropertiesOutput", "GenerateApiKeyOutput", "ExpireApiKeyOutput", "UserOutput",
    "UserFacingError", "User", "Team", "USER", "UNAUTHENTICATED", "unauthorized",
    "2026-11-26T12:00:00Z", "2026-11-26T12:00:00", "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00", "", "\x00", "wk-1.abc",
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(TRICKY_STRINGS),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(["data", "errors", "message", "__typename", "extensions", "code"]), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, prefix + (index,))
    return found


def _mutate(data: st.DataObject, value: Any) -> Any:
    value = copy.deepcopy(value)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(_paths(value)), label="path")
        if not path:
            value = data.draw(json_values)
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans(), label="delete"):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values, label="new value")
    return value


ALLOWED = (ProtocolError, UserFacingError, AuthenticationError)
SUCCESS_TYPES = {"ApiKeys": list, "GenerateApiKey": object, "ExpireApiKey": type(None), "GetUser": object}


class _Harness:
    """One loop and one client per operation for all examples: the answer is swapped in."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.body = b""
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=self.body))
        self.client = OzClient(MOCK_ROOT, API_KEY, transport=transport, max_retries=0)

    def run(self, op: str, body: bytes) -> None:
        self.body = body
        try:
            result = self.loop.run_until_complete(CALLS[op][0](self.client))
        except ALLOWED as error:
            assert error.__context__ is None and error.__cause__ is None
            assert API_KEY not in str(error)
            return
        assert isinstance(result, SUCCESS_TYPES[op])

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def harness() -> Any:
    h = _Harness()
    yield h
    h.close()


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("op", list(CALLS))
@FUZZ
@given(value=json_values)
def test_arbitrary_json_never_crashes_the_parser(harness: _Harness, op: str, value: Any) -> None:
    harness.run(op, json.dumps(value).encode())


@pytest.mark.parametrize("op", list(CALLS))
@FUZZ
@given(data=st.data())
def test_mutated_valid_answers_never_crash_the_parser(harness: _Harness, op: str, data: st.DataObject) -> None:
    harness.run(op, json.dumps(_mutate(data, GOOD_ANSWERS[op])).encode())


@pytest.mark.parametrize("op", ["ApiKeys", "GetUser"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_parser(harness: _Harness, op: str, raw: bytes) -> None:
    harness.run(op, raw)


@pytest.mark.parametrize("root", ["", "app.warp.dev", "ftp://127.0.0.1", "http://[::1"])
async def test_a_malformed_server_address_is_a_network_error_without_retries(root: str) -> None:
    sleeps = Sleeps()
    async with OzClient(root, API_KEY, sleep=sleeps) as client:
        assert API_KEY not in repr(client)
        with pytest.raises(NetworkError, match="server address") as caught:
            await client.list_keys()
        with pytest.raises(NetworkError, match="No key was created"):
            await client.create_key("x", Expiration.NEVER)
    assert sleeps == []
    assert_no_secret(caught.value)


# -- on the wire: identity, agents, and an expiry whose answer was lost ---------------------------


async def test_on_the_wire_every_request_identifies_the_client_and_has_no_user_agent(
    server: FaultServer,
) -> None:
    async with real_client(server.url) as client:
        for call, _ in CALLS.values():
            await call(client)
        await client.list_agents()
    assert {r.operation for r in server.requests} == {*CALLS, WORKSPACES, fs.AGENTS_PATH}
    for request in server.requests:
        assert "user-agent" not in request.headers, request.headers
        assert request.headers["x-warp-client-id"] == "warp-cli"
        assert request.headers["x-warp-client-version"].startswith("oz-keys/")
        assert request.headers["x-warp-os-category"] in ("Linux", "macOS", "Windows")
        assert request.headers["x-warp-os-name"]
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
    (agents,) = [r for r in server.requests if r.operation == fs.AGENTS_PATH]
    assert agents.method == "GET" and agents.body is None


async def test_on_the_wire_a_configured_user_agent_is_the_only_one(server: FaultServer) -> None:
    async with real_client(server.url, client_id="oz-keys", user_agent="Warp/1.0") as client:
        await client.list_keys()
        await client.list_agents()
    for request in server.requests:
        assert request.headers["user-agent"] == "Warp/1.0"
        assert request.headers["x-warp-client-id"] == "oz-keys"


@pytest.mark.parametrize(
    ("action", "kind", "attempts"),
    [
        (fs.respond(503), ServerError, 3),
        (fs.hang(), NetworkError, 3),
        (fs.close_without_answer(), NetworkError, 3),
        (fs.json_answer({"error": "no team"}, 403), PermissionDeniedError, 1),
        (fs.respond(200, b"<html>", {"Content-Type": "text/html"}), ProtocolError, 1),
        (fs.huge_body(), ProtocolError, 1),
    ],
    ids=["503", "hang", "dropped", "403", "html", "huge"],
)
async def test_the_agent_list_fails_like_the_graphql_calls(
    server: FaultServer, action: fs.Action, kind: type[OzError], attempts: int
) -> None:
    """Same transport: error classes, the size cap, the total timeout and the retry rules."""
    server.answer(action)
    sleeps = Sleeps()
    async with real_client(server.url, sleeps, total_timeout=0.5) as client:
        with pytest.raises(kind) as caught:
            await client.list_agents()
    assert server.count(fs.AGENTS_PATH) == attempts
    assert len(sleeps) == attempts - 1
    assert_no_secret(caught.value)


async def test_an_expiry_whose_answer_was_lost_is_reported_as_done(clock_service: Any) -> None:
    """The server expires the key, then the connection drops before the answer: the client
    retries, the server says the key is not found, and that is the expiry having succeeded."""
    service = clock_service
    key, _ = service.store.create_key("doomed")
    expiries: list[str] = []

    def drop_first_expiry(request: fs.Request) -> bool:
        if request.op != "ExpireApiKey":
            return False
        expiries.append(request.body["variables"]["keyUid"])
        return len(expiries) == 1

    server = await FaultServer().start()
    server.answer(fs.forward(service.transport(), drop_answer=drop_first_expiry))
    try:
        sleeps = Sleeps()
        async with real_client(server.url, sleeps) as client:
            assert await client.expire_key(key.uid) is None
            assert [k.uid for k in await client.list_keys()] == []
            # A key that never existed is still "not found": nothing was lost that time.
            with pytest.raises(UserFacingError, match="not found"):
                await client.expire_key("no-such-key")
    finally:
        await server.stop()
    assert expiries == [key.uid, key.uid, "no-such-key"]
    assert len(sleeps) == 1
    assert service.store.active_keys() == []


@pytest.fixture
def clock_service() -> Any:
    from oz_tui.local import LocalService

    service = LocalService(in_memory=True)
    yield service
    service.close()
